"""TFA's tests of the CRF ops (tensorflow_addons/text/tests/crf_test.py), ported to tfx_ext.

Same inputs, expected values and tolerances (TFA's
`assert_allclose_according_to_type`: 1e-6 for float32, 1e-3 for float16 unless
the case says otherwise). Brute-force references score every tag sequence in
one batched `crf_sequence_score` call instead of one call per sequence (same
values), and `crf_sequence_score` itself is checked against the plain-Python
formula.
"""

import itertools
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext import text

# On JAX, eager keras.ops compile every op and every scan per call (these
# cases took 140 s there); tests/text/test_crf_backends.py runs the ops and the
# layer on every backend instead.
pytestmark = pytest.mark.tf_only(
    "TFA's eager cases; the JAX leg runs tests/text/test_crf_backends.py"
)

DTYPES = (np.float16, np.float32)
INPUTS = [[4, 5, -3], [3, -1, 3], [-1, 2, 1], [0, 0, 0]]
TRANSITIONS = [[-3, 5, -2], [3, 4, 1], [1, 2, 1]]


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def calculate_sequence_score(inputs, transition_params, tag_indices, sequence_lengths):
    unary = sum(inputs[i][tag_indices[i]] for i in range(sequence_lengths))
    binary = sum(
        transition_params[tag_indices[i], tag_indices[i + 1]] for i in range(sequence_lengths - 1)
    )
    return unary + binary


def all_sequence_scores(inputs, sequence_lengths, transition_params):
    """Every tag sequence of length `sequence_lengths` (zero-padded) and its score."""
    num_words, num_tags = inputs.shape
    sequences = [
        list(tags) + [0] * (num_words - int(sequence_lengths))
        for tags in itertools.product(range(num_tags), repeat=int(sequence_lengths))
    ]
    n = len(sequences)
    scores = text.crf_sequence_score(
        inputs=np.repeat(inputs[None], n, 0),
        tag_indices=np.array(sequences),
        sequence_lengths=np.full([n], sequence_lengths),
        transition_params=transition_params,
    )
    return sequences, numpy(scores)


def brute_force_decode(sequence_lengths, inputs, transition_params):
    sequences, scores = all_sequence_scores(inputs, sequence_lengths, transition_params)
    best = int(np.argmax(scores))
    return sequences[best], scores[best]


def logsumexp(values):
    values = np.asarray(values, np.float64)
    top = values.max()
    return top + np.log(np.exp(values - top).sum())


class TFACrfTest(tf.test.TestCase):
    def assertCloseForType(
        self,
        actual,
        expected,
        dtype,
        rtol=1e-6,
        atol=1e-6,
        half_rtol=1e-3,
        half_atol=1e-3,
    ):
        actual = numpy(actual)
        if np.dtype(dtype) == np.float16:
            rtol, atol = max(rtol, half_rtol), max(atol, half_atol)
        self.assertAllClose(
            actual.astype(np.float64),
            np.asarray(expected, np.float64),
            rtol=rtol,
            atol=atol,
        )

    def test_crf_filtered_inputs(self):
        for dtype in DTYPES:
            neg_inf = float("-inf")
            cases = [
                (
                    np.array(INPUTS, dtype),
                    np.array(
                        [
                            [True, False, False],
                            [False, True, True],
                            [False, True, True],
                            [False, True, True],
                        ]
                    ),
                    np.array(
                        [
                            [4, neg_inf, neg_inf],
                            [neg_inf, -1, 3],
                            [neg_inf, 2, 1],
                            [neg_inf, 0, 0],
                        ],
                        dtype,
                    ),
                ),
                (
                    np.array([[4, 5, -3]], dtype),
                    np.array([[False, True, True]]),
                    np.array([[neg_inf, 5, -3]], dtype),
                ),
            ]
            for inputs, tag_bitmap, expected in cases:
                filtered = text.crf_filtered_inputs(
                    inputs=inputs[None], tag_bitmap=tag_bitmap[None]
                )
                self.assertAllEqual(numpy(filtered)[0], expected)

    def test_crf_sequence_score(self):
        for dtype in DTYPES:
            transition_params = np.array(TRANSITIONS, dtype)
            cases = [
                (
                    np.array(3, np.int32),
                    np.array(INPUTS, dtype),
                    np.array([1, 2, 1, 0], np.int32),
                ),
                (
                    np.array(1, np.int32),
                    np.array([[4, 5, -3]], dtype),
                    np.array([1], np.int32),
                ),
            ]
            for sequence_lengths, inputs, tag_indices in cases:
                score = text.crf_sequence_score(
                    inputs=inputs[None],
                    tag_indices=tag_indices[None],
                    sequence_lengths=sequence_lengths[None],
                    transition_params=transition_params,
                )
                expected = calculate_sequence_score(
                    inputs, transition_params, tag_indices, sequence_lengths
                )
                self.assertCloseForType(numpy(score)[0], expected, dtype)

    def test_crf_multi_tag_sequence_score(self):
        for dtype in DTYPES:
            transition_params = np.array(TRANSITIONS, dtype)
            cases = [
                (
                    np.array(3, np.int32),
                    np.array(INPUTS, dtype),
                    np.array(
                        [
                            [True, True, False],
                            [True, False, True],
                            [False, True, True],
                            [True, False, True],
                        ]
                    ),
                ),
                (
                    np.array(1, np.int32),
                    np.array([[4, 5, -3]], dtype),
                    np.array([[True, True, False]]),
                ),
            ]
            for sequence_lengths, inputs, tag_bitmap in cases:
                score = text.crf_multitag_sequence_score(
                    inputs=inputs[None],
                    tag_bitmap=tag_bitmap[None],
                    sequence_lengths=sequence_lengths[None],
                    transition_params=transition_params,
                )
                allowed = [row.nonzero()[0] for row in tag_bitmap[:sequence_lengths]]
                expected = [
                    calculate_sequence_score(inputs, transition_params, indices, sequence_lengths)
                    for indices in itertools.product(*allowed)
                ]
                self.assertCloseForType(
                    numpy(score)[0],
                    np.logaddexp.reduce(np.array(expected, np.float64)),
                    dtype,
                )

    def test_crf_unary_score(self):
        for dtype in DTYPES:
            inputs = np.array(INPUTS, dtype)
            for tag_dtype in (np.int32, np.int64):
                tag_indices = np.array([1, 2, 1, 0], tag_dtype)
                sequence_lengths = np.array(3, np.int32)
                score = text.crf_unary_score(
                    tag_indices=tag_indices[None],
                    sequence_lengths=sequence_lengths[None],
                    inputs=inputs[None],
                )
                expected = sum(inputs[i][tag_indices[i]] for i in range(sequence_lengths))
                self.assertCloseForType(numpy(score)[0], expected, dtype)

    def test_crf_binary_score(self):
        for dtype in DTYPES:
            tag_indices = np.array([1, 2, 1, 0], np.int32)
            transition_params = np.array(TRANSITIONS, dtype)
            sequence_lengths = np.array(3, np.int32)
            score = text.crf_binary_score(
                tag_indices=tag_indices[None],
                sequence_lengths=sequence_lengths[None],
                transition_params=transition_params,
            )
            expected = sum(
                transition_params[tag_indices[i], tag_indices[i + 1]]
                for i in range(sequence_lengths - 1)
            )
            self.assertCloseForType(numpy(score)[0], expected, dtype)

    def test_crf_log_norm(self):
        for dtype in DTYPES:
            transition_params = np.array(TRANSITIONS, dtype)
            cases = [
                (np.array(3, np.int32), np.array(INPUTS, dtype)),
                (np.array(1, np.int64), np.array([[3, -1, 3]], dtype)),
            ]
            for sequence_lengths, inputs in cases:
                _, scores = all_sequence_scores(inputs, sequence_lengths, transition_params)
                log_norm = text.crf_log_norm(
                    inputs=inputs[None],
                    sequence_lengths=sequence_lengths[None],
                    transition_params=transition_params,
                )
                self.assertCloseForType(numpy(log_norm)[0], logsumexp(scores), dtype)

    def test_crf_log_norm_zero_seq_length(self):
        for dtype in DTYPES:
            log_norm = text.crf_log_norm(
                np.ones([2, 10, 5], dtype),
                np.zeros([2], np.int32),
                np.ones([5, 5], dtype),
            )
            self.assertCloseForType(log_norm, np.zeros([2]), dtype)

    def test_crf_log_likelihood(self):
        for dtype in DTYPES:
            inputs = np.array(INPUTS, dtype)
            transition_params = np.array(TRANSITIONS, dtype)
            sequence_lengths = np.array(3, np.int32)
            sequences = [
                list(tags) + [0] for tags in itertools.product(range(3), repeat=3)
            ]  # every sequence: the probabilities sum to 1
            n = len(sequences)
            log_likelihood, _ = text.crf_log_likelihood(
                inputs=np.repeat(inputs[None], n, 0),
                tag_indices=np.array(sequences),
                sequence_lengths=np.full([n], sequence_lengths),
                transition_params=transition_params,
            )
            total = logsumexp(numpy(log_likelihood))
            self.assertCloseForType(
                total, 0.0, dtype, rtol=1e-6, atol=1e-6, half_rtol=2e-3, half_atol=2e-3
            )
            # transition_params=None creates the transitions.
            _, created = text.crf_log_likelihood(
                inputs=inputs[None],
                tag_indices=np.array(sequences[-1:]),
                sequence_lengths=sequence_lengths[None],
            )
            self.assertEqual(tuple(created.shape), (3, 3))

    def test_viterbi_decode(self):
        for dtype in DTYPES:
            inputs = np.array(INPUTS, dtype)
            transition_params = np.array(TRANSITIONS, dtype)
            sequence_lengths = 3
            expected_sequence, expected_score = brute_force_decode(
                sequence_lengths, inputs, transition_params
            )
            sequence, score = text.viterbi_decode(inputs[:sequence_lengths], transition_params)
            self.assertCloseForType(score, expected_score, dtype)
            self.assertEqual(sequence, expected_sequence[:sequence_lengths])

    def test_crf_decode(self):
        for dtype in DTYPES:
            transition_params = np.array(TRANSITIONS, dtype)
            cases = [
                (np.array(3, np.int32), np.array(INPUTS, dtype)),
                (np.array(1, np.int64), np.array([[-1, 2, 1]], dtype)),
            ]
            for sequence_lengths, inputs in cases:
                expected_sequence, expected_score = brute_force_decode(
                    sequence_lengths, inputs, transition_params
                )
                sequence, score = text.crf_decode(
                    inputs[None], transition_params, sequence_lengths[None]
                )
                self.assertEqual(numpy(sequence).dtype, np.int32)
                self.assertCloseForType(numpy(score)[0], expected_score, dtype, 1e-6, 1e-6)
                self.assertEqual(
                    list(numpy(sequence)[0][:sequence_lengths]),
                    expected_sequence[:sequence_lengths],
                )

    def test_crf_constrained_decode(self):
        for dtype in DTYPES:
            transition_params = np.array(TRANSITIONS, dtype)
            cases = [
                (
                    np.array(3, np.int32),
                    np.array(INPUTS, dtype),
                    np.array(
                        [
                            [True, False, False],
                            [False, True, True],
                            [False, True, True],
                            [False, True, True],
                        ]
                    ),
                ),
                (
                    np.array(1, np.int32),
                    np.array([[4, 5, -3]], dtype),
                    np.array([[False, True, True]]),
                ),
            ]
            for sequence_lengths, inputs, tag_bitmap in cases:
                filtered = text.crf_filtered_inputs(
                    inputs=inputs[None], tag_bitmap=tag_bitmap[None]
                )
                expected_sequence, expected_score = text.crf_decode(
                    filtered, transition_params, sequence_lengths[None]
                )
                sequence, score = text.crf_constrained_decode(
                    inputs[None],
                    tag_bitmap[None],
                    transition_params,
                    sequence_lengths[None],
                )
                self.assertCloseForType(
                    numpy(score)[0], numpy(expected_score)[0], dtype, 1e-6, 1e-6
                )
                self.assertAllEqual(
                    numpy(sequence)[0][:sequence_lengths],
                    numpy(expected_sequence)[0][:sequence_lengths],
                )
                # The constraint holds: every decoded tag is allowed.
                chosen = numpy(sequence)[0][:sequence_lengths]
                self.assertTrue(all(tag_bitmap[i, tag] for i, tag in enumerate(chosen)))

    def test_crf_decode_zero_seq_length(self):
        tags, scores = text.crf_decode(
            np.ones([2, 10, 5], np.float32),
            np.ones([5, 5], np.float32),
            np.zeros([2], np.int32),
        )
        self.assertEqual(len(tags.shape), 2)
        self.assertEqual(len(scores.shape), 1)

    def test_different_dtype(self):
        inputs = np.ones([16, 20, 5], dtype=np.float32)
        tags = np.ones([16, 20], dtype=np.int64)
        seq_lens = np.ones([16], dtype=np.int64) * 20
        log_likelihood, transitions = text.crf_log_likelihood(
            inputs=inputs, tag_indices=tags, sequence_lengths=seq_lens
        )
        # Independent value: a constant sequence under random transitions.
        t = numpy(transitions)
        expected_score = 20 * 1.0 + 19 * t[1, 1]
        # With equal unary scores, every path of length 20 scores 20 plus its transitions.
        steps = np.full(5, 1.0)
        for _ in range(19):
            steps = 1.0 + np.log(np.exp(steps[:, None] + t).sum(axis=0))
        expected_norm = np.log(np.exp(steps).sum())
        self.assertAllClose(
            numpy(log_likelihood),
            np.full([16], expected_score - expected_norm),
            rtol=1e-5,
            atol=1e-5,
        )

    def test_tf_function(self):
        batch_size, num_tags = 4, 10
        signature = (
            tf.TensorSpec([None, None, num_tags]),
            tf.TensorSpec([num_tags, num_tags]),
            tf.TensorSpec([None], dtype=tf.int32),
        )
        crf_decode = tf.function(input_signature=signature)(text.crf_decode)
        potentials = tf.random.uniform([batch_size, 1, num_tags])
        transition_params = tf.random.uniform([num_tags, num_tags])
        tags, scores = crf_decode(
            potentials, transition_params, tf.ones([batch_size], dtype=tf.int32)
        )
        # Length-1 sequences: the argmax tag and its potential.
        self.assertAllEqual(tags[:, 0], tf.argmax(potentials[:, 0], axis=1, output_type=tf.int32))
        self.assertAllClose(scores, tf.reduce_max(potentials[:, 0], axis=1))

    def test_crf_decode_save_load(self):
        keras.utils.set_random_seed(0)
        transition = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], np.float32)
        input_tensor = keras.Input(shape=(10, 3), dtype="float32", name="input_tensor")
        seq_len = keras.Input(shape=(), dtype="int32", name="seq_len")
        decoded = CRFDecode(transition)(input_tensor, seq_len)
        model = keras.Model(inputs=[input_tensor, seq_len], outputs=decoded, name="example_model")
        x_data = {
            "input_tensor": np.random.random_sample((5, 10, 3)).astype(np.float32),
            "seq_len": np.array([10] * 5, dtype=np.int32),
        }
        expected = model.predict(x_data, verbose=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
            reloaded = keras.models.load_model(path)
            self.assertAllEqual(reloaded.predict(x_data, verbose=0), expected)
        # The decoded tags are the NumPy Viterbi paths.
        for row in range(5):
            path, _ = text.viterbi_decode(x_data["input_tensor"][row], transition)
            self.assertEqual(list(expected[row]), path)

    def test_crf_decode_forward_mask(self):
        tf.random.set_seed(0)
        for potentials, sequence_length in (
            (tf.random.normal([2, 12, 3]), tf.constant([8, 10])),  # performs masking
            (tf.random.normal([4, 8, 10]), tf.constant([8, 8, 8, 8])),  # does not
        ):
            initial_state = potentials[:, 0]
            inputs = potentials[:, 1:]
            sequence_length_less_one = tf.maximum(0, sequence_length - 1)
            n_tags = potentials.shape[-1]
            transition_params = tf.random.normal([n_tags, n_tags])
            backpointers, _ = text.crf_decode_forward(
                inputs, initial_state, transition_params, sequence_length_less_one
            )
            mask = tf.sequence_mask(sequence_length_less_one, tf.shape(inputs)[1])
            masked_indices = tf.cast(tf.logical_not(mask), tf.int32)
            expected_sums = tf.repeat(inputs.shape[1], inputs.shape[0]) - sequence_length_less_one
            self.assertAllEqual(tf.reduce_sum(masked_indices, axis=1), expected_sums)
            zeros = masked_indices[:, :, None] * backpointers
            self.assertTrue(bool(tf.reduce_all(zeros == 0)), f"Mask not applied correctly: {zeros}")


@keras.saving.register_keras_serializable(package="tests_crf")
class CRFDecode(keras.layers.Layer):
    """TFA's test layer: `crf_decode` with a constant transition matrix."""

    def __init__(self, transition, **kwargs):
        super().__init__(**kwargs)
        self.transition = np.asarray(transition, np.float32)

    def call(self, potentials, sequence_length):
        return text.crf_decode(potentials, self.transition, sequence_length)[0]

    def compute_output_spec(self, potentials, sequence_length):
        return keras.KerasTensor(potentials.shape[:2], dtype="int32")

    def get_config(self):
        return {**super().get_config(), "transition": self.transition.tolist()}
