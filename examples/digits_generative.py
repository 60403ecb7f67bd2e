"""A VAE and a small DCGAN on scikit-learn's 8x8 digits ("Hands-On ML" ch. 17).

- `tfx_ext.generative.VariationalAutoencoder` (the book's dense VAE, scaled to
  8x8): reconstructions of test digits and new samples, saved as one image
  grid (`vae_grid.png`: first row test digits, second their reconstructions,
  third samples decoded from N(0, I)).
- `tfx_ext.generative.GAN` with `dcgan_generator` / `dcgan_discriminator`
  trained by `fit`; a digits classifier trained here on the real digits
  labels the generated ones: its mean confidence (top probability) and the
  class histogram of the samples are the results (a histogram concentrated on
  few classes is mode collapse). The generated digits are saved as
  `dcgan_grid.png`.

Run: .venv/bin/python examples/digits_generative.py [--vae-epochs 30] [--gan-epochs 100] [--output-dir DIR]

`run(output_dir, ...)` returns a dict of results for the demo.
"""

import argparse
import io
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfx_ext._core.files import write_atomically  # noqa: E402
from tfx_ext.generative import GAN, VariationalAutoencoder, dcgan_discriminator, dcgan_generator  # noqa: E402

CODINGS = 4
LATENT = 16


def digits():
    """Images in [0, 1] of shape (8, 8, 1) and labels, split 75/25 (stratified)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = (data.images / 16.0).astype("float32")[..., None]
    return train_test_split(
        images, data.target, test_size=0.25, random_state=42, stratify=data.target
    )


def vae_parts():
    """The book's variational encoder/decoder, scaled to 8x8 (32/16 units, 4 codings)."""
    inputs = keras.Input((8, 8, 1))
    z = keras.layers.Flatten()(inputs)
    z = keras.layers.Dense(32, activation="selu")(z)
    z = keras.layers.Dense(16, activation="selu")(z)
    encoder = keras.Model(
        inputs, [keras.layers.Dense(CODINGS)(z), keras.layers.Dense(CODINGS)(z)], name="encoder"
    )
    decoder = keras.Sequential(
        [
            keras.Input((CODINGS,)),
            keras.layers.Dense(16, activation="selu"),
            keras.layers.Dense(32, activation="selu"),
            keras.layers.Dense(64, activation="sigmoid"),
            keras.layers.Reshape((8, 8, 1)),
        ],
        name="decoder",
    )
    return encoder, decoder


def classifier(x_train, y_train, epochs):
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.Adam(0.01),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    return model


def save_grid(path, rows, titles):
    """Saves rows of 8x8 images (values in [0, 1]) as one PNG, written atomically."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(len(rows[0]) * 0.6, len(rows) * 0.75))
    for r, (row, title) in enumerate(zip(rows, titles)):
        for c, image in enumerate(row):
            ax = figure.add_subplot(len(rows), len(row), r * len(row) + c + 1)
            ax.imshow(np.clip(image.reshape(8, 8), 0, 1), cmap="binary", vmin=0, vmax=1)
            ax.axis("off")
            if c == 0:
                ax.set_title(title, fontsize=7, loc="left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return write_atomically(path, buffer.getvalue())


def class_histogram(probabilities):
    """Counts of the predicted classes (0-9) and the normalized entropy of that histogram (1 = uniform)."""
    counts = np.bincount(np.argmax(probabilities, axis=1), minlength=10)
    shares = counts[counts > 0] / counts.sum()
    return counts, float(-(shares * np.log(shares)).sum() / np.log(10))


def run(output_dir, vae_epochs=30, gan_epochs=100, classifier_epochs=30, samples=500, seed=42):
    """Trains the VAE, the classifier and the DCGAN; writes the two grids; returns the numbers."""
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    x_train, x_test, y_train, y_test = digits()
    started = time.perf_counter()

    vae = VariationalAutoencoder(*vae_parts(), kl_weight=1 / 64, seed=seed)
    vae.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(0.01))
    vae.fit(x_train, x_train, epochs=vae_epochs, batch_size=64, verbose=0)
    mean, _ = vae.encode(x_test)
    reconstructions = np.asarray(vae.decode(mean))
    vae_mse = float(np.mean(np.square(reconstructions - x_test)))
    mean_image_mse = float(np.mean(np.square(x_train.mean(axis=0) - x_test)))
    vae_samples = np.asarray(vae.generate(10, seed=seed))
    vae_grid = save_grid(
        os.path.join(output_dir, "vae_grid.png"),
        [x_test[:10], reconstructions[:10], vae_samples],
        ["test digits", "VAE reconstructions", "VAE samples"],
    )
    vae_seconds = time.perf_counter() - started

    judge = classifier(x_train, y_train, classifier_epochs)
    judge_accuracy = float(judge.evaluate(x_test, y_test, verbose=0)[1])

    started = time.perf_counter()
    gan = GAN(
        dcgan_generator(LATENT, (8, 8, 1), filters=(64, 32), kernel_size=3),
        dcgan_discriminator(
            (8, 8, 1), filters=(32, 64), kernel_size=3, batch_norm=False, dropout=0.3
        ),
        label_smoothing=0.1,
        seed=seed,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    # The generator ends in tanh: real images scaled to [-1, 1].
    real = (
        tf.data.Dataset.from_tensor_slices(x_train * 2 - 1)
        .shuffle(2000, seed=seed)
        .batch(64, drop_remainder=True)
    )
    history = gan.fit(real, epochs=gan_epochs, verbose=0)
    generated = (np.asarray(gan.generate(samples, seed=seed)) + 1) / 2
    gan_seconds = time.perf_counter() - started
    probabilities = np.asarray(judge.predict(generated, verbose=0))
    counts, entropy = class_histogram(probabilities)
    order = np.argsort(-probabilities.max(axis=1))
    dcgan_grid = save_grid(
        os.path.join(output_dir, "dcgan_grid.png"),
        [generated[order[:10]], generated[:10]],
        ["DCGAN, most confident", "DCGAN, first samples"],
    )
    return {
        "vae_grid": vae_grid,
        "dcgan_grid": dcgan_grid,
        "vae_reconstruction_mse": vae_mse,
        "mean_image_mse": mean_image_mse,
        "vae_seconds": vae_seconds,
        "classifier_accuracy": judge_accuracy,
        "generated_confidence": float(probabilities.max(axis=1).mean()),
        "real_confidence": float(np.asarray(judge.predict(x_test, verbose=0)).max(axis=1).mean()),
        "generated_class_counts": counts.tolist(),
        "class_histogram_entropy": entropy,
        "gan_seconds": gan_seconds,
        "final_d_loss": float(history.history["d_loss"][-1]),
        "final_g_loss": float(history.history["g_loss"][-1]),
        "generated": generated,
        "probabilities": probabilities,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vae-epochs", type=int, default=30)
    parser.add_argument("--gan-epochs", type=int, default=100)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()
    output_dir = args.output_dir or tempfile.mkdtemp(prefix="digits_generative_")
    r = run(output_dir, vae_epochs=args.vae_epochs, gan_epochs=args.gan_epochs)
    print(
        f"VAE reconstruction MSE {r['vae_reconstruction_mse']:.4f} (mean image {r['mean_image_mse']:.4f}), "
        f"{r['vae_seconds']:.0f} s; grid: {r['vae_grid']}"
    )
    print(
        f"classifier test accuracy {r['classifier_accuracy']:.3f}; confidence on test digits {r['real_confidence']:.3f}"
    )
    print(
        f"DCGAN ({r['gan_seconds']:.0f} s): classifier confidence on generated digits {r['generated_confidence']:.3f}"
    )
    print(
        f"generated class histogram {r['generated_class_counts']} (normalized entropy {r['class_histogram_entropy']:.3f}); "
        f"grid: {r['dcgan_grid']}"
    )


if __name__ == "__main__":
    main()
