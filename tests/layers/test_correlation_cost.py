import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import CorrelationCost


def reference_correlation(a, b, ks, md, s1, s2, pad):
    """TFA's C++ CPU kernel, loop for loop, on NHWC inputs."""
    n_, h_, w_, c_ = a.shape
    kr, r = (ks - 1) // 2, md // s2
    d, border = 2 * r + 1, md + kr
    out_h, out_w = (
        math.ceil((h_ + 2 * pad - 2 * border) / s1),
        math.ceil((w_ + 2 * pad - 2 * border) / s1),
    )
    out = np.zeros((n_, out_h, out_w, d * d))
    for n in range(n_):
        for h in range(out_h):
            for w in range(out_w):
                h1, w1 = (h - pad) * s1 + md + kr, (w - pad) * s1 + md + kr
                for tj in range(-r, r + 1):
                    for ti in range(-r, r + 1):
                        h2, w2 = h1 + tj * s2, w1 + ti * s2
                        total = 0.0
                        for j in range(-kr, kr + 1):
                            if not (0 <= h1 + j < h_ and 0 <= h2 + j < h_):
                                continue
                            for i in range(-kr, kr + 1):
                                if 0 <= w1 + i < w_ and 0 <= w2 + i < w_:
                                    total += (a[n, h1 + j, w1 + i] * b[n, h2 + j, w2 + i]).sum()
                        out[n, h, w, (tj + r) * d + (ti + r)] = total / (ks * ks * c_)
    return out


class CorrelationCostTest(tf.test.TestCase):
    def test_matches_tfas_kernel(self):
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((2, 1, 5, 7, 2))
        for ks, md, s1, s2, pad in ((1, 2, 1, 2, 4), (3, 2, 1, 1, 2), (3, 4, 2, 2, 3)):
            expected = reference_correlation(a, b, ks, md, s1, s2, pad)
            layer = CorrelationCost(ks, md, s1, s2, pad, "channels_last")
            self.assertAllClose(
                layer([a.astype("float32"), b.astype("float32")]), expected, atol=1e-5
            )
            self.assertEqual(tuple(layer.compute_output_shape([a.shape, b.shape])), expected.shape)
        first = CorrelationCost(3, 2, 1, 1, 2, "channels_first")(
            [
                np.transpose(a, (0, 3, 1, 2)).astype("float32"),
                np.transpose(b, (0, 3, 1, 2)).astype("float32"),
            ]
        )
        self.assertAllClose(
            first, np.transpose(reference_correlation(a, b, 3, 2, 1, 1, 2), (0, 3, 1, 2)), atol=1e-5
        )

    @pytest.mark.tf_only(
        "a compiled model with unknown spatial sizes: slow on JAX, run on TensorFlow"
    )
    def test_unknown_sizes_in_a_compiled_model(self):
        a_in, b_in = keras.Input((None, None, 2)), keras.Input((None, None, 2))
        model = keras.Model(
            [a_in, b_in], CorrelationCost(1, 1, 1, 1, 1, "channels_last")([a_in, b_in])
        )
        a, b = np.random.default_rng(1).standard_normal((2, 1, 4, 3, 2))
        expected = reference_correlation(a, b, 1, 1, 1, 1, 1)
        self.assertAllClose(model.predict([a, b], verbose=0), expected, atol=1e-5)

    @rejects_bad_input(CorrelationCost)
    def test_bad_arguments(self):
        ok = dict(
            kernel_size=1,
            max_displacement=1,
            stride_1=1,
            stride_2=1,
            pad=0,
            data_format="channels_last",
        )
        with self.assertRaisesRegex(
            ValueError, r"argument `kernel_size`. Expected an odd integer.*Received: kernel_size=2"
        ):
            CorrelationCost(**{**ok, "kernel_size": 2})
        with self.assertRaisesRegex(ValueError, r"argument `stride_2`.*Received: stride_2=0"):
            CorrelationCost(**{**ok, "stride_2": 0})
        with self.assertRaisesRegex(
            ValueError, r"argument `data_format`.*Received: data_format='NHWC'"
        ):
            CorrelationCost(**{**ok, "data_format": "NHWC"})
        with self.assertRaisesRegex(ValueError, "list of two Tensors"):
            CorrelationCost(**ok)(np.zeros((1, 4, 4, 1), "float32"))
        with self.assertRaisesRegex(ValueError, "don't fit in input"):
            CorrelationCost(**{**ok, "max_displacement": 3})(
                [keras.Input((4, 4, 1)), keras.Input((4, 4, 1))]
            )

    def test_serialization(self):
        assert_config_round_trip(self, CorrelationCost(3, 4, 2, 2, 3, "channels_first"))
