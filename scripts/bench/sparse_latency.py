"""Benchmark: LiteRT latency of a MobileNet-style CNN pruned to 80% vs its dense float32 model.

The model has the shape XNNPACK's sparse inference accepts end to end (ZeroPadding +
3x3/2 stem, depthwise 3x3 + pointwise 1x1 blocks, GlobalAveragePooling2D(keepdims)).
Its 1x1 convolutions are pruned to 80% with `PruneForLatencyOnXNNPack` (weights set
by one mask update from random initial weights: latency does not depend on what was
learned). Three float32 .tflite files, timed interleaved round by round, one thread,
with the interpreter's default delegates (XNNPACK):

- dense: the unpruned model;
- pruned, dense storage: the pruned model converted as usual (zeros stored as zeros);
- pruned, sparse storage: `tfx_ext.lite.convert(..., sparsity=True)`.

Target (issue 14): pruned >= 1.3x faster than dense. XNNPACK's delegate hints sparse
inference by itself when weights are stored sparse (DENSIFY ops), and XNNPACK switches
the subgraph to its sparse NCHW kernels when its build and the CPU support them; the
speedup column shows whether that happened.

Run: .venv/bin/python scripts/bench/sparse_latency.py [--size 128] [--rounds 15]
"""

import argparse
import os
import time


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=128, help="input height and width")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    parser.add_argument("--invokes", type=int, default=20, help="invocations per round and model")
    return parser.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()  # --help exits here, before TensorFlow is imported

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfx_ext.lite import convert  # noqa: E402
from tfx_ext.lite.interpreter import make_interpreter  # noqa: E402
from tfx_ext.sparsity import (  # noqa: E402
    ConstantSparsity,
    PruneForLatencyOnXNNPack,
    prune_low_magnitude,
    pruning_wrappers,
    sparsity_report,
    strip_pruning,
)

layers = keras.layers
WIDTHS = (64, 128, 128, 256, 256, 512)


def mobilenet_like(size):
    inputs = keras.Input((size, size, 3))
    x = layers.ZeroPadding2D(((1, 1), (1, 1)))(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="valid")(x)
    x = layers.ReLU(6.0)(x)
    for width in WIDTHS:
        x = layers.DepthwiseConv2D(3, padding="same")(x)
        x = layers.ReLU(6.0)(x)
        x = layers.Conv2D(width, 1)(x)
        x = layers.ReLU(6.0)(x)
    x = layers.GlobalAveragePooling2D(keepdims=True)(x)
    return keras.Model(inputs, layers.Conv2D(10, 1)(x))


def timed(interpreter, x, invokes):
    (detail,) = interpreter.get_input_details()
    interpreter.set_tensor(detail["index"], x)
    start = time.perf_counter()
    for _ in range(invokes):
        interpreter.invoke()
    return (time.perf_counter() - start) / invokes


def main(args):
    keras.utils.set_random_seed(0)
    dense = mobilenet_like(args.size)
    pruned = prune_low_magnitude(
        dense, ConstantSparsity(0.8, 0), pruning_policy=PruneForLatencyOnXNNPack()
    )
    for wrapper in pruning_wrappers(pruned):
        wrapper.update_masks(0.8)
    stripped = strip_pruning(pruned)
    report = sparsity_report(stripped)
    variants = {
        "dense float32": convert(dense),
        "pruned 80%, dense storage": convert(stripped),
        "pruned 80%, sparse storage": convert(stripped, sparsity=True),
    }
    x = np.random.default_rng(0).standard_normal((1, args.size, args.size, 3)).astype("float32")
    interpreters = {
        name: make_interpreter(result.content, num_threads=1) for name, result in variants.items()
    }
    for interpreter in interpreters.values():
        timed(interpreter, x, 3)  # warm-up
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, interpreter in interpreters.items():
            times[name].append(timed(interpreter, x, args.invokes))
    base = np.median(times["dense float32"])
    print(
        f"MobileNet-style CNN, input {args.size}x{args.size}x3, 1x1 convs {WIDTHS}; "
        f"pruned weights: {report.sparsity:.1%} of the prunable ones; one thread, default delegates (XNNPACK)"
    )
    print(
        f"{'variant':<28} {'tflite bytes':>12} {'sparse tensors':>15} {'median ms':>10} {'speedup':>8}"
    )
    for name, result in variants.items():
        median = np.median(times[name])
        print(
            f"{name:<28} {result.size:>12,} {len(result.sparse_tensors):>15} {1e3 * median:>10.2f} "
            f"{base / median:>7.2f}x"
        )


if __name__ == "__main__":
    main(ARGS)
