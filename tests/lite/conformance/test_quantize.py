"""tfmot's `quantization/keras/quantize_test.py`, ported to our Keras 3 QAT API.

Each case keeps tfmot's name (as a comment) and its expectation. Cases that
need a custom `QuantizeConfig` or tfmot's internal layers (QuantizeLayer,
QuantizeWrapper's quantizer lists) are not ported: custom QuantizeConfigs
are not supported on Keras 3 models yet. Our input range lives in the first
`QuantizeAware` layer (`quantize_inputs=True`), not in a separate
`QuantizeLayer`: the port checks that instead.
"""

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.lite import (
    QuantizeAnnotate,
    QuantizeAware,
    quantize_annotate_layer,
    quantize_annotate_model,
    quantize_apply,
    quantize_model,
)


def simple_dense_model():
    # tfmot's keras_test_utils.build_simple_dense_model
    return keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )


class MyModel(keras.Model):
    def call(self, inputs, training=None, mask=None):
        return inputs


class QuantizeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_quantize_model_passes(self):  # testQuantizeModel_Passes
        model = keras.Sequential(
            [keras.Input((5,)), keras.layers.Dense(10), keras.layers.Dropout(0.4)]
        )
        quantized = quantize_model(model)
        self.assertIsInstance(quantized.layers[0], QuantizeAware)

    @rejects_bad_input(quantize_model)
    def test_quantize_layer_fails(self):  # testQuantizeLayer_Fails
        with self.assertRaises(ValueError):
            quantize_model(keras.layers.Dense(10))


class QuantizeAnnotateTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def assert_wrapped(self, layer):
        self.assertIsInstance(layer, QuantizeAnnotate)
        self.assertIsNone(layer.quantize_config)

    def test_quantize_annotate_layer(self):  # testQuantizeAnnotateLayer
        layer = keras.layers.Dense(10)
        wrapped = quantize_annotate_layer(layer)
        self.assert_wrapped(wrapped)
        inputs = np.random.rand(1, 5)
        model = keras.Sequential([keras.Input((5,)), layer])
        wrapped_model = keras.Sequential([keras.Input((5,)), wrapped])
        # Annotation does not change the computation.
        self.assertAllEqual(
            model.predict(inputs, verbose=0), wrapped_model.predict(inputs, verbose=0)
        )

    def test_sequential_first_layer_is_built(
        self,
    ):  # testQuantizeAnnotateSequentialFirstLayer_IsBuilt
        model = keras.Sequential(
            [
                keras.Input((5,)),
                quantize_annotate_layer(keras.layers.Dense(10)),
                keras.layers.Dropout(0.4),
            ]
        )
        self.assertTrue(model.built)

    @rejects_bad_input(quantize_annotate_layer, QuantizeAnnotate)
    def test_quantize_annotate_layer_fails_with_model(
        self,
    ):  # testQuantizeAnnotateLayer_FailsWithModel
        with self.assertRaises(ValueError):
            quantize_annotate_layer(simple_dense_model())
        with self.assertRaisesRegex(ValueError, "argument `quantize_config`.*not supported yet"):
            quantize_annotate_layer(keras.layers.Dense(3), quantize_config=object())
        with self.assertRaisesRegex(ValueError, "argument `quantize_config`"):
            QuantizeAnnotate(keras.layers.Dense(3), quantize_config="default")

    def test_quantize_annotate_model(self):  # testQuantizeAnnotateModel
        model = keras.Sequential(
            [keras.Input((5,)), keras.layers.Dense(10), keras.layers.Dropout(0.4)]
        )
        annotated = quantize_annotate_model(model)
        for layer in annotated.layers:
            self.assert_wrapped(layer)
        inputs = np.random.rand(1, 5)
        self.assertAllEqual(model.predict(inputs, verbose=0), annotated.predict(inputs, verbose=0))

    def test_has_annotated_layers(self):  # testQuantizeAnnotateModel_HasAnnotatedLayers
        model = keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(10),
                quantize_annotate_layer(keras.layers.Dense(5)),
            ]
        )
        annotated = quantize_annotate_model(model)
        self.assert_wrapped(annotated.layers[0])
        self.assert_wrapped(annotated.layers[1])
        # An already annotated layer is not wrapped again.
        self.assertIsInstance(annotated.layers[1].layer, keras.layers.Dense)
        inputs = np.random.rand(1, 5)
        self.assertAllEqual(model.predict(inputs, verbose=0), annotated.predict(inputs, verbose=0))

    @rejects_bad_input(quantize_annotate_model)
    def test_fails_with_layer_subclassed_and_nested_models(self):
        with self.assertRaises(ValueError):  # testQuantizeAnnotateModel_FailsWithLayer
            quantize_annotate_model(keras.layers.Dense(10))
        with self.assertRaises(ValueError):  # testQuantizeAnnotateModel_FailsWithSubclassedModel
            model = MyModel()
            model(np.zeros((1, 3), "float32"))
            quantize_annotate_model(model)
        with self.assertRaises(ValueError):  # testQuantizeAnnotateModel_FailsWithNestedModels
            quantize_annotate_model(
                keras.Sequential([keras.Sequential([keras.Input((2,)), keras.layers.Dense(10)])])
            )

    def test_passes_with_custom_layer(self):  # testQuantizeAnnotateModel_PassesWithCustomLayer
        class CustomLayer(keras.layers.Dense):
            pass

        annotated = quantize_annotate_model(keras.Sequential([keras.Input((2,)), CustomLayer(3)]))
        self.assertIsInstance(annotated.layers[0].layer, CustomLayer)

    def test_does_not_share_the_optimizer(self):  # testQuantizeAnnotateModel_RemovesOptimizer
        # Deliberate difference: Keras 3's clone_model recompiles the copy from the
        # compile config (tfmot's test calls its removal a TODO that "may change").
        # Its optimizer is a fresh one, never the original's state.
        model = simple_dense_model()
        model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        annotated = quantize_annotate_model(model)
        self.assertIsNot(annotated.optimizer, model.optimizer)
        self.assertIsInstance(annotated.optimizer, keras.optimizers.SGD)

    def test_skips_lambda(self):  # testQuantizeAnnotateModel_SkipsLambda
        model = keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(10),
                keras.layers.Dropout(0.4),
                keras.layers.Lambda(lambda x: x + 1.0),
            ]
        )
        with self.assertWarns(Warning):
            annotated = quantize_annotate_model(model)
        self.assert_wrapped(annotated.layers[0])
        self.assert_wrapped(annotated.layers[1])
        self.assertIsInstance(annotated.layers[2], keras.layers.Lambda)
        inputs = np.random.rand(1, 5)
        self.assertAllEqual(model.predict(inputs, verbose=0), annotated.predict(inputs, verbose=0))


class QuantizeApplyTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    @rejects_bad_input(quantize_apply)
    def test_validation(self):
        with self.assertRaises(ValueError):  # testRaisesErrorIfNotKerasModel
            quantize_apply(keras.layers.Dense(32))
        with self.assertRaises(ValueError):  # testRaisesErrorIfKerasSubclassedModel
            quantize_apply(MyModel())
        with self.assertRaises(ValueError):  # testRaisesErrorNoAnnotatedLayers_Sequential
            quantize_apply(
                keras.Sequential(
                    [keras.Input((3,)), keras.layers.Dense(10), keras.layers.Dropout(0.4)]
                )
            )
        inputs = keras.Input((10,))
        x = keras.layers.Dense(32, activation="relu")(inputs)
        with self.assertRaises(ValueError):  # testRaisesErrorNoAnnotatedLayers_Functional
            quantize_apply(keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x)))
        unbuilt = keras.Sequential([quantize_annotate_layer(keras.layers.Dense(10))])
        self.assertFalse(unbuilt.built)
        with self.assertRaisesRegex(ValueError, "not built"):  # testRaisesErrorModelNotBuilt
            quantize_apply(unbuilt)

    def assert_quantized(self, annotated, quantized):
        """Annotated Dense/Conv layers became QuantizeAware with the same weights; the rest are plain."""
        for before, after in zip(annotated.layers, quantized.layers):
            if isinstance(before, QuantizeAnnotate):
                self.assertIsInstance(after, QuantizeAware, before.name)
                self.assertIs(type(after.layer), type(before.layer))
                for a, b in zip(before.layer.get_weights(), after.layer.get_weights()):
                    self.assertAllEqual(a, b)
            else:
                self.assertNotIsInstance(after, (QuantizeAware, QuantizeAnnotate), before.name)
                for a, b in zip(before.get_weights(), after.get_weights()):
                    self.assertAllEqual(a, b)

    def test_applies_to_annotated_model_sequential(
        self,
    ):  # testAppliesQuantizationToAnnotatedModel_Sequential
        model = keras.Sequential(
            [
                keras.Input((12, 12, 1)),
                keras.layers.Conv2D(4, 5, activation="relu"),
                quantize_annotate_layer(keras.layers.Dense(10, activation="relu")),
                quantize_annotate_layer(keras.layers.Dense(5, activation="softmax")),
            ]
        )
        quantized = quantize_apply(model)
        self.assert_quantized(model, quantized)
        # testDoesNotQuantizeInputLayer_OutboundLayerNotQuantized: the first layer
        # is not quantized, so nothing learns the input's range.
        self.assertEqual([layer.quantize_inputs for layer in quantized.layers[1:]], [False, False])

    def test_applies_to_annotated_model_functional(
        self,
    ):  # testAppliesQuantizationToAnnotatedModel_Functional
        inputs = keras.Input((12, 12, 1))
        x = keras.layers.Conv2D(4, 5, activation="relu")(inputs)
        x = quantize_annotate_layer(keras.layers.Dense(10, activation="relu"))(x)
        model = keras.Model(
            inputs, quantize_annotate_layer(keras.layers.Dense(5, activation="softmax"))(x)
        )
        self.assert_quantized(model, quantize_apply(model))

    def test_quantizes_input_when_the_first_layer_is_quantized(
        self,
    ):  # testQuantizesInputLayer_OutboundLayerIsQuantized
        inputs = keras.Input((12, 12, 1))
        x = quantize_annotate_layer(keras.layers.Conv2D(4, 5, activation="relu"))(inputs)
        x = quantize_annotate_layer(keras.layers.Dense(10, activation="relu"))(x)
        quantized = quantize_apply(keras.Model(inputs, x))
        wrappers = [layer for layer in quantized.layers if isinstance(layer, QuantizeAware)]
        self.assertEqual([w.quantize_inputs for w in wrappers], [True, False])

    def test_preserves_built_state(
        self,
    ):  # testAppliesQuantizationToAnnotatedModel_PreservesBuiltState
        annotated = quantize_annotate_model(simple_dense_model())
        self.assertTrue(annotated.built)
        self.assertTrue(quantize_apply(annotated).built)

    def test_does_not_share_the_optimizer(self):  # testQuantizeApply_RemovesOptimizer (see above)
        annotated = quantize_annotate_model(simple_dense_model())
        annotated.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        quantized = quantize_apply(annotated)
        self.assertIsNot(quantized.optimizer, annotated.optimizer)

    def test_runs_when_nested_model_not_annotated(
        self,
    ):  # testQuantizeApply_RunsWhenNestedModelNotAnnotated
        inner = keras.Sequential([keras.Input((2,)), keras.layers.Dense(10)])
        annotated = keras.Sequential(
            [keras.Input((2,)), inner, quantize_annotate_layer(keras.layers.Dense(10))]
        )
        quantized = quantize_apply(annotated)
        x = np.random.rand(3, 2).astype("float32")
        # Before training the fake quantizers pass outputs through up to the kernel's rounding.
        self.assertAllClose(
            quantized.predict(x, verbose=0), annotated.predict(x, verbose=0), atol=0.05
        )
