"""tfmot's `quantize_scope` as its guides and tests use it: `with quantize_scope(): load_model(...)`.

Sources: tensorflow/model-optimization, quantization/keras/quantize_models_test.py
and quantize_integration_test.py (save the QAT model, load it under
`quantize_scope()`, same predictions), quantize_test.py (custom objects passed
to the scope). Deliberate difference: our QAT layers are registered Keras
serializables, so Keras 3 models load with and without the scope (asserted);
a tfmot-quantized tf_keras HDF5 model still needs it, and ours provides it.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.lite import (
    QuantizeAware,
    quantize_annotate_layer,
    quantize_annotate_model,
    quantize_apply,
    quantize_model,
    quantize_scope,
)


def trained_qat(model):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((64, 10)).astype("float32")
    y = np.random.default_rng(1).integers(0, 5, 64)
    qat = quantize_model(model)
    qat.compile("adam", "sparse_categorical_crossentropy")
    qat.fit(x, y, epochs=1, verbose=0)
    return qat, x


def dense_model():
    return keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )


class QuantizeScopeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_keras_and_h5_files_load_with_and_without_the_scope(self):
        qat, x = trained_qat(dense_model())
        expected = qat.predict(x, verbose=0)
        for name in ("qat.keras", "qat.h5"):
            path = os.path.join(self.get_temp_dir(), name)
            qat.save(path)
            for use_scope in (True, False):
                if use_scope:
                    with quantize_scope():
                        loaded = keras.models.load_model(path)
                else:
                    loaded = keras.models.load_model(path)
                self.assertIsInstance(loaded.layers[0], QuantizeAware, f"{name} scope={use_scope}")
                self.assertEqual(float(loaded.layers[0].range_initialized.numpy()), 1.0)
                self.assertAllClose(loaded.predict(x, verbose=0), expected, atol=1e-6)

    def test_custom_objects_are_passed_through(self):
        class CustomScale(keras.layers.Layer):  # deliberately not registered
            def call(self, inputs):
                return 2.0 * inputs

        inputs = keras.Input((10,))
        x = quantize_annotate_layer(keras.layers.Dense(8))(inputs)
        model = keras.Model(inputs, CustomScale(name="scale")(x))
        qat = quantize_apply(model)
        path = os.path.join(self.get_temp_dir(), "custom.keras")
        qat.save(path)
        with self.assertRaisesRegex(TypeError, "CustomScale"):
            keras.models.load_model(path)
        with quantize_scope({"CustomScale": CustomScale}):
            loaded = keras.models.load_model(path)
        data = np.random.default_rng(0).standard_normal((4, 10)).astype("float32")
        self.assertAllClose(loaded.predict(data, verbose=0), qat.predict(data, verbose=0))

    def test_scope_leaves_nothing_behind(self):
        with quantize_scope({"Thing": int}):
            self.assertIs(
                keras.saving.get_custom_objects().get("Thing"), None
            )  # the global map is untouched
            self.assertIs(keras.saving.get_registered_object("Thing"), int)
            self.assertIs(keras.saving.get_registered_object("QuantizeAware"), QuantizeAware)
        self.assertIsNone(keras.saving.get_registered_object("Thing"))

    @rejects_bad_input(quantize_scope)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, r"argument `custom_objects`.*a dict"):
            with quantize_scope(["CustomScale"]):
                pass

    def test_needed_for_a_tfmot_quantized_tf_keras_h5_model_and_provided(self):
        import tf_keras

        model = tf_keras.Sequential(
            [
                tf_keras.Input((10,)),
                tf_keras.layers.Dense(8, activation="relu"),
                tf_keras.layers.Dense(5),
            ]
        )
        qat = quantize_model(model)  # tfmot's quantize_model for a tf_keras model
        path = os.path.join(self.get_temp_dir(), "tfmot_qat.h5")
        qat.save(path)
        with self.assertRaises(ValueError):
            tf_keras.models.load_model(path)
        with quantize_scope():
            loaded = tf_keras.models.load_model(path)
        x = np.random.default_rng(0).standard_normal((4, 10)).astype("float32")
        self.assertAllClose(loaded.predict(x, verbose=0), qat.predict(x, verbose=0))

        # Applied (QuantizeWrapper, QuantizeLayer): ranges to convert with. Only
        # annotated (QuantizeAnnotate): none yet, whatever its class name says.
        from tfx_ext.lite.tf_keras_qat import is_tfmot_quantized

        self.assertTrue(is_tfmot_quantized(qat))
        self.assertFalse(is_tfmot_quantized(quantize_annotate_model(model)))
        self.assertFalse(is_tfmot_quantized(model))
