"""TFA's seq2seq/tests/attention_wrapper_test.py, ported (same inputs, expected values, tolerances).

Not ported: `test_save_load_layer` and the two
`keras.layers.RNN(AttentionWrapper)` cases (Keras-2 graph features; see README),
the mixed-precision variants (float32 only).
"""

import collections

import keras
import numpy as np
import tensorflow as tf

from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq as wrapper
from tfx_ext.seq2seq import basic_decoder

ATTENTION_CLASSES = [
    wrapper.LuongAttention,
    wrapper.BahdanauAttention,
    wrapper.LuongMonotonicAttention,
    wrapper.BahdanauMonotonicAttention,
]


class DummyData:
    def __init__(self):
        self.batch = 10
        self.timestep = 5
        self.memory_size = 6
        self.units = 8
        self.memory = np.random.randn(self.batch, self.timestep, self.memory_size).astype(
            np.float32
        )
        self.memory_length = np.random.randint(low=1, high=self.timestep + 1, size=(self.batch,))
        self.query = np.random.randn(self.batch, self.units).astype(np.float32)
        self.state = np.random.randn(self.batch, self.timestep).astype(np.float32)


class DummyData2:
    def __init__(self):
        self.batch = 64
        self.units = 128
        self.encoder_timestep = 10
        self.encoder_dim = 256
        self.decoder_timestep = 12
        self.encoder_outputs = np.random.randn(self.batch, self.encoder_timestep, self.encoder_dim)
        self.encoder_sequence_length = np.random.randint(
            1, high=self.encoder_timestep, size=(self.batch,)
        ).astype(np.int32)
        self.decoder_inputs = np.random.randn(self.batch, self.decoder_timestep, self.units)
        self.decoder_sequence_length = np.random.randint(
            self.decoder_timestep, size=(self.batch,)
        ).astype(np.int32)


ResultSummary = collections.namedtuple("ResultSummary", ("shape", "dtype", "mean"))


def get_result_summary(x):
    if isinstance(x, np.ndarray):
        return ResultSummary(x.shape, x.dtype, x.mean())
    return x


def set_random_state_for_tf_and_np():
    tf.random.set_seed(87654321)
    np.random.seed(87654321)
    DummyData2()


def glorot_uniform_v1(shape, seed):
    """TF1's glorot_uniform(seed) draw: the same stateful op with the same seeds as TFA's test."""
    limit = np.sqrt(3.0 / ((shape[0] + shape[1]) / 2.0))
    return tf.random.uniform(shape, -limit, limit, dtype=tf.float32, seed=seed).numpy()


class AttentionMechanismTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_attention_shape_inference(self):
        for cls in ATTENTION_CLASSES:
            data = DummyData()
            attention = cls(data.units, data.memory)
            score = attention([data.query, data.state])
            self.assertLen(score, 2)
            self.assertEqual(tuple(score[0].shape), (data.batch, data.timestep))
            self.assertEqual(tuple(score[1].shape), (data.batch, data.timestep))

    def test_get_config(self):
        for cls in ATTENTION_CLASSES:
            data = DummyData()
            attention = cls(data.units, data.memory)
            config = attention.get_config()
            self.assertEqual(cls.from_config(config).get_config(), config)

    def test_layer_output(self):
        for cls in ATTENTION_CLASSES:
            data = DummyData()
            attention = cls(data.units, data.memory)
            score = attention([data.query, data.state])
            self.assertEqual(tuple(score[0].shape), (data.batch, data.timestep))

    def test_passing_memory_from_call(self):
        for cls in ATTENTION_CLASSES:
            data = DummyData()
            attention = cls(data.units, data.memory)
            weights_before_query = attention.get_weights()
            ref_score = attention([data.query, data.state])
            all_weights = attention.get_weights()
            config = attention.get_config()
            # Simulate the twice invocation of calls here.
            attention_from_config = cls.from_config(config)
            attention_from_config.build(data.memory.shape)
            attention_from_config.set_weights(weights_before_query)
            attention_from_config(data.memory, setup_memory=True)
            attention_from_config.build([data.query.shape, data.state.shape])
            attention_from_config.set_weights(all_weights)
            score = attention_from_config([data.query, data.state])
            np.testing.assert_allclose(ref_score, score)

    def test_manual_memory_reset(self):
        for cls in ATTENTION_CLASSES:
            data = DummyData()
            attention = cls(data.units)

            def compute_score(batch_size):
                memory = data.memory[:batch_size]
                attention.setup_memory(
                    memory, memory_sequence_length=data.memory_length[:batch_size]
                )
                self.assertEqual(list(attention.values.shape), list(memory.shape))
                self.assertEqual(list(attention.keys.shape), list(memory.shape)[:-1] + [data.units])
                return attention([data.query[:batch_size], data.state[:batch_size]])

            compute_score(data.batch)
            variables = list(attention.variables)
            compute_score(data.batch - 1)
            for var_1, var_2 in zip(variables, list(attention.variables)):
                self.assertIs(var_1, var_2)

    def test_masking(self):
        memory = tf.ones([4, 4, 5], dtype=tf.float32)
        memory_sequence_length = tf.constant([1, 2, 3, 4], dtype=tf.int32)
        query = tf.ones([4, 5], dtype=tf.float32)
        attention = wrapper.LuongAttention(5, memory, memory_sequence_length)
        alignment, _ = attention([query, None])
        self.assertEqual(np.sum(np.triu(alignment, k=1)), 0)

    def test_memory_re_setup(self):
        for cls in ATTENTION_CLASSES:

            class MyModel(keras.Model):
                def __init__(self, vocab, embedding_dim, memory_size, units):
                    super().__init__()
                    self.emb = keras.layers.Embedding(vocab, embedding_dim, mask_zero=True)
                    self.encoder = keras.layers.LSTM(memory_size, return_sequences=True)
                    self.attn_mch = cls(units)

                def call(self, inputs):
                    enc_input, query, state = inputs
                    mask = self.emb.compute_mask(enc_input)
                    enc_output = self.encoder(self.emb(enc_input), mask=mask)
                    # Twice, so manual resetting is exercised in graph mode too.
                    self.attn_mch(enc_output, mask=mask, setup_memory=True)
                    self.attn_mch(enc_output, mask=mask, setup_memory=True)
                    return self.attn_mch([query, state])

            vocab, embedding_dim, num_batches = 20, 6, 5
            data = DummyData()
            model = MyModel(vocab, embedding_dim, data.memory_size, data.units)
            model.compile("rmsprop", "mse")
            x = np.random.randint(vocab, size=(num_batches * data.batch, data.timestep))
            x_test = np.random.randint(vocab, size=(num_batches * data.batch, data.timestep))
            y = np.random.randn(num_batches * data.batch, data.timestep)
            query = np.tile(data.query, [num_batches, 1])
            state = np.tile(data.state, [num_batches, 1])
            model.fit([x, query, state], (y, y), batch_size=data.batch, verbose=0)
            model.predict_on_batch([x_test, query, state])


@tensorflow_only
class AttentionWrapperTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_custom_attention_layer(self):
        data = DummyData2()
        attention_mechanism = wrapper.LuongAttention(data.units)
        cell = keras.layers.LSTMCell(data.units)
        attention_layer = keras.layers.Dense(data.units * 2, use_bias=False, activation="tanh")
        attention_wrapper = wrapper.AttentionWrapper(
            cell, attention_mechanism, attention_layer=attention_layer
        )
        with self.assertRaises(ValueError):
            # The attention mechanism has no memory yet.
            attention_wrapper.get_initial_state(batch_size=data.batch, dtype=tf.float32)
        attention_mechanism.setup_memory(
            data.encoder_outputs.astype(np.float32),
            memory_sequence_length=data.encoder_sequence_length,
        )
        initial_state = attention_wrapper.get_initial_state(batch_size=data.batch, dtype=tf.float32)
        self.assertEqual(initial_state.attention.shape[-1], data.units * 2)
        output, _ = attention_wrapper(data.decoder_inputs[:, 0].astype(np.float32), initial_state)
        self.assertEqual(output.shape[-1], data.units * 2)

    def _test_with_attention(
        self,
        create_attention_mechanism,
        expected_final_output,
        expected_final_state,
        attention_mechanism_depth=3,
        alignment_history=False,
        expected_final_alignment_history=None,
        attention_layer_size=6,
        create_query_layer=False,
        create_attention_kwargs=None,
    ):
        encoder_sequence_length = [3, 2, 3, 1, 1]
        decoder_sequence_length = [2, 0, 1, 2, 3]
        batch_size = 5
        encoder_max_time = 8
        decoder_max_time = 4
        input_depth = 7
        encoder_output_depth = 10
        cell_depth = 9
        kwargs = dict(create_attention_kwargs or {})
        attention_depth = (
            attention_layer_size if attention_layer_size is not None else encoder_output_depth
        )

        decoder_inputs = np.random.randn(batch_size, decoder_max_time, input_depth).astype(
            np.float32
        )
        encoder_outputs = np.random.randn(
            batch_size, encoder_max_time, encoder_output_depth
        ).astype(np.float32)
        depth = attention_mechanism_depth
        if create_query_layer:
            kwargs["query_layer"] = keras.layers.Dense(
                depth, kernel_initializer="ones", use_bias=False
            )
        kwargs["memory_layer"] = keras.layers.Dense(
            depth, kernel_initializer="ones", use_bias=False
        )
        mechanism = create_attention_mechanism(
            units=depth,
            memory=encoder_outputs,
            memory_sequence_length=encoder_sequence_length,
            **kwargs,
        )
        cell = keras.layers.LSTMCell(
            cell_depth,
            recurrent_activation="sigmoid",
            kernel_initializer="ones",
            recurrent_initializer="ones",
        )
        cell = wrapper.AttentionWrapper(
            cell,
            mechanism,
            attention_layer_size=attention_layer_size,
            alignment_history=alignment_history,
        )
        if cell._attention_layers is not None:
            for layer in cell._attention_layers:
                kernel = glorot_uniform_v1(
                    (cell_depth + encoder_output_depth, attention_layer_size), seed=1337
                )
                layer.kernel_initializer = keras.initializers.Constant(kernel)

        my_decoder = basic_decoder.BasicDecoder(cell=cell, sampler=wrapper.TrainingSampler())
        initial_state = cell.get_initial_state(batch_size=batch_size, dtype="float32")
        final_outputs, final_state, _ = my_decoder(
            decoder_inputs, initial_state=initial_state, sequence_length=decoder_sequence_length
        )
        self.assertIsInstance(final_outputs, basic_decoder.BasicDecoderOutput)
        self.assertIsInstance(final_state, wrapper.AttentionWrapperState)
        expected_time = max(decoder_sequence_length)
        self.assertEqual(
            (batch_size, expected_time, attention_depth), tuple(final_outputs.rnn_output.shape)
        )
        self.assertEqual((batch_size, expected_time), tuple(final_outputs.sample_id.shape))
        self.assertEqual((batch_size, attention_depth), tuple(final_state.attention.shape))
        self.assertEqual((batch_size, cell_depth), tuple(final_state.cell_state[0].shape))
        self.assertEqual((batch_size, cell_depth), tuple(final_state.cell_state[1].shape))

        if alignment_history:
            history = final_state.alignment_history.stack()
            self.assertEqual((expected_time, batch_size, encoder_max_time), tuple(history.shape))
            final_state = final_state._replace(alignment_history=())
            history_info = get_result_summary(np.array(history))
            self.assert_summary(expected_final_alignment_history, history_info)

        final_outputs = tf.nest.map_structure(np.array, final_outputs)
        final_state = final_state._replace(cell_state=list(final_state.cell_state))
        final_state = tf.nest.map_structure(np.array, final_state)
        tf.nest.map_structure(
            self.assert_summary,
            expected_final_output,
            tf.nest.map_structure(get_result_summary, final_outputs),
        )
        tf.nest.map_structure(
            self.assert_summary,
            expected_final_state,
            tf.nest.map_structure(get_result_summary, final_state),
        )

    def assert_summary(self, expected, actual):
        if isinstance(expected, (np.ndarray, float)):
            np.testing.assert_allclose(expected, actual, atol=1e-3)
        else:
            self.assertEqual(expected, actual)

    def _summary(self, shape, mean, dtype="float32"):
        return ResultSummary(shape=shape, dtype=np.dtype(dtype), mean=mean)

    def _state(self, c, h, attention, alignments, attention_depth=6):
        return wrapper.AttentionWrapperState(
            cell_state=[self._summary((5, 9), c), self._summary((5, 9), h)],
            attention=self._summary((5, attention_depth), attention),
            alignments=self._summary((5, 8), alignments),
            attention_state=self._summary((5, 8), alignments),
            alignment_history=(),
        )

    def test_bahdanau_not_normalized(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.BahdanauAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 6), -0.003204414),
                sample_id=self._summary((5, 3), 3.2, "int32"),
            ),
            self._state(0.40868404, 0.89017969, 0.041453815, 0.125),
            alignment_history=True,
            create_query_layer=True,
            expected_final_alignment_history=self._summary((3, 5, 8), 0.125),
            create_attention_kwargs={"kernel_initializer": "ones"},
        )

    def test_bahdanau_normalized(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.BahdanauAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 6), -0.008089137),
                sample_id=self._summary((5, 3), 2.8, "int32"),
            ),
            self._state(0.49166861, 1.01068615, 0.042427111, 0.125),
            create_query_layer=True,
            create_attention_kwargs={"kernel_initializer": "ones", "normalize": True},
        )

    def test_luong_not_normalized(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.LuongAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 6), -0.06124732),
                sample_id=self._summary((5, 3), 2.73333333, "int32"),
            ),
            self._state(0.52021580, 1.0964939, -0.0318060, 0.125),
            attention_mechanism_depth=9,
        )

    def test_luong_scaled(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.LuongAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 6), -0.06124732),
                sample_id=self._summary((5, 3), 2.73333333, "int32"),
            ),
            self._state(0.52021580, 1.0964939, -0.0318060, 0.125),
            attention_mechanism_depth=9,
            create_attention_kwargs={"scale": True},
        )

    def test_bahdanau_monotonic_not_normalized(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.BahdanauMonotonicAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 6), -0.009921653),
                sample_id=self._summary((5, 3), 3.13333333, "int32"),
            ),
            self._state(0.44612807, 0.95786464, 0.038682378, 0.09778417),
            alignment_history=True,
            expected_final_alignment_history=self._summary((3, 5, 8), 0.10261579603),
            create_query_layer=True,
            create_attention_kwargs={"kernel_initializer": "ones"},
        )

    def test_bahdanau_monotonic_normalized(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.BahdanauMonotonicAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 6), 0.007140680),
                sample_id=self._summary((5, 3), 3.26666666, "int32"),
            ),
            self._state(0.47012400, 1.0249618, 0.068432882, 0.0615656),
            alignment_history=True,
            expected_final_alignment_history=self._summary((3, 5, 8), 0.07909643),
            create_query_layer=True,
            create_attention_kwargs={"kernel_initializer": "ones", "normalize": True},
        )

    def test_luong_monotonic_not_normalized(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.LuongMonotonicAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 6), 0.003664831),
                sample_id=self._summary((5, 3), 3.06666666, "int32"),
            ),
            self._state(0.54318606, 1.12592840, 0.059128221, 0.05112994),
            attention_mechanism_depth=9,
            alignment_history=True,
            expected_final_alignment_history=self._summary((3, 5, 8), 0.06994973868),
        )

    def test_luong_monotonic_scaled(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.LuongMonotonicAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 6), 0.003664831),
                sample_id=self._summary((5, 3), 3.06666666, "int32"),
            ),
            self._state(0.54318606, 1.12592840, 0.059128221, 0.05112994),
            attention_mechanism_depth=9,
            alignment_history=True,
            expected_final_alignment_history=self._summary((3, 5, 8), 0.06994973868),
            create_attention_kwargs={"scale": True},
        )

    def test_not_use_attention_layer(self):
        set_random_state_for_tf_and_np()
        self._test_with_attention(
            wrapper.BahdanauAttention,
            basic_decoder.BasicDecoderOutput(
                rnn_output=self._summary((5, 3, 10), 0.078317143),
                sample_id=self._summary((5, 3), 4.2, "int32"),
            ),
            self._state(0.89382392, 1.722382, 0.026356646, 0.125, attention_depth=10),
            attention_layer_size=None,
            create_query_layer=True,
            create_attention_kwargs={"kernel_initializer": "ones"},
        )

    def _dtype_case(self, make_mechanism, dtype):
        data = DummyData2()
        encoder_outputs = data.encoder_outputs.astype(dtype)
        decoder_inputs = data.decoder_inputs.astype(dtype)
        mechanism = make_mechanism(data, encoder_outputs, dtype)
        cell = keras.layers.LSTMCell(data.units, recurrent_activation="sigmoid", dtype=dtype)
        cell = wrapper.AttentionWrapper(cell, mechanism, dtype=dtype)
        my_decoder = basic_decoder.BasicDecoder(
            cell=cell, sampler=wrapper.TrainingSampler(), dtype=dtype
        )
        final_outputs, final_state, _ = my_decoder(
            decoder_inputs,
            initial_state=cell.get_initial_state(batch_size=data.batch, dtype=dtype),
            sequence_length=data.decoder_sequence_length,
        )
        self.assertIsInstance(final_outputs, basic_decoder.BasicDecoderOutput)
        self.assertEqual(final_outputs.rnn_output.dtype, dtype)
        self.assertIsInstance(final_state, wrapper.AttentionWrapperState)

    def test_bahdanau_normalized_dtype(self):
        for dtype in (np.float32, np.float64):
            self._dtype_case(
                lambda data, memory, dtype: wrapper.BahdanauAttention(
                    units=data.units,
                    memory=memory,
                    memory_sequence_length=data.encoder_sequence_length,
                    normalize=True,
                    dtype=dtype,
                ),
                dtype,
            )

    def test_luong_scaled_dtype(self):
        for dtype in (np.float32, np.float64):
            self._dtype_case(
                lambda data, memory, dtype: wrapper.LuongAttention(
                    units=data.units,
                    memory=memory,
                    memory_sequence_length=data.encoder_sequence_length,
                    scale=True,
                    dtype=dtype,
                ),
                dtype,
            )

    def test_attention_wrapper_with_gru_cell(self):
        mechanism = wrapper.LuongAttention(units=3)
        cell = wrapper.AttentionWrapper(keras.layers.GRUCell(3), mechanism)
        mechanism.setup_memory(tf.ones([2, 5, 3]))
        inputs = tf.ones([2, 3])
        initial_state = cell.get_initial_state(inputs=inputs)
        _, state = cell(inputs, initial_state)
        tf.nest.assert_same_structure(initial_state, state)

    def test_attention_wrapper_with_multiple_attention_mechanisms(self):
        cell = keras.layers.LSTMCell(5)
        mechanisms = [wrapper.LuongAttention(units=3), wrapper.LuongAttention(units=3)]
        wrapper.AttentionWrapper(cell, mechanisms, attention_layer_size=[4, 5])
        wrapper.AttentionWrapper(
            cell, mechanisms, attention_layer=[keras.layers.Dense(4), keras.layers.Dense(5)]
        )
