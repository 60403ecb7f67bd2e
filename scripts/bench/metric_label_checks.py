"""Benchmark: the cost of the in-graph class-id range check of CohenKappa and MCC.

`CohenKappa` and `MatthewsCorrelationCoefficient` refuse class ids outside
`[0, num_classes)` with a `tf.debugging.Assert` inside the compiled step.
This measures, in the same run and interleaved, the same metric traced with
and without that check:

- update:   `update_state` alone in a `tf.function`, batches of 32, 256, 4096
            (10 classes, probability rows for y_pred, class ids for y_true);
- evaluate: `model.evaluate` of a digits MLP (64-64-10) with both metrics.

The baseline is traced with the check replaced by the identity.

Run: .venv/bin/python scripts/bench/metric_label_checks.py [--repeats 15]
"""

import argparse
import contextlib
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def checks_disabled():
    from tfx_ext.metrics import confusion_matrix

    original = confusion_matrix.check_class_ids
    confusion_matrix.check_class_ids = lambda ids, *args: ids
    try:
        yield
    finally:
        confusion_matrix.check_class_ids = original


def median_times(ways, repeats):
    """Median seconds per way, measured round-robin (alternating the order) so drift hits all alike."""
    times = {name: [] for name in ways}
    names = list(ways)
    for round_ in range(repeats):
        for name in names if round_ % 2 else reversed(names):
            start = time.perf_counter()
            ways[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200, help="update_state calls per timing")
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_digits

    from tfx_ext.metrics import CohenKappa, MatthewsCorrelationCoefficient

    rng = np.random.default_rng(0)
    print(
        f"TF {tf.__version__}, Keras {keras.__version__}; median of {args.repeats} interleaved repeats"
    )
    print(f"{'case':<28}{'unchecked ms':>14}{'checked ms':>12}{'ratio':>8}")
    worst = 0.0
    for metric_cls in (CohenKappa, MatthewsCorrelationCoefficient):
        for batch in (32, 256, 4096):
            y_true = tf.constant(rng.integers(0, 10, batch), tf.int32)
            y_pred = tf.constant(rng.random((batch, 10)), tf.float32)
            ways = {}
            for checked in (False, True):
                metric = metric_cls(10)
                update = tf.function(metric.update_state)
                if checked:
                    update(y_true, y_pred)
                else:
                    with checks_disabled():
                        update(y_true, y_pred)  # traced here, without the check

                def run(update=update):
                    for _ in range(args.calls):
                        update(y_true, y_pred)

                ways[checked] = run
            t = median_times(ways, args.repeats)
            ratio = t[True] / t[False]
            worst = max(worst, ratio)
            per_call = {k: 1e3 * v / args.calls for k, v in t.items()}
            short = "MCC" if metric_cls is MatthewsCorrelationCoefficient else "CohenKappa"
            print(
                f"{short + ' update b=' + str(batch):<28}{per_call[False]:>14.4f}"
                f"{per_call[True]:>12.4f}{ratio:>7.2f}x"
            )

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    ways = {}
    for checked in (False, True):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            loss="sparse_categorical_crossentropy",
            metrics=[CohenKappa(10, sparse_labels=True), MatthewsCorrelationCoefficient(10)],
        )
        if checked:
            model.evaluate(x, y, batch_size=64, verbose=0)
        else:
            with checks_disabled():
                model.evaluate(x, y, batch_size=64, verbose=0)  # traced here, without the check
        ways[checked] = lambda model=model: model.evaluate(x, y, batch_size=64, verbose=0)
    t = median_times(ways, args.repeats)
    ratio = t[True] / t[False]
    print(
        f"{'digits evaluate (1797, b=64)':<28}{1e3 * t[False]:>14.2f}{1e3 * t[True]:>12.2f}{ratio:>7.2f}x"
    )
    print(f"worst update ratio {worst:.2f}x; evaluate ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
