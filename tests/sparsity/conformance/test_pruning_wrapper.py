"""tfmot's pruning_wrapper_test.py, ported: same inputs, same expected values.

Source: tensorflow/model-optimization,
tensorflow_model_optimization/python/core/sparsity/keras/pruning_wrapper_test.py.
tfmot's `pruning_vars` are our wrapper's `masks`.
"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.sparsity import ConstantSparsity, PruneLowMagnitude, pruning_wrappers

# Passes on JAX too, but is left out of the JAX leg to keep it short: not backend_neutral.

layers = keras.layers
Prune = PruneLowMagnitude


class CustomLayer(keras.layers.Layer):
    """A custom layer which is not prunable."""

    def __init__(self, input_dim=16, output_dim=32, **kwargs):
        super().__init__(**kwargs)
        self.weight = self.add_weight(
            shape=(input_dim, output_dim), initializer="random_normal", trainable=True
        )
        self.bias = self.add_weight(shape=(output_dim,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.weight) + self.bias


class CustomLayerPrunable(CustomLayer):
    """The same layer, with a `get_prunable_weights` method."""

    def get_prunable_weights(self):
        return [self.weight, self.bias]


PARAMS = dict(
    pruning_schedule=ConstantSparsity(0.5, 0), block_size=(1, 1), block_pooling_type="AVG"
)


def mask_count(model):
    return sum(len(layer.masks) for layer in model.layers)


class PruningWrapperTest(tf.test.TestCase):
    def setUp(self):
        self.model = keras.Sequential()

    def test_prune_wrapper_allows_only_valid_pooling_type(self):
        layer = layers.Dense(10)
        with self.assertRaises(ValueError):
            Prune(layer, block_pooling_type="MIN")
        Prune(layer, block_pooling_type="AVG")
        Prune(layer, block_pooling_type="MAX")

    def test_dense(self):
        self.model.add(Prune(layers.Dense(10), **PARAMS))
        self.model.build(input_shape=(10, 1))
        self.assertEqual(mask_count(self.model), 1)

    def test_embedding(self):
        self.model.add(Prune(layers.Embedding(10, 10), **PARAMS))
        self.model.build(input_shape=(10, 1))
        self.assertEqual(mask_count(self.model), 1)

    def test_conv2d(self):
        self.model.add(Prune(layers.Conv2D(4, (3, 3)), **PARAMS))
        self.model.build(input_shape=(1, 16, 16, 4))
        self.assertEqual(mask_count(self.model), 1)

    def test_prune_model(self):
        for layer in (
            layers.Conv2D(32, 5),
            layers.MaxPooling2D((2, 2), (2, 2)),
            layers.Conv2D(64, 5),
            layers.MaxPooling2D((2, 2), (2, 2)),
            layers.Flatten(),
            layers.Dense(1024),
            layers.Dropout(0.4),
            layers.Dense(10),
        ):
            self.model.add(Prune(layer))
        self.model.build(input_shape=(1, 28, 28, 1))
        self.assertEqual(mask_count(self.model), 4)
        # Serialization.
        config = self.model.get_config()
        restored = self.model.__class__.from_config(config)
        restored_config = restored.get_config()
        for layer in config["layers"] + restored_config["layers"]:
            layer.pop("build_config", None)
        self.assertEqual(config, restored_config)

    def test_custom_layer_non_prunable(self):
        layer = CustomLayer(input_dim=16, output_dim=32)
        layer(keras.Input(shape=(16,)))
        with self.assertRaises(ValueError):
            Prune(layer, block_pooling_type="MAX")

    def test_custom_layer_prunable(self):
        layer = CustomLayerPrunable(input_dim=16, output_dim=32)
        layer(keras.Input(shape=(16,)))
        pruned_layer = Prune(layer, block_pooling_type="MAX")
        self.assertEqual(pruned_layer.name, "prune_low_magnitude_custom_layer_prunable")

    def test_collect_prunable_layers(self):
        lstm_layer = keras.layers.RNN(layers.LSTMCell(4, dropout=0.5, recurrent_dropout=0.5))
        self.model.add(keras.Input((None, 4)))
        self.model.add(Prune(lstm_layer))
        self.model.add(Prune(layers.BatchNormalization()))
        self.model.add(Prune(layers.Flatten()))
        self.model.add(Prune(layers.Dense(10)))
        self.model.add(Prune(layers.Dropout(0.5)))
        self.assertLen(pruning_wrappers(self.model), 5)

    def test_conv3d_weight_not_pruned_with_sparsity_m_by_n(self):
        layer = keras.layers.Conv3D(2, 3)
        layer(keras.Input(shape=(28, 28, 28, 1), batch_size=4))
        self.model.add(Prune(layer, sparsity_m_by_n=(2, 4)))
        pruned_layers = pruning_wrappers(self.model)
        self.assertLen(pruned_layers, 1)
        # The wrapper is not built: no masks yet (tfmot: no pruning_vars).
        self.assertLen(pruned_layers[0].masks, 0)

    def test_custom_layer_prunable_builds_one_mask_per_weight(self):
        # Completes the case above: built, a custom layer's weights all get masks.
        layer = CustomLayerPrunable(input_dim=16, output_dim=32)
        wrapper = Prune(layer)
        wrapper(np.zeros((1, 16), "float32"))
        self.assertLen(wrapper.masks, 2)
