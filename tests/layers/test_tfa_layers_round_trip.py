"""The layers ported from TFA's last batch, saved and reloaded together.

One model per input kind keeps this to two `.keras` files and two SavedModel
exports: every layer's config, registered name and weights come back, and
the SavedModel serves what the model computes. (Checkpoint restore of each
layer into a fresh twin is in tests/test_checkpoint_coverage.py.)
"""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.roundtrip import assert_model_round_trip
from tfx_ext import layers

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)

ROWS = 2


def image_model():
    inputs = keras.Input((6, 6, 2))
    h = layers.FilterResponseNormalization(learned_epsilon=True)(inputs)
    h = layers.TLU(affine=True, tau_initializer="random_normal")(h)
    h = layers.InstanceNormalization()(h)
    h = keras.layers.Flatten()(layers.SpatialPyramidPooling2D([1, 2])(h))
    h = layers.Snake()(layers.NoisyDense(6)(h))
    h = layers.PoincareNormalize(axis=1)(h)
    h = layers.PolynomialCrossing(projection_dim=2)([h, keras.layers.Dense(6)(h)])
    return keras.Model(inputs, layers.Sparsemax()(h))


def indexed_model():
    updates = keras.Input(batch_shape=(ROWS, 2, 2, 3), name="updates")
    mask = keras.Input(batch_shape=(ROWS, 2, 2, 3), dtype="int32", name="mask")
    indices = keras.Input(batch_shape=(ROWS, 4), dtype="int32", name="indices")
    first = keras.layers.Flatten()(layers.MaxUnpooling2D()(updates, mask))
    second = keras.layers.Flatten()(layers.MaxUnpooling2DV2((ROWS, 4, 4, 3))(updates, mask))
    bags = layers.EmbeddingBag(10, 5, combiner="mean")(indices)
    return keras.Model([updates, mask, indices], keras.layers.Concatenate()([first, second, bags]))


class TFALayersRoundTripTest(tf.test.TestCase):
    def test_image_layers_survive_keras_file_and_saved_model(self):
        keras.utils.set_random_seed(0)
        x = np.random.default_rng(0).standard_normal((ROWS, 6, 6, 2)).astype("float32")
        model = image_model()
        loaded = assert_model_round_trip(self, model, x, atol=1e-5)
        self.assertEqual(
            [type(layer).__name__ for layer in loaded.layers],
            [type(layer).__name__ for layer in model.layers],
        )

    def test_indexed_layers_survive_keras_file_and_saved_model(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        mask = (
            (np.arange(4).reshape(1, 2, 2, 1) * 2 * 3 + np.arange(3))
            .repeat(ROWS, 0)
            .astype("int32")
        )
        x = [
            rng.standard_normal((ROWS, 2, 2, 3)).astype("float32"),
            mask,
            rng.integers(0, 10, (ROWS, 4)).astype("int32"),
        ]
        model = indexed_model()
        expected = np.asarray(model(x))
        if keras.backend.backend() == "tensorflow":
            # The kit's SavedModel leg feeds one tensor; this model takes three.
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "saved_model")
                model.export(path, format="tf_saved_model", verbose=False)
                reloaded = tf.saved_model.load(path)  # kept: its variables must outlive the call
                served = reloaded.serve([tf.constant(a) for a in x])
                self.assertAllClose(served, expected)
        assert_model_round_trip(self, model, x, saved_model=False)
