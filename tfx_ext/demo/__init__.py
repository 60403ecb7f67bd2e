"""The main job, end to end, on the digits data that scikit-learn ships.

Run it with `scripts/demo` (or `tfx-ext demo`). In order:

1. a quick keras-tuner random search over MLPs (SELU/LeCun vs ReLU/He vs leaky ReLU),
2. the best SELU configuration as a self-normalizing MLP (conditions checked), its
   learning rate found with `LearningRateFinder`, trained with AlphaDropout and 1cycle,
3. MC Dropout: accuracy and ECE of one pass against 100 MC samples, the least sure digits,
4. pruning to 80% sparsity (native Keras 3 pruning), sparsity report,
5. TFLite of the dense and pruned models (float32, dynamic range, full int8 with and
   without Normalization folding), each with its parity report,
6. TF Serving: the dense model as version 1 (stable), the pruned one as 2 (canary), served
   by the local protocol server and queried over REST and gRPC,
7. the tfx_ext layers and metrics in a small CNN (WeightNormalization, SqueezeExcitation,
   StochasticDepth, Maxout; kappa, MCC, Hamming loss), saved and reloaded,
8. a Wide & Deep model trained by `tfx_ext.training.Trainer` with two optimizers,
   stopped and resumed from its checkpoint,
9. an encoder-decoder with attention (`tfx_ext.seq2seq`) translating dates, decoded greedily
   and with beam search, exported and queried over REST (`examples/date_translation.py`),

then a summary table. Writes `demo_output/report.md` and PNG plots (LR finder curve,
reliability diagram, sparsity per layer, size bars) and prints the report.

The package keeps three concerns apart: `stages` computes each stage's small result,
`report` turns results into Markdown, `plots` draws them (through `tfx_ext._core.plotting`).
"""

import argparse
import os
import time

STAGES = 9


def run(
    output_dir="demo_output",
    epochs=12,
    trials=6,
    seed=0,
    translation_dates=None,
    translation_epochs=None,
    quick=False,
):
    """Runs every stage; returns (report text, summary dict).

    `quick=True` runs every stage, each smaller (a smoke run of the whole path; the
    numbers are not the full run's): tuning 1 epoch per trial, 20 MC samples,
    pruning 2 epochs, 4 of the 6 TFLite conversions (each mode, folded and not,
    dense and pruned, once), CNN 1 epoch, Wide & Deep 2 epochs stopped at step 50,
    translation 512 dates, 1 epoch, 32 units, beam width 2 (unless given).
    """
    from tfx_ext.demo import plots, report, stages

    started = time.monotonic()
    translation_dates = translation_dates or (512 if quick else 10000)
    translation_epochs = translation_epochs or (1 if quick else 3)
    context = stages.DemoContext.create(output_dir, epochs, trials, seed, quick)
    search = stages.tune(context)
    trained = stages.train(context, search.selu_config)
    uncertainty = stages.uncertainty(context, trained.model)
    pruned = stages.prune(context, trained.model)
    tflite = stages.tflite(context, trained.model, pruned.model)
    served = stages.serve(context, trained.model, pruned.model)
    components = stages.components(context)
    custom_loop = stages.custom_loop(context)
    translation = stages.date_translation(context, translation_dates, translation_epochs)
    results = [
        search,
        trained,
        uncertainty,
        pruned,
        tflite,
        served,
        components,
        custom_loop,
        translation,
    ]
    drawn = plots.draw_all(context.path, trained, uncertainty, pruned, tflite)
    text, summary = report.write(context, results, drawn, time.monotonic() - started)
    return text, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="demo_output")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="every stage with fewer epochs and samples: a smoke run of the whole path",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    text, _ = run(
        output_dir=args.output_dir, epochs=args.epochs, trials=args.trials, quick=args.quick
    )
    print(text)
