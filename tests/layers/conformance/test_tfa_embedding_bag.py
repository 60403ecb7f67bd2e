"""TFA's tests of EmbeddingBag (tensorflow_addons/layers/tests/embedding_bag_test.py), ported.

The reference is TFA's: `gather`, weights, then `sum` or `mean` (in NumPy
here). Deliberate differences: TFA's backward test differentiated its private
C++ op `_embedding_bag`; here the layer's own gradients (autodiff through
`keras.ops.take`) are compared with the gradients of the reference, which are
a scatter-add of the upstream gradient: `d params[i] = sum over (bag, j) with
indices == i of weight * upstream`. The GPU device leg is not run (CPU only).
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from tests.layers.conformance.layer_harness import assert_allclose_according_to_type
from tfx_ext.layers import EmbeddingBag

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)

CASES = list(
    itertools.product(
        [63, 64], [np.float16, np.float32, np.float64], [np.int32, np.int64], ["sum", "mean"]
    )
)
INPUT_SHAPE = (16, 32)


def manual_embedding_bag(indices, params, weights=None, combiner="mean"):
    gathered = params[indices]
    if weights is not None:
        gathered = gathered * weights[..., None]
    return gathered.sum(-2) if combiner == "sum" else gathered.mean(-2)


def _case(input_dim, dtype, indices_dtype, combiner):
    indices = np.random.randint(low=0, high=input_dim, size=INPUT_SHAPE).astype(indices_dtype)
    params = np.random.random(size=(input_dim, 16)).astype(dtype)
    weights = np.random.random(size=indices.shape).astype(dtype) if combiner == "sum" else None
    return indices, params, weights


class TFAEmbeddingBagTest(tf.test.TestCase):
    def setUp(self):
        np.random.seed(0)

    def test_forward(self):
        for input_dim, dtype, indices_dtype, combiner in CASES:
            indices, params, weights = _case(input_dim, dtype, indices_dtype, combiner)
            expected = manual_embedding_bag(indices, params, weights, combiner=combiner)
            embedding_bag = EmbeddingBag(input_dim, 16, combiner=combiner, dtype=dtype)
            embedding_bag.build(indices.shape)
            embedding_bag.set_weights([params])
            output = embedding_bag(indices, weights)
            assert_allclose_according_to_type(expected, output, half_rtol=1e-2, half_atol=1e-2)

    @pytest.mark.tf_only("gradients taken with tf.GradientTape, as TFA's test did")
    def test_backward(self):
        for input_dim, dtype, indices_dtype, combiner in CASES:
            indices, params, weights = _case(input_dim, dtype, indices_dtype, combiner)
            layer = EmbeddingBag(input_dim, 16, combiner=combiner, dtype=dtype)
            layer.build(indices.shape)
            layer.set_weights([params])
            upstream = np.random.random((INPUT_SHAPE[0], 16)).astype(dtype)
            w = None if weights is None else tf.constant(weights)
            with tf.GradientTape() as tape:
                if w is not None:
                    tape.watch(w)
                out = layer(indices, w)
                objective = tf.reduce_sum(out * upstream)
            grads = tape.gradient(
                objective, [layer.embeddings.value] + ([w] if w is not None else [])
            )
            scale = (
                weights if weights is not None else np.full(indices.shape, 1 / INPUT_SHAPE[1])
            ).astype("float64")
            expected_params = np.zeros(params.shape)
            np.add.at(
                expected_params, indices, scale[..., None] * upstream[:, None, :].astype("float64")
            )
            assert_allclose_according_to_type(
                expected_params.astype(dtype),
                tf.convert_to_tensor(grads[0]),
                half_rtol=1e-2,
                half_atol=1e-2,
            )
            if weights is not None:
                expected_weights = (params[indices] * upstream[:, None, :]).sum(-1)
                assert_allclose_according_to_type(
                    expected_weights, grads[1], half_rtol=1e-2, half_atol=1e-2
                )
