"""tfmot's prune_test.py, ported: same inputs, same expected values.

Source: tensorflow/model-optimization,
tensorflow_model_optimization/python/core/sparsity/keras/prune_test.py.
The `prune_scope` cases (HDF5 models, built state under the scope) are in
test_prune_scope.py. Not ported: the TF-format (`.tf`) weights and TF1
SavedModel cases (formats Keras 3 does not write).
"""

import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.sparsity import (
    ConstantSparsity,
    PrunableLayer,
    PruneLowMagnitude,
    prune_low_magnitude,
    strip_pruning,
)

# Passes on JAX too, but is left out of the JAX leg to keep it short: not backend_neutral.

layers = keras.layers


class CustomPrunableLayer(layers.Dense, PrunableLayer):
    def get_prunable_weights(self):
        return [self.kernel]


class CustomNonPrunableLayer(layers.Dense):
    pass


class TestSubclassedModel(keras.Model):
    def __init__(self):
        super().__init__(name="test_model")
        self.layer1 = layers.Dense(10, activation="relu")

    def call(self, inputs):
        return self.layer1(inputs)


def simple_dense_model():
    return keras.Sequential(
        [
            keras.Input((10,)),
            layers.Dense(8, activation="relu"),
            layers.Dense(5, activation="softmax"),
        ]
    )


def count_pruned_layers(model):
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            count += count_pruned_layers(layer)
        elif isinstance(layer, PruneLowMagnitude):
            count += 1
    return count


class PruneTest(tf.test.TestCase):
    def setUp(self):
        self.keras_prunable_layer = layers.Dense(10)
        self.keras_non_prunable_layer = layers.Dropout(0.4)
        self.keras_unsupported_layer = layers.ConvLSTM2D(2, (5, 5))
        self.custom_prunable_layer = CustomPrunableLayer(10)
        self.custom_non_prunable_layer = CustomNonPrunableLayer(10)
        self.model = keras.Sequential()
        self.params = dict(
            pruning_schedule=ConstantSparsity(0.5, 0), block_size=(1, 1), block_pooling_type="AVG"
        )

    def build_pruned_layer_model(self, layer):
        wrapped = prune_low_magnitude(layer, **self.params)
        self.model.add(wrapped)
        self.model.build(input_shape=(10, 1))
        return wrapped

    def validate_pruned_layer(self, original, wrapped):
        self.assertIsInstance(wrapped, PruneLowMagnitude)
        self.assertEqual(original.get_config(), wrapped.layer.get_config())
        self.assertEqual(
            self.params["pruning_schedule"].get_config(), wrapped.pruning_schedule.get_config()
        )
        self.assertEqual(self.params["block_size"], wrapped.block_size)
        self.assertEqual(self.params["block_pooling_type"], wrapped.block_pooling_type)

    def test_prune_keras_prunable_layer(self):
        wrapped = self.build_pruned_layer_model(self.keras_prunable_layer)
        self.validate_pruned_layer(self.keras_prunable_layer, wrapped)
        self.assertIs(wrapped.layer, self.keras_prunable_layer)

    def test_prune_keras_non_prunable_layer(self):
        wrapped = self.build_pruned_layer_model(self.keras_non_prunable_layer)
        self.validate_pruned_layer(self.keras_non_prunable_layer, wrapped)
        self.assertEqual([], wrapped.pruned_weights)

    def test_prune_keras_unsupported_layer(self):
        with self.assertRaises(ValueError):
            prune_low_magnitude(self.keras_unsupported_layer, **self.params)

    def test_prune_custom_prunable_layer(self):
        wrapped = self.build_pruned_layer_model(self.custom_prunable_layer)
        self.validate_pruned_layer(self.custom_prunable_layer, wrapped)
        self.assertEqual([wrapped.layer.kernel], wrapped.layer.get_prunable_weights())

    def test_prune_custom_non_prunable_layer(self):
        # Deliberate difference (README): tfmot matches built-in layers by
        # exact class and refuses a Dense subclass; we prune subclasses of
        # known layers as their base class (here: the kernel).
        wrapped = self.build_pruned_layer_model(self.custom_non_prunable_layer)
        self.assertEqual([w.name for w in wrapped.pruned_weights], ["kernel"])

    def test_prune_model_valid_layers_successful(self):
        model = keras.Sequential(
            [
                keras.Input((10,)),
                self.keras_prunable_layer,
                self.keras_non_prunable_layer,
                self.custom_prunable_layer,
            ]
        )
        pruned_model = prune_low_magnitude(model, **self.params)
        self.assertEqual(len(model.layers), len(pruned_model.layers))
        # Deliberate difference (README): tfmot wraps every layer, ours the
        # layers with weights to prune (the Dropout stays bare).
        for layer, pruned_layer in zip(model.layers, pruned_model.layers):
            if isinstance(layer, layers.Dropout):
                self.assertIsInstance(pruned_layer, layers.Dropout)
            else:
                self.validate_pruned_layer(layer, pruned_layer)

    def test_prune_model_unsupported_keras_layer(self):
        # Deliberate difference (README): tfmot raises for a model with a
        # layer it cannot prune; we prune the rest and leave it dense.
        model = keras.Sequential(
            [
                keras.Input((3, 8, 8, 1)),
                layers.ConvLSTM2D(2, (5, 5)),
                layers.Flatten(),
                layers.Dense(10),
            ]
        )
        pruned = prune_low_magnitude(model, **self.params)
        self.assertEqual(count_pruned_layers(pruned), 1)

    def test_prune_model_custom_non_prunable_layer(self):
        # Deliberate difference (README): tfmot raises for the Dense subclass;
        # we prune it as a Dense.
        model = keras.Sequential(
            [
                keras.Input((10,)),
                self.keras_prunable_layer,
                self.keras_non_prunable_layer,
                self.custom_prunable_layer,
                self.custom_non_prunable_layer,
            ]
        )
        self.assertEqual(count_pruned_layers(prune_low_magnitude(model, **self.params)), 3)

    def test_prune_model_does_not_wrap_already_wrapped_layer(self):
        model = keras.Sequential(
            [
                keras.Input((10,)),
                layers.Dense(10),
                prune_low_magnitude(layers.Dense(10), **self.params),
            ]
        )
        pruned_model = prune_low_magnitude(model, **self.params)
        self.assertEqual(len(model.layers), len(pruned_model.layers))
        self.validate_pruned_layer(model.layers[0], pruned_model.layers[0])
        # Used as is: still one wrapper, not a wrapper in a wrapper (ours is
        # a copy, since the original model stays untouched).
        self.assertIsInstance(pruned_model.layers[1], PruneLowMagnitude)
        self.assertNotIsInstance(pruned_model.layers[1].layer, PruneLowMagnitude)
        self.assertEqual(pruned_model.layers[1].get_config(), model.layers[1].get_config())

    def test_prune_valid_layers_list_successful(self):
        model_layers = [
            self.keras_prunable_layer,
            self.keras_non_prunable_layer,
            self.custom_prunable_layer,
        ]
        pruned_layers = prune_low_magnitude(model_layers, **self.params)
        self.assertEqual(len(model_layers), len(pruned_layers))
        for layer, pruned_layer in zip(model_layers, pruned_layers):
            self.validate_pruned_layer(layer, pruned_layer)

    def test_prune_inference_works_pruning_step_callback_not_required(self):
        model = prune_low_magnitude(
            keras.Sequential(
                [
                    keras.Input((100,)),
                    layers.Dense(10, activation="relu"),
                    layers.Dense(2, activation="sigmoid"),
                ]
            ),
            **self.params,
        )
        model.compile(
            loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(), metrics=["accuracy"]
        )
        model.predict(np.random.rand(1000, 100), verbose=0)
        model.evaluate(
            np.random.rand(1000, 100),
            keras.utils.to_categorical(np.random.randint(2, size=(1000, 1))),
            verbose=0,
        )

    def test_prune_sequential_model(self):
        model = keras.Sequential([layers.Dense(10), layers.Dense(10)])
        self.assertEqual(count_pruned_layers(prune_low_magnitude(model, **self.params)), 2)
        model = keras.Sequential([keras.Input((10,)), layers.Dense(10), layers.Dense(10)])
        self.assertEqual(count_pruned_layers(prune_low_magnitude(model, **self.params)), 2)

    def test_prune_sequential_model_preserves_built_state(self):
        model = keras.Sequential([layers.Dense(10), layers.Dense(10)])
        self.assertFalse(model.built)
        pruned_model = prune_low_magnitude(model, **self.params)
        self.assertFalse(model.built)
        loaded = keras.models.model_from_json(json.dumps(json.loads(pruned_model.to_json())))
        self.assertFalse(loaded.built)

        model = keras.Sequential([keras.Input((10,)), layers.Dense(10), layers.Dense(10)])
        self.assertTrue(model.built)
        pruned_model = prune_low_magnitude(model, **self.params)
        self.assertTrue(model.built)
        loaded = keras.models.model_from_json(pruned_model.to_json())
        self.assertTrue(loaded.built)

    def functional(self):
        i1, i2 = keras.Input(shape=(10,)), keras.Input(shape=(10,))
        outputs = layers.Add()([layers.Dense(10)(i1), layers.Dense(10)(i2)])
        return keras.Model(inputs=[i1, i2], outputs=outputs)

    def test_prune_functional_model(self):
        # Deliberate difference (README): tfmot also wraps the weightless Add (3).
        self.assertEqual(
            count_pruned_layers(prune_low_magnitude(self.functional(), **self.params)), 2
        )

    def test_prune_functional_model_with_layer_reused(self):
        inp = keras.Input(shape=(10,))
        dense_layer = layers.Dense(10)
        x = dense_layer(dense_layer(inp))
        model = keras.Model(inputs=[inp], outputs=[x])
        self.assertEqual(count_pruned_layers(prune_low_magnitude(model, **self.params)), 1)

    def test_prune_functional_model_preserves_built_state(self):
        model = self.functional()
        self.assertTrue(model.built)
        pruned_model = prune_low_magnitude(model, **self.params)
        self.assertTrue(model.built)
        self.assertTrue(keras.models.model_from_json(pruned_model.to_json()).built)

    def test_prune_model_recursively(self):
        internal_model = keras.Sequential([keras.Input((10,)), layers.Dense(10)])
        original_model = keras.Sequential([keras.Input((10,)), internal_model, layers.Dense(10)])
        self.assertEqual(count_pruned_layers(prune_low_magnitude(original_model, **self.params)), 2)

    def test_prune_subclass_model(self):
        with self.assertRaises(ValueError):
            prune_low_magnitude(TestSubclassedModel(), **self.params)

    def test_prune_misc_object(self):
        # Deliberate difference (README): a TypeError (Keras's convention for
        # an argument of the wrong type) where tfmot raises ValueError.
        with self.assertRaisesRegex(TypeError, "to_prune"):
            prune_low_magnitude(object(), **self.params)

    def test_strip_pruning_sequential_model(self):
        model = keras.Sequential([layers.Dense(10), layers.Dense(10)])
        stripped = strip_pruning(prune_low_magnitude(model, **self.params))
        self.assertEqual(count_pruned_layers(stripped), 0)
        self.assertEqual(model.get_config(), stripped.get_config())

    def test_strip_pruning_functional_model(self):
        model = self.functional()
        stripped = strip_pruning(prune_low_magnitude(model, **self.params))
        self.assertEqual(count_pruned_layers(stripped), 0)

        # Keras 3's clone_model renames the InputLayers (keras_tensor_N):
        # compare every other layer's config.
        def layer_configs(m):
            return [l.get_config() for l in m.layers if not isinstance(l, layers.InputLayer)]

        self.assertEqual(layer_configs(model), layer_configs(stripped))

    def test_prune_scope_not_needed_for_keras_checkpoint(self):
        pruned_model = prune_low_magnitude(simple_dense_model())
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "pruned.weights.h5")
            pruned_model.save_weights(path)
            same_architecture_model = prune_low_magnitude(simple_dense_model())
            same_architecture_model.load_weights(path)

    def test_prune_scope_not_needed_for_tf2_saved_model(self):
        pruned_model = prune_low_magnitude(simple_dense_model())
        with tempfile.TemporaryDirectory() as tmp:
            pruned_model.export(tmp, format="tf_saved_model", verbose=False)
            tf.saved_model.load(tmp)
