"""TFA's tests of StochasticDepth (tensorflow_addons/layers/tests/stochastic_depth_test.py,
and the doctests of layers/stochastic_depth.py), ported to tfx_ext.

TFA's seeded case expects, for `training=True`, the kept branch under one seed
and the dropped branch under another; the random streams differ between TFA
and Keras 3, so here each training output must be one of TFA's two expected
values, and both must occur over a few seeds. (In TFA this function was named
`stochastic_depth_test` and never collected by pytest.)
"""

import keras
import numpy as np
import tensorflow as tf

from tests.layers.conformance.layer_harness import TFA_ATOL, TFA_RTOL
from tfx_ext.layers import StochasticDepth

SHORTCUT = np.asarray([[0.2, 0.1, 0.4]]).astype(np.float32)
RESIDUAL = np.asarray([[0.2, 0.4, 0.5]]).astype(np.float32)
KEPT = np.asarray([[0.4, 0.5, 0.9]]).astype(np.float32)  # shortcut + residual
DROPPED = np.asarray([[0.2, 0.1, 0.4]]).astype(np.float32)  # shortcut
INFERENCE = np.asarray([[0.3, 0.3, 0.65]]).astype(np.float32)  # shortcut + p_l * residual


class TFAStochasticDepthTest(tf.test.TestCase):
    def test_stochastic_depth(self):
        layer = StochasticDepth(survival_probability=0.5)
        np.testing.assert_allclose(
            layer([SHORTCUT, RESIDUAL], training=False), INFERENCE, rtol=TFA_RTOL, atol=TFA_ATOL
        )
        outcomes = set()
        for seed in range(8):
            keras.utils.set_random_seed(seed)
            out = np.asarray(StochasticDepth(0.5, seed=seed)([SHORTCUT, RESIDUAL], training=True))
            if np.allclose(out, KEPT, rtol=TFA_RTOL, atol=TFA_ATOL):
                outcomes.add("kept")
            else:
                np.testing.assert_allclose(out, DROPPED, rtol=TFA_RTOL, atol=TFA_ATOL)
                outcomes.add("dropped")
        self.assertEqual(outcomes, {"kept", "dropped"})

    def test_with_mixed_precision_policy(self):
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("mixed_float16")
        try:
            policy = keras.config.dtype_policy()
            shortcut = np.asarray([[0.2, 0.1, 0.4]])
            residual = np.asarray([[0.2, 0.4, 0.5]])
            output = StochasticDepth()([shortcut, residual])
            self.assertEqual(output.dtype, policy.compute_dtype)
            output = StochasticDepth()([shortcut, residual], training=True)
            self.assertEqual(output.dtype, policy.compute_dtype)
        finally:
            keras.config.set_dtype_policy(previous)

    def test_serialization(self):
        stoch_depth = StochasticDepth(survival_probability=0.5)
        new_layer = keras.layers.deserialize(keras.layers.serialize(stoch_depth))
        self.assertEqual(stoch_depth.get_config(), new_layer.get_config())

    def test_doctests(self):
        inputs = np.ones((1, 3, 3, 1), dtype=np.float32)
        residual = keras.layers.Conv2D(1, 1)(inputs)
        self.assertEqual(tuple(keras.layers.Add()([inputs, residual]).shape), (1, 3, 3, 1))
        self.assertEqual(tuple(StochasticDepth()([inputs, residual]).shape), (1, 3, 3, 1))
