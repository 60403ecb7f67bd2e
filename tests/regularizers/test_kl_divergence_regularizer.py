import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.regularizers import KLDivergenceRegularizer

pytestmark = pytest.mark.backend_neutral


def bernoulli_kl(p, q):
    """KL(Bernoulli(p) || Bernoulli(q)), written from its definition."""
    return sum(a * np.log(a / b) for a, b in ((p, q), (1 - p, 1 - q)))


class KLDivergenceRegularizerTest(tf.test.TestCase):
    def test_penalty_is_the_bernoulli_kl_of_each_units_mean_activation(self):
        activations = np.random.default_rng(0).uniform(0.01, 0.99, (16, 5)).astype("float32")
        penalty = KLDivergenceRegularizer(weight=0.05, target=0.1)(activations)
        expected = 0.05 * bernoulli_kl(0.1, activations.mean(axis=0).astype("float64")).sum()
        self.assertAllClose(keras.ops.convert_to_numpy(penalty), expected, rtol=1e-5)
        # Units already at the target cost nothing.
        at_target = np.full((4, 3), 0.1, "float32")
        self.assertAllClose(
            keras.ops.convert_to_numpy(KLDivergenceRegularizer(1.0)(at_target)), 0.0, atol=1e-6
        )

    def test_dead_units_give_a_large_finite_penalty(self):
        penalty = keras.ops.convert_to_numpy(
            KLDivergenceRegularizer(1.0, 0.1)(np.zeros((4, 2), "float32"))
        )
        self.assertTrue(np.isfinite(penalty))
        self.assertAllClose(penalty, 2 * bernoulli_kl(0.1, keras.config.epsilon()), rtol=1e-4)

    def test_as_activity_regularizer_it_adds_the_penalty_to_the_model_losses(self):
        regularizer = KLDivergenceRegularizer(weight=0.5, target=0.2)
        layer = keras.layers.Dense(4, activation="sigmoid", activity_regularizer=regularizer)
        x = np.random.default_rng(1).standard_normal((8, 3)).astype("float32")
        activations = keras.ops.convert_to_numpy(layer(x))
        self.assertLen(layer.losses, 1)
        # Keras divides an activity penalty by the batch size.
        expected = 0.5 * bernoulli_kl(0.2, activations.mean(axis=0).astype("float64")).sum() / 8
        self.assertAllClose(keras.ops.convert_to_numpy(layer.losses[0]), expected, rtol=1e-5)

    def test_serialization(self):
        regularizer = KLDivergenceRegularizer(weight=0.05, target=0.1)
        clone = assert_config_round_trip(self, regularizer)
        self.assertEqual((clone.weight, clone.target), (0.05, 0.1))
        restored = keras.regularizers.deserialize(keras.regularizers.serialize(regularizer))
        self.assertIsInstance(restored, KLDivergenceRegularizer)
        model = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Dense(4, activation="sigmoid", activity_regularizer=regularizer),
            ]
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sparse.keras")
            model.save(path)
            loaded = keras.models.load_model(path)  # no custom_objects
        self.assertEqual(
            loaded.layers[0].activity_regularizer.get_config(), regularizer.get_config()
        )

    @rejects_bad_input(KLDivergenceRegularizer)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, "`weight`. Expected a number >= 0.0. Received: weight=-0.1"
        ):
            KLDivergenceRegularizer(weight=-0.1)
        for target in (0, 1, 1.5):
            with self.assertRaisesRegex(
                ValueError, "`target`. Expected a number in \\(0.0, 1.0\\)"
            ):
                KLDivergenceRegularizer(weight=0.1, target=target)
        with self.assertRaisesRegex(TypeError, "`target`"):
            KLDivergenceRegularizer(weight=0.1, target="sparse")
