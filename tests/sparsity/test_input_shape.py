"""`prune_low_magnitude(Dense(..., input_shape=...))` as a Sequential's first layer (tfmot's guides)."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.sparsity.models import expected_zeros
from tfx_ext.sparsity import (
    ConstantSparsity,
    PrunableLayer,
    PruneLowMagnitude,
    prune_low_magnitude,
    strip_pruning,
)

pytestmark = pytest.mark.backend_neutral


class MyDenseLayer(keras.layers.Dense, PrunableLayer):
    """The comprehensive guide's custom layer: prunes its bias too."""

    def get_prunable_weights(self):
        return [self.kernel, self.bias]


def first_layer_model(layer, schedule=None):
    return keras.Sequential(
        [prune_low_magnitude(layer, pruning_schedule=schedule), keras.layers.Flatten()]
    )


class InputShapeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_keras_still_reads_input_shape_arg(self):
        # The private attribute the wrapper relies on (Keras 3.15): fails loudly if Keras renames it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = keras.layers.Dense(3, input_shape=(784,))
        self.assertEqual(tuple(layer._input_shape_arg), (784,))
        self.assertEqual(keras.Sequential([layer]).input_shape, (None, 784))

    def test_sequential_is_built_from_the_wrapped_layers_input_shape(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = first_layer_model(keras.layers.Dense(10, input_shape=(784,)))
        self.assertTrue(model.built)
        self.assertEqual(model.input_shape, (None, 784))
        self.assertEqual(model.output_shape, (None, 10))
        wrapper = model.layers[0]
        self.assertIsInstance(wrapper, PruneLowMagnitude)
        self.assertEqual(tuple(wrapper.layer.kernel.shape), (784, 10))

    def test_input_dim_is_passed_on_too(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = first_layer_model(keras.layers.Dense(4, input_dim=6))
        self.assertEqual(model.input_shape, (None, 6))

    def test_wrapper_input_shape_wins(self):
        # tfmot passes `input_shape=` given to prune_low_magnitude to the wrapper.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wrapper = prune_low_magnitude(keras.layers.Dense(4, input_shape=(3,)), input_shape=(5,))
        self.assertEqual(keras.Sequential([wrapper]).input_shape, (None, 5))

    def test_without_input_shape_the_model_is_not_built(self):
        model = first_layer_model(keras.layers.Dense(4))
        self.assertFalse(model.built)

    def test_builds_trains_and_prunes(self):
        schedule = ConstantSparsity(0.5, begin_step=0, frequency=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = keras.Sequential(
                [
                    prune_low_magnitude(
                        keras.layers.Dense(10, input_shape=(20,)), pruning_schedule=schedule
                    ),
                    prune_low_magnitude(MyDenseLayer(5), pruning_schedule=schedule),
                ]
            )
        self.assertEqual(model.input_shape, (None, 20))
        model.compile(optimizer="adam", loss="mse")
        x = np.random.randn(64, 20).astype("float32")
        y = np.random.randn(64, 5).astype("float32")
        before = model.predict(x, verbose=0)
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        self.assertNotAllClose(before, model.predict(x, verbose=0))
        stripped = strip_pruning(model)
        self.assertEqual(stripped.input_shape, (None, 20))
        first, second = stripped.layers
        kernel = keras.ops.convert_to_numpy(first.kernel)
        self.assertEqual(int((kernel == 0).sum()), expected_zeros(kernel.size, 0.5))
        # The custom layer's two prunable weights, bias included, are each half zero.
        for weight in (second.kernel, second.bias):
            values = keras.ops.convert_to_numpy(weight)
            self.assertEqual(int((values == 0).sum()), expected_zeros(values.size, 0.5))

    def test_saved_and_loaded_model_keeps_its_input_shape(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = first_layer_model(keras.layers.Dense(10, input_shape=(12,)))
        path = self.get_temp_dir() + "/pruned.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        self.assertEqual(loaded.input_shape, (None, 12))
        x = np.random.randn(3, 12).astype("float32")
        self.assertAllClose(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
