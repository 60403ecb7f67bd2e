"""A hand-written `Decoder` (TFA's abstract interface) runs through `dynamic_decode`."""

import numpy as np
import tensorflow as tf

from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq
from tfx_ext.seq2seq import decoder as decoder_module


class CountingDecoder(seq2seq.Decoder):
    """Emits time * scale per row; row b finishes after lengths[b] steps."""

    def __init__(self, lengths, scale):
        self.lengths = tf.constant(lengths, tf.int32)
        self.scale = scale

    @property
    def batch_size(self):
        return int(self.lengths.shape[0])

    @property
    def output_size(self):
        return tf.TensorShape([])

    @property
    def output_dtype(self):
        return tf.float32

    def initialize(self, name=None):
        finished = tf.equal(self.lengths, 0)
        return finished, tf.zeros([self.batch_size]), tf.zeros([self.batch_size])

    def step(self, time, inputs, state, training=None, name=None):
        outputs = tf.fill([self.batch_size], tf.cast(time, tf.float32) * self.scale)
        return outputs, state + outputs, inputs, tf.greater_equal(time + 1, self.lengths)


@tensorflow_only
class AbstractDecoderTest(tf.test.TestCase):
    def test_dynamic_decode_runs_a_plain_decoder(self):
        decoder = CountingDecoder([1, 3, 2], scale=2.0)
        outputs, state, lengths = seq2seq.dynamic_decode(decoder, impute_finished=True)
        self.assertAllEqual(lengths, [1, 3, 2])
        self.assertAllClose(outputs, [[0, 0, 0], [0, 2, 4], [0, 2, 0]])
        self.assertAllClose(state, [0, 6, 2])  # impute_finished keeps each row's last state

    def test_the_interface_is_abstract(self):
        with self.assertRaises(TypeError):
            seq2seq.Decoder()
        self.assertIs(decoder_module.Decoder, seq2seq.Decoder)
        self.assertFalse(CountingDecoder([1], 1.0).tracks_own_finished)
        with self.assertRaises(NotImplementedError):
            CountingDecoder([1], 1.0).finalize(None, None, None)
        np.testing.assert_equal(
            np.asarray(CountingDecoder([2, 0], 1.0).initialize()[0]), [False, True]
        )
