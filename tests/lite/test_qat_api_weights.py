"""tfmot's QAT functions keep every weight and every derived state of the model they copy.

An adapted `Normalization` keeps its mean and variance as constants that only
`finalize_state()` refreshes; a copy that only calls `set_weights` normalizes
with mean 0 and variance 1, silently (the values differed by ~100 here).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext import lite

pytestmark = pytest.mark.tf_only("QAT is tested with its TFLite conversion on TensorFlow")


def _normalized_model():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).uniform(50, 150, (64, 4)).astype("float32")
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(x)
    model = keras.Sequential([keras.Input((4,)), norm, keras.layers.Dense(3, name="dense")])
    return model, x


class QatApiWeightsTest(tf.test.TestCase):
    def assertSameNormalization(self, copy, model, x):
        expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0))
        self.assertAllClose(
            keras.ops.convert_to_numpy(model.get_layer("norm")(x)), expected, atol=1e-4
        )
        self.assertAllClose(keras.ops.convert_to_numpy(copy.layers[0](x)), expected, atol=1e-4)

    def test_annotate_and_apply_keep_adapted_normalization(self):
        model, x = _normalized_model()
        annotated = lite.quantize_annotate_model(model)
        self.assertSameNormalization(annotated, model, x)
        # An annotation computes as the layer does: the same outputs exactly.
        self.assertAllClose(annotated.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)

        applied = lite.quantize_apply(annotated)
        self.assertSameNormalization(applied, model, x)
        dense = next(layer for layer in applied.layers if isinstance(layer, lite.QuantizeAware))
        self.assertAllEqual(dense.layer.kernel, model.get_layer("dense").kernel)
        self.assertAllEqual(dense.layer.bias, model.get_layer("dense").bias)
