"""TFA's tests of WeightNormalization (tensorflow_addons/layers/tests/wrappers_test.py,
and the doctests of layers/wrappers.py), ported to tfx_ext: same inputs, same
expected values, same tolerances. Keras 3 differences in the harness: `.h5`
weight files are `.weights.h5`; `Sequential.build()` needs no call when the
model starts with an `Input`.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.layers.conformance.layer_harness import run_layer_test
from tfx_ext.layers import WeightNormalization

BASE_LAYERS = {
    "dense": (lambda: keras.layers.Dense(1), False),
    "simple_rnn": (lambda: keras.layers.SimpleRNN(1), True),
    "conv2d": (lambda: keras.layers.Conv2D(3, 1), False),
    "lstm": (lambda: keras.layers.LSTM(1), True),
}
# TFA's input shapes per base layer (test_model_build uses [None, 10] for SimpleRNN).
SHAPES = {"dense": [1], "simple_rnn": [10, 10], "conv2d": [3, 3, 1], "lstm": [10, 10]}


class TFAWeightNormalizationTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_basic(self):
        run_layer_test(
            self,
            WeightNormalization,
            {"layer": keras.layers.Conv2D(5, (2, 2))},
            input_shape=(2, 4, 4, 3),
        )

    def test_no_bias(self):
        run_layer_test(
            self,
            WeightNormalization,
            {"layer": keras.layers.Dense(5, use_bias=False)},
            input_shape=(2, 4),
        )

    def _check_data_init(self, data_init, input_data, expected_output):
        layer = keras.layers.Dense(
            input_data.shape[-1],
            activation=None,
            kernel_initializer="identity",
            bias_initializer="zeros",
        )
        run_layer_test(
            self,
            WeightNormalization,
            {"layer": layer, "data_init": data_init},
            input_data=input_data,
            expected_output=expected_output,
        )

    def test_with_data_init_is_false(self):
        input_data = np.array([[[-4, -4], [4, 4]]], dtype=np.float32)
        self._check_data_init(False, input_data, input_data)

    def test_with_data_init_is_true(self):
        input_data = np.array([[[-4, -4], [4, 4]]], dtype=np.float32)
        self._check_data_init(True, input_data, input_data / 4)

    @rejects_bad_input(WeightNormalization)
    def test_non_layer(self):
        images = tf.random.uniform((2, 4, 3))
        with self.assertRaises((ValueError, AssertionError)):
            WeightNormalization(images)

    @rejects_bad_input(WeightNormalization)
    def test_non_kernel_layer(self):
        images = tf.random.uniform((2, 2, 2))
        with self.assertRaisesRegex(ValueError, "contains a `kernel`"):
            WeightNormalization(keras.layers.MaxPooling2D(2, 2))(images)

    def test_with_time_dist(self):
        inputs = keras.Input(batch_shape=(8, 8, 16, 16, 3))
        out = keras.layers.TimeDistributed(WeightNormalization(keras.layers.Conv2D(3, 3)))(inputs)
        model = keras.Model(inputs, out)
        self.assertEqual(tuple(model.output.shape), (8, 8, 14, 14, 3))

    def test_serialization(self):
        for name, (make, rnn) in BASE_LAYERS.items():
            with self.subTest(base_layer=name):
                base_layer = make()
                wn_layer = WeightNormalization(base_layer, not rnn)
                new_wn_layer = keras.layers.deserialize(keras.layers.serialize(wn_layer))
                self.assertEqual(wn_layer.data_init, new_wn_layer.data_init)
                self.assertEqual(wn_layer.is_rnn, new_wn_layer.is_rnn)
                self.assertEqual(wn_layer.is_rnn, rnn)
                self.assertIsInstance(new_wn_layer.layer, base_layer.__class__)

    def test_model_build(self):
        shapes = dict(SHAPES, simple_rnn=[None, 10])
        for data_init in (True, False):
            for name, (make, _) in BASE_LAYERS.items():
                with self.subTest(base_layer=name, data_init=data_init):
                    inputs = keras.Input(shape=shapes[name])
                    model = keras.Sequential([inputs, WeightNormalization(make(), data_init)])
                    self.assertTrue(model.built)

    def test_save_file_h5(self):
        for name, (make, _) in BASE_LAYERS.items():
            with self.subTest(base_layer=name):
                model = keras.Sequential([WeightNormalization(make())])
                model.build([None] + SHAPES[name])
                with tempfile.TemporaryDirectory() as tmp_dir:
                    path = os.path.join(tmp_dir, "wrapper_test_model.weights.h5")
                    model.save_weights(path)
                    model.load_weights(path)

    def test_forward_pass(self):
        for name, (make, _) in BASE_LAYERS.items():
            with self.subTest(base_layer=name):
                sample_data = np.ones([1] + SHAPES[name], dtype=np.float32)
                base_layer = make()
                base_output = base_layer(sample_data)
                wn_output = WeightNormalization(base_layer, False)(sample_data)
                np.testing.assert_allclose(base_output, wn_output, rtol=1e-6, atol=1e-6)

    def test_removal(self):
        for data_init in (True, False):
            for name, (make, _) in BASE_LAYERS.items():
                with self.subTest(base_layer=name, data_init=data_init):
                    sample_data = np.ones([1] + SHAPES[name], dtype=np.float32)
                    base_layer = make()
                    wn_layer = WeightNormalization(base_layer, data_init)
                    wn_output = wn_layer(sample_data)
                    wn_removed_layer = wn_layer.remove()
                    wn_removed_output = wn_removed_layer(sample_data)
                    np.testing.assert_allclose(np.asarray(wn_removed_output), np.asarray(wn_output))
                    self.assertIsInstance(wn_removed_layer, base_layer.__class__)

    def test_doctests(self):
        x = np.random.rand(1, 10, 10, 1)
        conv2d = WeightNormalization(keras.layers.Conv2D(2, 2), data_init=False)
        self.assertEqual(tuple(conv2d(x).shape), (1, 9, 9, 2))
        dense = WeightNormalization(keras.layers.Dense(10), data_init=False)
        self.assertEqual(tuple(dense(x).shape), (1, 10, 10, 10))
