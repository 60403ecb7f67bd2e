"""tfmot's `prune_scope` cases (prune_test.py), ported: same inputs, same expectations.

Source: tensorflow/model-optimization,
tensorflow_model_optimization/python/core/sparsity/keras/prune_test.py
(testPrune*PreservesBuiltState under prune_scope, testPruneScope_*).
Deliberate difference: `testPruneScope_NeededForKerasModel` expects an h5
load without the scope to fail; our wrapper is a registered Keras
serializable, so it loads with and without the scope (asserted below). The
tfmot-pruned tf_keras h5 model keeps tfmot's behaviour: it needs the scope,
and ours provides it. Not ported: testPruneScope_NeededForTF1SavedModel (TF1 only).
"""

import json
import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext.sparsity import ConstantSparsity, PruneLowMagnitude, prune_low_magnitude, prune_scope
from tfx_ext.sparsity import keras as tfmot_sparsity_keras

PARAMS = {
    "pruning_schedule": ConstantSparsity(0.5, 0, -1, 100),
    "block_size": (1, 1),
    "block_pooling_type": "AVG",
}


def simple_dense_model():
    """tfmot's keras test_utils.build_simple_dense_model."""
    return keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )


class PruneScopeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_same_object_on_tfmots_path(self):
        self.assertIs(tfmot_sparsity_keras.prune_scope, prune_scope)

    def test_sequential_model_preserves_built_state(self):
        model = keras.Sequential([keras.layers.Dense(10), keras.layers.Dense(10)])
        self.assertFalse(model.built)
        pruned = prune_low_magnitude(model, **PARAMS)
        self.assertFalse(model.built)
        with prune_scope():
            loaded = keras.models.model_from_json(pruned.to_json())
            self.assertFalse(loaded.built)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = keras.Sequential(
                [keras.layers.Dense(10, input_shape=(10,)), keras.layers.Dense(10)]
            )
        self.assertTrue(model.built)
        pruned = prune_low_magnitude(model, **PARAMS)
        self.assertTrue(model.built)
        with prune_scope():
            loaded = keras.saving.deserialize_keras_object(json.loads(pruned.to_json()))
        self.assertTrue(loaded.built)

    def test_functional_model_preserves_built_state(self):
        i1, i2 = keras.Input(shape=(10,)), keras.Input(shape=(10,))
        outputs = keras.layers.Add()([keras.layers.Dense(10)(i1), keras.layers.Dense(10)(i2)])
        model = keras.Model(inputs=[i1, i2], outputs=outputs)
        self.assertTrue(model.built)
        pruned = prune_low_magnitude(model, **PARAMS)
        self.assertTrue(model.built)
        with prune_scope():
            loaded = keras.saving.deserialize_keras_object(json.loads(pruned.to_json()))
        self.assertTrue(loaded.built)

    def test_keras_model_loads_with_and_without_scope(self):
        """Deliberate difference: tfmot's h5 load fails without the scope; ours does not."""
        pruned = prune_low_magnitude(simple_dense_model())
        x = np.random.rand(4, 10).astype("float32")
        for name in ("pruned.keras", "pruned.h5"):
            path = os.path.join(self.get_temp_dir(), name)
            pruned.save(path)
            for use_scope in (False, True):
                if use_scope:
                    with prune_scope():
                        loaded = keras.models.load_model(path)
                else:
                    loaded = keras.models.load_model(path)
                self.assertIsInstance(
                    loaded.layers[0], PruneLowMagnitude, msg=f"{name} scope={use_scope}"
                )
                self.assertAllClose(pruned.predict(x, verbose=0), loaded.predict(x, verbose=0))

    def test_scope_leaves_nothing_behind(self):
        with prune_scope():
            self.assertIs(
                keras.saving.get_custom_objects().get("PruneLowMagnitude"), None
            )  # global map untouched
            self.assertIs(
                keras.saving.get_registered_object("PruneLowMagnitude"), PruneLowMagnitude
            )
        self.assertIsNone(keras.saving.get_registered_object("PruneLowMagnitude"))

    def test_not_needed_for_keras_checkpoint(self):
        pruned = prune_low_magnitude(simple_dense_model())
        path = os.path.join(self.get_temp_dir(), "pruned.weights.h5")
        pruned.save_weights(path)
        same = prune_low_magnitude(simple_dense_model())
        same.load_weights(path)
        for a, b in zip(pruned.get_weights(), same.get_weights()):
            self.assertAllEqual(a, b)


@pytest.mark.tf_only("tf_keras and tfmot")
class TfKerasPruneScopeTest(tf.test.TestCase):
    def test_needed_for_a_tfmot_pruned_h5_model_and_provided(self):
        """tfmot's testPruneScope_NeededForKerasModel on the tf_keras bridge."""
        import tf_keras

        model = tf_keras.Sequential(
            [
                tf_keras.Input((10,)),
                tf_keras.layers.Dense(8, activation="relu"),
                tf_keras.layers.Dense(5),
            ]
        )
        pruned = prune_low_magnitude(model)
        path = os.path.join(self.get_temp_dir(), "tfmot_pruned.h5")
        pruned.save(path)
        with self.assertRaises(ValueError):
            tf_keras.models.load_model(path)
        with prune_scope():
            loaded = tf_keras.models.load_model(path)
        x = np.random.rand(4, 10).astype("float32")
        self.assertAllClose(pruned.predict(x, verbose=0), loaded.predict(x, verbose=0))
