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
# MaxUnpooling2DV2 takes its output size, batch included: the model runs on batches of ROWS.
ROWS = 16


def build_model(seed=0):
    """Every tfx_ext layer (not SampledSoftmaxLoss: TensorFlow only) in one functional model."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(INPUT_SHAPE)
    mask = keras.Input(batch_shape=(ROWS, 4, 4, 1), dtype="int32", name="mask")
    bags = keras.Input((3,), dtype="int32", name="bags")
    side = _tfa_branch(inputs, mask, bags)
    x = layers.WeightNormalization(keras.layers.Conv2D(4, 3, padding="same", activation="relu"))(
        inputs
    )
    x = layers.SqueezeExcitation(ratio=2)(x)
    x = layers.MCSpatialDropout2D(0.0)(x)
    branch = keras.layers.Conv2D(4, 1, activation="relu")(x)
    x = layers.StochasticDepth(survival_probability=0.8)([x, branch])
    x = keras.layers.Reshape((16, 4))(keras.layers.MaxPooling2D()(x))
    x = layers.MCSpatialDropout1D(0.0)(x)
    x = layers.ESN(4, connectivity=0.5, return_sequences=True)(x)
    # A CRF over the sequence: its potentials (float) join the path; the decoded tags are ints.
    _, potentials, _, _ = layers.CRF(3)(x)
    x = keras.layers.Concatenate()([keras.layers.Flatten()(x), keras.layers.Flatten()(potentials)])
    x = layers.WeightNormalization(keras.layers.Dense(16, activation="selu"), data_init=True)(x)
    x = layers.Maxout(8)(x)
    x = layers.MinibatchStandardDeviation()(x)
    # A VAE's codings; Sampling returns the mean at inference, so outputs compare across backends.
    mean, log_var = layers.LatentKLDivergence(0.1)(
        [keras.layers.Dense(8)(x), keras.layers.Dense(8)(x)]
    )
    x = layers.Sampling(sample_at_inference=False)([mean, log_var])
    x = layers.MCDropout(0.0)(x)
    encoder = keras.layers.Dense(4, activation="selu", name="encoder")
    codings = layers.MCAlphaDropout(0.0)(encoder(x))
    x = layers.DenseTranspose(encoder, activation="selu", name="decoder")(codings)
    x = keras.layers.Concatenate()([x, side])
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model([inputs, mask, bags], outputs)


def _tfa_branch(inputs, mask, bags):
    """The layers ported from TFA's last batch, on the same image plus argmax and bag inputs."""
    h = layers.FilterResponseNormalization(learned_epsilon=True)(inputs)
    h = layers.TLU(affine=True, tau_initializer="random_normal")(h)
    h = layers.InstanceNormalization()(h)
    flow = keras.layers.Flatten()(
        layers.CorrelationCost(3, 2, 2, 1, 2, "channels_last")([inputs, h])
    )
    pooled = keras.layers.MaxPooling2D()(h)
    h = layers.MaxUnpooling2D()(pooled, mask)
    h = keras.layers.Add()([h, layers.MaxUnpooling2DV2((ROWS,) + INPUT_SHAPE)(pooled, mask)])
    h = keras.layers.Flatten()(layers.SpatialPyramidPooling2D([1, 2])(h))
    h = keras.layers.Concatenate()([h, flow, layers.EmbeddingBag(10, 3)(bags)])
    h = layers.Snake()(layers.NoisyDense(6)(h))
    h = layers.PoincareNormalize(axis=1)(h)
    h = layers.PolynomialCrossing(projection_dim=2)([h, h])
    return layers.Sparsemax()(h)


def sample_inputs(rows=ROWS, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((rows,) + INPUT_SHAPE).astype("float32")
    # Argmax indices into each 8x8x1 map (one per 2x2 window, as max pooling gives).
    windows = np.arange(4)[:, None] * 16 + np.arange(4)[None, :] * 2
    mask = (windows + rng.integers(0, 2, (rows, 4, 4)) * 8 + rng.integers(0, 2, (rows, 4, 4)))[
        ..., None
    ]
    return [images, mask.astype("int32"), rng.integers(0, 10, (rows, 3)).astype("int32")]


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
