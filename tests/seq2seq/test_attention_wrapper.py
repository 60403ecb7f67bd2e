import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class AttentionTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.memory = rng.normal(size=(3, 5, 4)).astype("float32")
        self.lengths = np.array([5, 2, 1], "int32")
        self.query = rng.normal(size=(3, 6)).astype("float32")

    def test_luong_and_bahdanau_match_numpy(self):
        mask = np.arange(5)[None] < self.lengths[:, None]
        luong = seq2seq.LuongAttention(6, self.memory, self.lengths, scale=True)
        alignments, _ = luong([self.query, None])
        keys = (self.memory * mask[..., None]) @ np.asarray(luong.memory_layer.kernel)
        score = np.einsum("bu,btu->bt", self.query, keys) * float(luong.scale_weight)
        self.assertAllClose(alignments, softmax(np.where(mask, score, -1e30)), atol=1e-5)

        bahdanau = seq2seq.BahdanauAttention(6, self.memory, self.lengths, normalize=True)
        alignments, _ = bahdanau([self.query, None])
        keys = (self.memory * mask[..., None]) @ np.asarray(bahdanau.memory_layer.kernel)
        q = self.query @ np.asarray(bahdanau.query_layer.kernel)
        v = np.asarray(bahdanau.attention_v)
        normed_v = float(bahdanau.attention_g) * v / np.linalg.norm(v)
        score = (normed_v * np.tanh(keys + q[:, None] + np.asarray(bahdanau.attention_b))).sum(-1)
        self.assertAllClose(alignments, softmax(np.where(mask, score, -1e30)), atol=1e-5)

    @tensorflow_only
    def test_wrapper_output_attention_and_history(self):
        mechanism = seq2seq.LuongAttention(6, self.memory, self.lengths)
        cell = seq2seq.AttentionWrapper(
            keras.layers.LSTMCell(6),
            mechanism,
            attention_layer_size=3,
            alignment_history=True,
            output_attention=False,
        )
        state = cell.get_initial_state(batch_size=3, dtype="float32")
        out, state = cell(self.query[:, :2], state)
        self.assertEqual(tuple(out.shape), (3, 6))  # the cell output, not the attention
        self.assertEqual(tuple(state.attention.shape), (3, 3))
        self.assertEqual(tuple(state.alignment_history.stack().shape), (1, 3, 5))
        # Memory past each length gets no attention.
        self.assertAllEqual(np.asarray(state.alignments)[1, 2:], np.zeros(3))

    def test_config_round_trip(self):
        mechanism = seq2seq.BahdanauAttention(5, normalize=True, probability_fn="hardmax")
        assert_config_round_trip(self, mechanism)
        assert_config_round_trip(self, seq2seq.LuongAttention(5, scale=True))
        wrapper = seq2seq.AttentionWrapper(
            keras.layers.GRUCell(5),
            [mechanism, seq2seq.LuongAttention(5)],
            attention_layer_size=[3, 4],
            alignment_history=True,
        )
        clone = assert_config_round_trip(self, wrapper)
        self.assertLen(clone._attention_mechanisms, 2)

    @rejects_bad_input(seq2seq.LuongAttention, seq2seq.BahdanauAttention, seq2seq.AttentionWrapper)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`units`"):
            seq2seq.LuongAttention(0)
        with self.assertRaisesRegex(ValueError, "`probability_fn`"):
            seq2seq.BahdanauAttention(3, probability_fn="sparsemax")
        with self.assertRaisesRegex(TypeError, "`normalize`"):
            seq2seq.BahdanauAttention(3, normalize="yes")
        with self.assertRaisesRegex(ValueError, "`memory`"):
            seq2seq.LuongAttention(3, memory=np.ones((2, 3), "float32"))
        with self.assertRaisesRegex(ValueError, "Incompatible or unknown inner dimensions"):
            seq2seq.LuongAttention(4, self.memory)([self.query, None])
        with self.assertRaisesRegex(TypeError, "`attention_mechanism`"):
            seq2seq.AttentionWrapper(keras.layers.LSTMCell(3), keras.layers.Dense(3))
        with self.assertRaisesRegex(ValueError, "exactly one integer per attention_mechanism"):
            seq2seq.AttentionWrapper(
                keras.layers.LSTMCell(3), seq2seq.LuongAttention(3), attention_layer_size=[2, 3]
            )
        wrapper = seq2seq.AttentionWrapper(
            keras.layers.LSTMCell(6), seq2seq.LuongAttention(6, self.memory)
        )
        with self.assertRaisesRegex(ValueError, "tile_batch"):
            wrapper.get_initial_state(batch_size=6, dtype="float32")
