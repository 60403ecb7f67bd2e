"""The demo's Markdown report and summary table, written from the stages' results."""


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def search_section(stage, trials):
    return [
        "## 1. Hyperparameter search (keras-tuner, random)",
        "",
        f"{len(stage.result.table)} trials, validation accuracy, best first:",
        "",
        "```",
        stage.result.format_table(limit=trials),
        "```",
    ]


def train_section(stage, epochs):
    stds = stage.activation_stds
    return [
        "",
        "## 2. Self-normalizing MLP, LR finder and 1cycle",
        "",
        f"Best SELU trial: hidden layers {stage.units}, dropout {stage.config.get('dropout')}. "
        f"Condition check: {'passed' if stage.check.ok else stage.check}. Activation std across "
        f"hidden layers at initialization: {min(stds):.2f}–{max(stds):.2f}.",
        f"LR finder: lowest smoothed loss at {10 * stage.max_rate:.3g}; 1cycle peak {stage.max_rate:.3g} "
        f"over {stage.steps} steps ({epochs} epochs). Test accuracy {stage.accuracy:.4f}.",
    ]


def uncertainty_section(stage):
    lines = ["", "## 3. MC Dropout uncertainty", ""]
    lines += table(
        ["", "accuracy", "ECE (10 bins)"],
        [
            ["one pass", f"{stage.one_pass_accuracy:.4f}", f"{stage.one_pass_ece:.4f}"],
            [
                f"MC Dropout, {stage.samples} samples",
                f"{stage.mc_accuracy:.4f}",
                f"{stage.mc_ece:.4f}",
            ],
        ],
    )
    lines += ["", "Least sure test digits (mutual information: the model's own uncertainty):", ""]
    rows = [
        [index, true, predicted, f"{confidence:.3f}", f"{information:.3f}"]
        for index, true, predicted, confidence, information in stage.least_sure
    ]
    return lines + table(
        ["test index", "true", "predicted", "mean confidence", "mutual information"], rows
    )


def prune_section(stage, dense_accuracy):
    return [
        "",
        f"## 4. Pruning to {stage.target:.0%} (Keras 3, native)",
        "",
        "```",
        str(stage.report),
        "```",
        f"Test accuracy {stage.accuracy:.4f} (dense {dense_accuracy:.4f}).",
    ]


def tflite_section(stage):
    reports = stage.reports
    names = [name for name, _ in reports["dense float32"].rows()]
    lines = ["", "## 5. TFLite (LiteRT interpreter)", ""]
    lines += table(
        [""] + list(reports),
        [[n] + [r.rows()[i][1] for r in reports.values()] for i, n in enumerate(names)],
    )
    if stage.notes:
        lines += [
            "",
            "How the integer conversions were made (the parity rows above check each one):",
            "",
        ]
        lines += [f"- {note}" for note in stage.notes]
    return lines


def serve_section(stage):
    lines = [
        "",
        "## 6. TF Serving",
        "",
        f"Versions 1 (dense, stable) and 2 (pruned, canary) exported to `{stage.base}/digits/` "
        "(atomic renames, warmup requests replayed, an `mc_uncertainty` signature), "
        "served by the local protocol server — a test double for the `tensorflow/serving` "
        "image that `serving/` runs.",
        "",
    ]
    rows = [
        [label, protocol, version, f"{accuracy:.4f}", f"{gap:.2g}"]
        for label, protocol, version, accuracy, gap in stage.rows
    ]
    return lines + table(
        ["label", "protocol", "version", "test accuracy", "max diff vs Keras"], rows
    )


def components_section(stage):
    lines = [
        "",
        "## 7. tfx_ext layers and metrics (CNN)",
        "",
        "WeightNormalization, SqueezeExcitation, StochasticDepth and Maxout; "
        f"`{stage.path}` reloads with no custom_objects (max output difference {stage.gap:.2g}).",
        "",
    ]
    return lines + table(["metric", "value"], [[k, f"{v:.4f}"] for k, v in stage.results.items()])


def custom_loop_section(stage):
    return [
        "",
        "## 8. Custom training loop: Wide & Deep, two optimizers, stop and resume",
        "",
        f"`tfx_ext.training.Trainer`, {stage.epochs} epochs: wide part SGD(momentum 0.9), deep part "
        f"Nadam, global-norm clipping 5, checkpoints every 25 steps. A callback stops the first run at step "
        f"{stage.stop_at_step}; a new Trainer resumes from `{stage.resumed_from}` and finishes "
        f"(updates: {stage.updates}). Test accuracy {stage.accuracy:.4f}; max weight difference against an "
        f"uninterrupted run {stage.gap:.2g}.",
    ]


def translation_section(stage):
    lines = ["", "## 9. Encoder–decoder with attention and beam search (dates)", ""]
    if stage.example is None:
        return lines + [
            "`examples/date_translation.py` is not next to this installation of tfx_ext (it ships "
            "with the repository), so this stage did not run."
        ]
    r = stage.results
    lines += [
        f'`examples/date_translation.py` (HOML ch. 16): "April 22, 2019" → "2019-04-22", '
        f"{stage.n_train} generated training dates, {stage.epochs} epochs of teacher forcing "
        f"({r['train_seconds']:.0f} s), Luong attention, `tfx_ext.seq2seq`. Exact match on held-out dates: "
        f"greedy {r['greedy_accuracy']:.4f}, beam search {r['beam_accuracy']:.4f}. Exported with "
        f"`export_for_serving` as strings in, strings out; over REST the local server answers "
        f"{'the same strings as' if r.get('served_equals_keras') else 'DIFFERENTLY from'} the Keras model.",
        "",
    ]
    return lines + table(["input", "beam search answer"], [[repr(a), b] for a, b in r["examples"]])


def summary(results):
    """The summary rows: model name -> {column: value}."""
    _, trained, uncertainty, pruned, tflite, _, _, custom_loop, translation = results
    rows = {
        "dense SELU MLP": {
            "accuracy": trained.accuracy,
            "ECE": uncertainty.one_pass_ece,
            "sparsity": pruned.dense_report.sparsity,
            "weights gzip": pruned.dense_report.gzip_bytes,
        },
        f"MC Dropout x{uncertainty.samples}": {
            "accuracy": uncertainty.mc_accuracy,
            "ECE": uncertainty.mc_ece,
        },
        "pruned 80%": {
            "accuracy": pruned.accuracy,
            "sparsity": pruned.report.sparsity,
            "weights gzip": pruned.report.gzip_bytes,
        },
    }
    for name, report in tflite.reports.items():
        rows[f"TFLite {name}"] = {
            "accuracy": report.tflite_accuracy,
            "file raw": report.raw_bytes,
            "file gzip": report.gzip_bytes,
            "latency ms": report.latency_mean_ms,
        }
    rows["wide & deep (Trainer)"] = {"accuracy": custom_loop.accuracy}
    if translation.results:
        rows["date translation (beam)"] = {"accuracy": translation.results["beam_accuracy"]}
    return rows


def write(context, results, plots, seconds):
    """Writes `report.md` into the output directory; returns (text, summary)."""
    import keras

    import tfx_ext

    search, trained, uncertainty, pruned, tflite, served, components, custom_loop, translation = (
        results
    )
    rows = summary(results)
    columns = ["accuracy", "ECE", "sparsity", "weights gzip", "file raw", "file gzip", "latency ms"]

    def cell(value):
        if value is None:
            return ""
        return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"

    head = [
        "# tfx_ext demo report",
        "",
        f"tfx_ext {tfx_ext.__version__}, Keras {keras.__version__}, backend {keras.backend.backend()}. "
        f"Data: scikit-learn digits, {len(context.x_train)} training and {len(context.x_test)} test images (8x8).",
        "",
        "## Summary",
        "",
    ] + table(
        ["model"] + columns,
        [[name] + [cell(values.get(c)) for c in columns] for name, values in rows.items()],
    )
    head += ["", "Plots: " + ", ".join(f"`{p}`" for p in plots) + ".", ""]
    lines = (
        search_section(search, context.trials)
        + train_section(trained, context.epochs)
        + uncertainty_section(uncertainty)
        + prune_section(pruned, trained.accuracy)
        + tflite_section(tflite)
        + serve_section(served)
        + components_section(components)
        + custom_loop_section(custom_loop)
        + translation_section(translation)
    )
    text = "\n".join(head + lines + ["", f"Total time {seconds:.0f} s.", ""])
    with open(context.path("report.md"), "w") as f:
        f.write(text)
    return text, rows
