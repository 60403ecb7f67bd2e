"""TFA's tests of InstanceNormalization and FilterResponseNormalization
(tensorflow_addons/layers/tests/normalizations_test.py), ported.

Not ported, deliberately: the GroupNormalization tests (TFA's class is
`keras.layers.GroupNormalization` in Keras 3, which Keras tests), and those of
TFA's private helpers (`_apply_normalization`, `_reshape_into_groups`,
`_get_reshaped_weights`). `model.save(..., save_format="h5")` becomes a
`.keras` file. Models are fitted eagerly (one of the two modes TFA ran). The FRN expectations are TFA's `calculate_frn`, in NumPy in the
layer's dtype; they are compared at TFA's per-dtype tolerances
(`assert_allclose_according_to_type`) where TFA used NumPy's default rtol
(its reference ran the same TensorFlow kernels).
"""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.conformance.layer_harness import assert_allclose_according_to_type
from tfx_ext.layers import FilterResponseNormalization, InstanceNormalization

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)

DTYPES = (np.float16, np.float32, np.float64)


def _create_and_fit_sequential_model(layer, shape):
    np.random.seed(0x2020)
    model = keras.Sequential(
        [keras.Input(shape), layer, keras.layers.Dense(32), keras.layers.Dense(1)]
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(0.01), loss="categorical_crossentropy", run_eagerly=True
    )
    model.fit(
        x=np.random.rand(10, *shape), y=np.random.rand(10, 1), epochs=1, batch_size=1, verbose=0
    )
    return model


def calculate_frn(x, beta=0.2, gamma=1, eps=1e-6, learned_epsilon=False, dtype=np.float32):
    if learned_epsilon:
        eps = eps + 1e-4
    eps = np.asarray(eps, dtype)
    nu2 = np.mean(np.square(x), axis=(1, 2), keepdims=True)
    x = x * (1 / np.sqrt(nu2 + np.abs(eps)))
    return gamma * x + beta


def set_random_seed():
    np.random.seed(0x2020)
    keras.utils.set_random_seed(0x2020)


class TFAInstanceNormalizationTest(tf.test.TestCase):
    def test_inheritance(self):
        self.assertTrue(issubclass(InstanceNormalization, keras.layers.GroupNormalization))
        self.assertIs(InstanceNormalization.build, keras.layers.GroupNormalization.build)
        self.assertIs(InstanceNormalization.call, keras.layers.GroupNormalization.call)

    def test_groups_after_init(self):
        self.assertEqual(InstanceNormalization().groups, -1)

    def test_weights(self):
        layer = InstanceNormalization()
        layer.build((None, 3, 4))
        self.assertLen(layer.trainable_weights, 2)
        self.assertLen(layer.weights, 2)

    def test_instancenorm_flat(self):
        model = _create_and_fit_sequential_model(InstanceNormalization(), (64,))
        self.assertTrue(hasattr(model.layers[0], "gamma"))
        self.assertTrue(hasattr(model.layers[0], "beta"))

    def test_instance_norm_compute_output_shape(self):
        for center in (True, False):
            for scale in (True, False):
                target = [center, scale].count(True)
                with self.assertWarnsRegex(UserWarning, "groups will be overwritten"):
                    layer1 = InstanceNormalization(groups=2, center=center, scale=scale)
                layer1.build(input_shape=[8, 28, 28, 16])
                self.assertLen(layer1.variables, target)
                self.assertLen(layer1.trainable_variables, target)
                layer3 = InstanceNormalization(center=center, scale=scale)
                layer3(np.random.normal(size=[8, 28, 28, 16]).astype("float32"))
                self.assertLen(layer3.variables, target)
                self.assertLen(layer3.trainable_variables, target)


class TFAFilterResponseNormalizationTest(tf.test.TestCase):
    def _frn_check(self, beta, kwargs, learned_epsilon=False):
        for dtype in DTYPES:
            set_random_seed()
            inputs = np.expand_dims(np.random.rand(28, 28, 1).astype(dtype), axis=0)
            frn = FilterResponseNormalization(dtype=dtype, **kwargs)
            frn.build((None, 28, 28, 1))
            observed = frn(inputs)
            expected = calculate_frn(
                inputs, beta=beta, gamma=1, learned_epsilon=learned_epsilon, dtype=dtype
            )
            assert_allclose_according_to_type(expected[0], np.asarray(observed)[0])

    def test_with_beta(self):
        self._frn_check(1, {"beta_initializer": "ones", "gamma_initializer": "ones"})

    def test_with_gamma(self):
        self._frn_check(0, {"beta_initializer": "zeros", "gamma_initializer": "ones"})

    def test_with_epsilon(self):
        kwargs = {
            "beta_initializer": keras.initializers.Constant(0.5),
            "gamma_initializer": "ones",
            "learned_epsilon": True,
        }
        self._frn_check(0.5, kwargs, learned_epsilon=True)

    def test_keras_model(self):
        for dtype in DTYPES:
            set_random_seed()
            frn = FilterResponseNormalization(
                beta_initializer="ones", gamma_initializer="ones", dtype=dtype
            )
            random_inputs = np.random.rand(10, 32, 32, 3).astype(dtype)
            random_labels = np.random.randint(2, size=(10,)).astype(dtype)
            input_layer = keras.Input(shape=(32, 32, 3), dtype=dtype)
            x = keras.layers.Flatten()(frn(input_layer))
            out = keras.layers.Dense(1, activation="sigmoid", dtype=dtype)(x)
            model = keras.Model(input_layer, out)
            model.compile(loss="binary_crossentropy", optimizer="sgd", run_eagerly=True)
            history = model.fit(random_inputs, random_labels, epochs=2, verbose=0)
            self.assertLen(history.history["loss"], 2)

    def test_serialization(self):
        for dtype in DTYPES:
            frn = FilterResponseNormalization(
                beta_initializer="ones", gamma_initializer="ones", dtype=dtype
            )
            new_layer = keras.layers.deserialize(keras.layers.serialize(frn))
            self.assertEqual(frn.get_config(), new_layer.get_config())

    def test_eps_gards(self):
        set_random_seed()
        random_inputs = np.random.rand(10, 32, 32, 3).astype(np.float32)
        random_labels = np.random.randint(2, size=(10,)).astype(np.float32)
        input_layer = keras.Input(shape=(32, 32, 3))
        frn = FilterResponseNormalization(
            beta_initializer="ones", gamma_initializer="ones", learned_epsilon=True
        )
        initial_eps_value = np.asarray(frn.eps_learned)[0]
        x = keras.layers.Flatten()(frn(input_layer))
        out = keras.layers.Dense(1, activation="sigmoid")(x)
        model = keras.Model(input_layer, out)
        model.compile(loss="binary_crossentropy", optimizer="sgd", run_eagerly=True)
        model.fit(random_inputs, random_labels, epochs=1, verbose=0)
        self.assertNotEqual(initial_eps_value, np.asarray(frn.eps_learned)[0])

    def test_filter_response_normalization_save(self):
        input_layer = keras.Input(shape=(32, 32, 3))
        model = keras.Model(input_layer, FilterResponseNormalization()(input_layer))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "test.keras")
            model.save(path)
            self.assertTrue(os.path.exists(path))
