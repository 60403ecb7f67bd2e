import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import EmbeddingBag


class EmbeddingBagTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.indices = rng.integers(0, 9, (2, 3, 4))
        self.weights = rng.random((2, 3, 4)).astype("float32")

    def test_matches_the_sum_and_mean_of_the_embeddings(self):
        for combiner, reduce in (("sum", np.sum), ("mean", np.mean)):
            layer = EmbeddingBag(9, 5, combiner=combiner)
            out = layer(self.indices)
            table = np.asarray(layer.embeddings)
            self.assertAllClose(out, reduce(table[self.indices], axis=-2))
            self.assertEqual(tuple(out.shape), (2, 3, 5))
        layer = EmbeddingBag(9, 5)
        out = layer(self.indices, self.weights)
        table = np.asarray(layer.embeddings)
        self.assertAllClose(
            out, np.einsum("abj,abjd->abd", self.weights, table[self.indices]), atol=1e-6
        )

    def test_symbolic_call_with_weights(self):
        indices = keras.Input((4,), dtype="int32")
        weights = keras.Input((4,))
        self.assertEqual(tuple(EmbeddingBag(9, 5)(indices, weights).shape), (None, 5))

    @rejects_bad_input(EmbeddingBag)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `input_dim`.*Received: input_dim=0"):
            EmbeddingBag(0, 4)
        with self.assertRaisesRegex(ValueError, r"argument `output_dim`.*Received: output_dim=-1"):
            EmbeddingBag(4, -1)
        with self.assertRaisesRegex(
            ValueError, r"argument `combiner`. Expected one of 'sum', 'mean'"
        ):
            EmbeddingBag(4, 2, combiner="max")
        with self.assertRaisesRegex(
            ValueError, r"argument `weights`. Expected None when combiner='mean'"
        ):
            EmbeddingBag(9, 2, combiner="mean")(self.indices, self.weights)
        with self.assertRaisesRegex(
            ValueError, r"argument `indices`. Expected a tensor of rank >= 2"
        ):
            EmbeddingBag(9, 2)(np.array([1, 2]))

    def test_serialization(self):
        assert_config_round_trip(
            self, EmbeddingBag(9, 5, embeddings_regularizer="l2", combiner="mean", name="bag")
        )
