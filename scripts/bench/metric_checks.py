"""Benchmark: the cost of the in-graph data checks of the calibration metrics.

`ExpectedCalibrationError` and `BrierScore` check, inside the compiled step,
that predictions are probabilities and labels are class ids in range
(`tfx_ext/metrics/input_checks.py`). This measures the CPU time of
`update_state` under `tf.function` with the checks (ours) and with them
switched off (baseline), interleaved in the same run, for 10 and 1000 classes
at batch 32 and 256. CPU time (all threads), fastest repeat: wall time on a
shared machine swings by 2x between repeats.

Run: .venv/bin/python scripts/bench/metric_checks.py [--repeats 7] [--steps 300]
"""

import argparse
import os
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per case (median)")
    parser.add_argument("--steps", type=int, default=300, help="update_state calls per repeat")
    return parser.parse_args()


def main():
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import contextlib
    from unittest import mock

    import numpy as np
    import tensorflow as tf

    from tfx_ext.metrics import BrierScore, ExpectedCalibrationError, input_checks

    @contextlib.contextmanager
    def _patched():
        """The baseline: every check passes without building a single op."""
        with (
            mock.patch.object(input_checks, "check_batch", lambda *a: []),
            mock.patch.object(input_checks, "check_probabilities", lambda *a: []),
            mock.patch.object(input_checks, "check_class_ids", lambda *a: []),
            mock.patch.object(input_checks, "check_one_hot", lambda *a: []),
        ):
            yield

    rng = np.random.default_rng(0)
    print(
        f"TF {tf.__version__}; fastest of {args.repeats} repeats of {args.steps} update_state calls"
    )
    print(
        f"{'metric':26} {'classes':>7} {'batch':>5} {'unchecked CPU us':>16} {'checked CPU us':>14} {'ratio':>6}"
    )
    for cls in (ExpectedCalibrationError, BrierScore):
        for classes in (10, 1000):
            for batch in (32, 256):
                logits = rng.standard_normal((batch, classes)).astype("float32")
                p = tf.constant(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
                y = tf.constant(rng.integers(0, classes, batch))

                def compiled(check):
                    metric = cls()
                    if check:
                        fn = tf.function(metric.update_state)
                        fn(y, p)
                    else:
                        with _patched():
                            fn = tf.function(metric.update_state)
                            fn(y, p)  # traced without the checks
                    return fn

                fns = {True: compiled(True), False: compiled(False)}
                times = {True: [], False: []}
                for r in range(args.repeats):
                    order = (True, False) if r % 2 else (False, True)
                    for check in order:
                        start = time.process_time()
                        for _ in range(args.steps):
                            fns[check](y, p)
                        times[check].append((time.process_time() - start) / args.steps * 1e6)
                # The fastest repeat: the least disturbed by other work on a shared machine.
                base, ours = min(times[False]), min(times[True])
                print(
                    f"{cls.__name__:26} {classes:7d} {batch:5d} {base:16.1f} {ours:14.1f} {ours / base:5.2f}x"
                )


if __name__ == "__main__":
    main()
