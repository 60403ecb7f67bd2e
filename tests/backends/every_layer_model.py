"""A small model using every tfx_ext layer, and the other-backend half of the cross-backend test.

Run as a script (`python -m tests.backends.every_layer_model ...`) under the backend the
test process is not using: it loads the test's `.keras` file and writes that model's
outputs, and saves a model of its own with its outputs, for the test to load.

The MC dropout layers have rate 0 (and `Sampling` decodes the mean at inference): they stay in the model (class, config and
serialization are exercised) while the outputs stay comparable across backends,
whose random streams differ.
"""

import argparse
import os

import keras
import numpy as np

import tfx_ext  # noqa: F401  (registers the components: load_model needs no custom_objects)
from tfx_ext import layers

INPUT_SHAPE = (8, 8, 1)


def build_model(seed=0):
    """Every tfx_ext layer (not SampledSoftmaxLoss: TensorFlow only) in one functional model."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(INPUT_SHAPE)
    x = layers.WeightNormalization(keras.layers.Conv2D(4, 3, padding="same", activation="relu"))(inputs)
    x = layers.SqueezeExcitation(ratio=2)(x)
    x = layers.MCSpatialDropout2D(0.0)(x)
    branch = keras.layers.Conv2D(4, 1, activation="relu")(x)
    x = layers.StochasticDepth(survival_probability=0.8)([x, branch])
    x = keras.layers.Reshape((16, 4))(keras.layers.MaxPooling2D()(x))
    x = layers.MCSpatialDropout1D(0.0)(x)
    x = layers.ESN(4, connectivity=0.5, return_sequences=True)(x)
    x = keras.layers.Flatten()(x)
    x = layers.WeightNormalization(keras.layers.Dense(16, activation="selu"), data_init=True)(x)
    x = layers.Maxout(8)(x)
    x = layers.MinibatchStandardDeviation()(x)
    # A VAE's codings; Sampling returns the mean at inference, so outputs compare across backends.
    mean, log_var = layers.LatentKLDivergence(0.1)([keras.layers.Dense(8)(x), keras.layers.Dense(8)(x)])
    x = layers.Sampling(sample_at_inference=False)([mean, log_var])
    x = layers.MCDropout(0.0)(x)
    encoder = keras.layers.Dense(4, activation="selu", name="encoder")
    codings = layers.MCAlphaDropout(0.0)(encoder(x))
    x = layers.DenseTranspose(encoder, activation="selu", name="decoder")(codings)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def sample_inputs(rows=16, seed=0):
    return np.random.default_rng(seed).standard_normal((rows,) + INPUT_SHAPE).astype("float32")


def outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", required=True, help=".keras file written by the other backend")
    parser.add_argument("--save", required=True, help=".keras file to write for the other backend")
    parser.add_argument("--outputs", required=True, help=".npz file: outputs of both models")
    args = parser.parse_args()
    x = sample_inputs()
    loaded = keras.models.load_model(args.load)
    model = build_model(seed=1)
    model.save(args.save)
    np.savez(
        args.outputs + ".tmp.npz",
        backend=keras.backend.backend(),
        loaded=outputs(loaded, x),
        saved=outputs(model, x),
        classes=np.array([type(layer).__name__ for layer in loaded.layers]),
    )
    os.replace(args.outputs + ".tmp.npz", args.outputs)


if __name__ == "__main__":
    main()
