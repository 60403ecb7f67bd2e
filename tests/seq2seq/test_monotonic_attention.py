"""Monotonic attention against a NumPy transcription of the recurrence (Raffel et al. 2017, eq. 9)."""

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext import seq2seq


def reference(p, previous):
    """q_i = (1 - p_{i-1}) q_{i-1} + previous_i; attention_i = p_i q_i, a Python loop."""
    p, previous = np.asarray(p, "float64"), np.asarray(previous, "float64")
    attention = np.zeros_like(p)
    for b in range(p.shape[0]):
        q = 0.0
        for i in range(p.shape[1]):
            q = (1 - p[b, i - 1]) * q + previous[b, i] if i else previous[b, i]
            attention[b, i] = p[b, i] * q
    return attention


class MonotonicAttentionTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.p = rng.uniform(0.05, 0.95, size=(3, 6)).astype("float32")
        previous = rng.uniform(size=(3, 6))
        self.previous = (previous / previous.sum(1, keepdims=True)).astype("float32")

    def test_recursive_and_parallel_follow_the_recurrence(self):
        expected = reference(self.p, self.previous)
        for mode, atol in (("recursive", 1e-6), ("parallel", 1e-5)):
            with self.subTest(mode=mode):
                got = seq2seq.monotonic_attention(self.p, self.previous, mode)
                self.assertAllClose(got, expected, atol=atol)

    def test_hard_mode_is_exact_on_zero_one_choices(self):
        p = np.array([[0, 0, 1, 1, 0, 1], [1, 0, 0, 0, 0, 1]], "float32")
        previous = np.array([[0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0]], "float32")
        got = seq2seq.monotonic_attention(p, previous, "hard")
        self.assertAllEqual(got, reference(p, previous))
        self.assertAllEqual(got, [[0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0]])  # no going back

    def test_attention_never_moves_back(self):
        mechanism = seq2seq.LuongMonotonicAttention(
            4, memory=np.random.default_rng(1).normal(size=(2, 6, 4)), mode="hard"
        )
        state = mechanism.initial_alignments(2, "float32")
        self.assertAllEqual(state, [[1, 0, 0, 0, 0, 0]] * 2)
        positions = []
        for step in range(4):
            alignments, state = mechanism(
                [np.random.default_rng(step).normal(size=(2, 4)).astype("float32"), state]
            )
            chosen = np.asarray(alignments)
            positions.append(np.where(chosen.sum(1) > 0, chosen.argmax(1), 6))
        self.assertTrue(np.all(np.diff(np.stack(positions), axis=0) >= 0))

    def test_masked_memory_is_never_attended(self):
        memory = np.random.default_rng(2).normal(size=(2, 5, 3)).astype("float32")
        mechanism = seq2seq.BahdanauMonotonicAttention(
            3, memory=memory, memory_sequence_length=[2, 5]
        )
        state = mechanism.initial_alignments(2, "float32")
        alignments, _ = mechanism([np.ones((2, 3), "float32"), state])
        self.assertAllEqual(np.asarray(alignments)[0, 2:], np.zeros(3))

    def test_safe_cumprod_equals_cumprod(self):
        x = np.random.default_rng(3).uniform(0.1, 1.0, size=(2, 5)).astype("float32")
        for kwargs in (
            {},
            {"exclusive": True},
            {"reverse": True},
            {"exclusive": True, "reverse": True},
        ):
            with self.subTest(**kwargs):
                self.assertAllClose(
                    seq2seq.safe_cumprod(x, axis=1, **kwargs),
                    tf.math.cumprod(x, axis=1, **kwargs),
                    rtol=1e-5,
                )
        self.assertAllClose(seq2seq.safe_cumprod(x), np.cumprod(x, axis=0), rtol=1e-5)

    def test_sigmoid_noise_is_seeded(self):
        memory = np.random.default_rng(4).normal(size=(2, 5, 3)).astype("float32")
        query = np.ones((2, 3), "float32")

        def alignments(seed):
            mechanism = seq2seq.LuongMonotonicAttention(
                3,
                memory=memory,
                sigmoid_noise=1.0,
                sigmoid_noise_seed=seed,
                memory_layer=keras.layers.Dense(3, kernel_initializer="identity", use_bias=False),
            )
            return np.asarray(mechanism([query, mechanism.initial_alignments(2, "float32")])[0])

        self.assertAllClose(alignments(7), alignments(7))
        self.assertNotAllClose(alignments(7), alignments(8))

    def test_config_round_trip(self):
        assert_config_round_trip(
            self,
            seq2seq.BahdanauMonotonicAttention(
                5,
                normalize=True,
                sigmoid_noise=0.5,
                sigmoid_noise_seed=3,
                score_bias_init=-2.0,
                mode="recursive",
            ),
        )
        clone = assert_config_round_trip(
            self, seq2seq.LuongMonotonicAttention(5, scale=True, mode="hard")
        )
        self.assertEqual(clone.mode, "hard")

    @rejects_bad_input(
        seq2seq.BahdanauMonotonicAttention,
        seq2seq.LuongMonotonicAttention,
        seq2seq.monotonic_attention,
        seq2seq.safe_cumprod,
    )
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`mode`"):
            seq2seq.BahdanauMonotonicAttention(3, mode="soft")
        with self.assertRaisesRegex(ValueError, "`sigmoid_noise`"):
            seq2seq.LuongMonotonicAttention(3, sigmoid_noise=-1.0)
        with self.assertRaisesRegex(TypeError, "`sigmoid_noise_seed`"):
            seq2seq.LuongMonotonicAttention(3, sigmoid_noise_seed=1.5)
        with self.assertRaisesRegex(ValueError, "mode must be"):
            seq2seq.monotonic_attention(self.p, self.previous, "soft")
        with self.assertRaisesRegex(TypeError, "safe_cumprod takes"):
            seq2seq.safe_cumprod(self.p, axis=1, exclusve=True)
