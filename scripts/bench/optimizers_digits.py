"""Benchmark: the TFA optimizers against Adam on the digits MLP (64-100-10).

Each optimizer trains the same MLP from the same initial weights (one per
seed) on scikit-learn's digits (75/25 stratified split, standardized), batch
32, for `--epochs` epochs; we report test accuracy per seed, the mean, the
difference to Adam in accuracy points, and the wall time per optimizer
(optimizers interleaved within each seed, so machine drift hits all alike).
Criterion: every optimizer within 1 accuracy point of Adam (mean over seeds).

Run: .venv/bin/python scripts/bench/optimizers_digits.py [--epochs 60] [--seeds 3]  (about 2.5 CPU-minutes)
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def optimizers():
    import keras

    from tfx_ext.optimizers import SWA, Lookahead, RectifiedAdam, Yogi

    return {
        "Adam": lambda: keras.optimizers.Adam(1e-3),
        "RectifiedAdam": lambda: RectifiedAdam(1e-3),
        "Yogi": lambda: Yogi(1e-2),
        "Lookahead(Adam)": lambda: Lookahead(keras.optimizers.Adam(1e-3)),
        "Ranger": lambda: Lookahead(RectifiedAdam(1e-3), sync_period=6, slow_step_size=0.5),
        "SWA(Adam)": lambda: SWA(
            keras.optimizers.Adam(1e-3), start_averaging=200, average_period=10
        ),
        "Adam+Triangular2CLR": lambda: keras.optimizers.Adam(_clr()),
    }


def _clr():
    from tfx_ext.schedules import Triangular2CyclicalLearningRate

    return Triangular2CyclicalLearningRate(1e-4, 3e-3, step_size=86)


def digits():
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data.astype("float32"),
        data.target.astype("int32"),
        test_size=0.25,
        random_state=42,
        stratify=data.target,
    )
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test, np


def train(make_optimizer, seed, epochs, data):
    import keras

    x_train, y_train, x_test, y_test, np = data
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    optimizer = make_optimizer()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0, shuffle=True)
    if hasattr(optimizer, "assign_average_vars"):
        optimizer.assign_average_vars(model.trainable_variables)
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    return 100.0 * accuracy, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    data = digits()
    makers = optimizers()
    results = {name: [] for name in makers}
    times = {name: [] for name in makers}
    for seed in range(args.seeds):
        for name, make in makers.items():
            accuracy, seconds = train(make, seed, args.epochs, data)
            results[name].append(accuracy)
            times[name].append(seconds)
    print(
        f"digits MLP 64-100-10, batch 32, {args.epochs} epochs, seeds 0..{args.seeds - 1}, "
        f"TF {tf.__version__}, Keras {keras.__version__}"
    )
    adam = statistics.mean(results["Adam"])
    adam_time = statistics.median(times["Adam"])
    print(
        f"{'optimizer':<22}{'test accuracy % per seed':<28}{'mean':>7}{'vs Adam':>9}"
        f"{'fit s':>8}{'time ratio':>12}"
    )
    worst = 0.0
    for name in makers:
        mean = statistics.mean(results[name])
        seconds = statistics.median(times[name])
        per_seed = " ".join(f"{a:5.1f}" for a in results[name])
        print(
            f"{name:<22}{per_seed:<28}{mean:7.2f}{mean - adam:+9.2f}{seconds:8.2f}"
            f"{seconds / adam_time:11.2f}x"
        )
        worst = min(worst, mean - adam)
    print(f"largest shortfall against Adam: {-worst:.2f} points (criterion <= 1.00)")


if __name__ == "__main__":
    main()
