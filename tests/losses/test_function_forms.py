import keras
import numpy as np
import tensorflow as tf

from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.losses import (
    TripletHardLoss,
    TripletSemiHardLoss,
    contrastive_loss,
    pinball_loss,
    triplet_hard_loss,
    triplet_semihard_loss,
)


@keras.saving.register_keras_serializable(package="tfx_ext_tests")
def manhattan_distances(embeddings):
    return keras.ops.sum(keras.ops.abs(embeddings[:, None, :] - embeddings[None, :, :]), axis=-1)


class FunctionFormLossesTest(tf.test.TestCase):
    """Models compiled with the function forms reload with no custom_objects."""

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_models_compiled_with_the_functions_reload(self):
        x = self.rng.standard_normal((12, 3)).astype("float32")
        labels = np.repeat([0, 1, 2], 4).astype("float32")
        cases = [
            (pinball_loss, 2, self.rng.standard_normal((12, 2)).astype("float32")),
            (contrastive_loss, 1, (self.rng.random(12) < 0.5).astype("float32")),
            (triplet_semihard_loss, 2, labels),
            (triplet_hard_loss, 2, labels),
        ]
        for fn, units, y in cases:
            with self.subTest(loss=fn.__name__):
                self.assertEqual(keras.saving.get_registered_name(fn), f"tfx_ext>{fn.__name__}")
                model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units)])
                model.compile("sgd", loss=fn)
                model.fit(x, y, epochs=1, batch_size=12, verbose=0)
                loaded = assert_model_round_trip(self, model, x, y, saved_model=False)
                self.assertIs(loaded.loss, fn)

    def test_python_lists_and_a_registered_callable_metric(self):
        labels, embeddings = [0, 0, 1, 1], [[0.0, 1.0], [0.2, 0.9], [1.0, 0.0], [0.9, 0.3]]
        for loss, fn in (
            (TripletSemiHardLoss(), triplet_semihard_loss),
            (TripletHardLoss(), triplet_hard_loss),
        ):
            with self.subTest(loss=type(loss).__name__):
                self.assertAllClose(
                    loss(labels, embeddings), fn(np.array(labels), np.array(embeddings, "float32"))
                )
        # A callable distance_metric: used as given, and serialized by its registered name.
        expected_distances = np.abs(np.array(embeddings)[:, None] - np.array(embeddings)[None]).sum(
            -1
        )
        loss = TripletHardLoss(distance_metric=manhattan_distances)
        rows = np.arange(4)
        hardest_pos = np.array(
            [expected_distances[i, rows[(rows // 2 == i // 2) & (rows != i)]].max() for i in rows]
        )
        hardest_neg = np.array(
            [expected_distances[i, rows[rows // 2 != i // 2]].min() for i in rows]
        )
        self.assertAllClose(
            loss(labels, embeddings), np.mean(np.maximum(hardest_pos - hardest_neg + 1.0, 0.0))
        )
        clone = assert_config_round_trip(self, loss)
        self.assertIs(clone.distance_metric, manhattan_distances)
        clone = assert_config_round_trip(
            self, TripletSemiHardLoss(distance_metric=manhattan_distances)
        )
        self.assertIs(clone.distance_metric, manhattan_distances)
