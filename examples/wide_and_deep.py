"""Wide & Deep with one optimizer per part ("Hands-On ML" ch. 10 and 12).

The wide part (a linear model over the raw features) learns with plain SGD, the deep
part (an MLP) with Nadam: the book's motivating case for a custom training loop. With
`tfx_ext.training.Trainer` the loop is one call, and it checkpoints every 20 steps, so
running the script again after an interruption resumes where it stopped.

Data: scikit-learn's diabetes regression set (shipped with the package, no download).

Run: .venv/bin/python examples/wide_and_deep.py [--epochs 60] [--checkpoint-dir DIR]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfx_ext.training import Trainer  # noqa: E402


def load_data(seed=42):
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed)
    mean, std = x_train.mean(0), x_train.std(0)
    y_mean, y_std = y_train.mean(), y_train.std()
    prepare = lambda a: ((a - mean) / std).astype("float32")  # noqa: E731
    scale = lambda a: ((a - y_mean) / y_std).astype("float32")[:, None]  # noqa: E731
    return prepare(x_train), scale(y_train), prepare(x_test), scale(y_test)


def wide_and_deep(features, seed=0):
    """Wide: Dense(1) on the inputs. Deep: two hidden layers. Output: their sum."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((features,), name="features")
    wide = keras.layers.Dense(1, name="wide")(x)
    h = keras.layers.Dense(32, activation="relu", name="deep_1")(x)
    h = keras.layers.Dense(32, activation="relu", name="deep_2")(h)
    deep = keras.layers.Dense(1, name="deep_out")(h)
    return keras.Model(x, keras.layers.Add(name="prediction")([wide, deep]), name="wide_and_deep")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument(
        "--checkpoint-dir", default=None, help="resume from / write checkpoints here"
    )
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_data()
    model = wide_and_deep(x_train.shape[1])
    trainer = Trainer(
        model,
        loss="mse",
        optimizer={
            "wide/.*": keras.optimizers.SGD(learning_rate=0.01),
            "deep_.*/.*": keras.optimizers.Nadam(learning_rate=1e-3),
        },
        metrics=["mae"],
        clip_global_norm=5.0,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=20,
    )
    history = trainer.fit(
        (x_train, y_train),
        epochs=args.epochs,
        validation_data=(x_test, y_test),
        batch_size=32,
        verbose=args.verbose,
        callbacks=[
            keras.callbacks.EarlyStopping("val_loss", patience=10, restore_best_weights=True)
        ],
    )
    results = trainer.evaluate((x_test, y_test))
    baseline = float(np.mean((y_test - y_train.mean()) ** 2))
    print(
        f"epochs run: {len(history.epoch)}; test MSE {results['loss']:.3f} "
        f"(predicting the mean: {baseline:.3f}), test MAE {results['mae']:.3f}"
    )
    for optimizer in trainer.optimizer.optimizers:
        print(f"  {optimizer.__class__.__name__:<6} {int(optimizer.iterations)} updates")
    # The test metrics, and how many epochs this run trained (fewer after a resume).
    return {**results, "epochs_run": len(history.epoch)}


if __name__ == "__main__":
    main()
