"""tfmot's pruning_schedule_test.py, ported: same inputs, same expected values.

Source: tensorflow/model-optimization,
tensorflow_model_optimization/python/core/sparsity/keras/pruning_schedule_test.py.
"""

import keras
import pytest
import tensorflow as tf

from tfx_ext.sparsity import ConstantSparsity, PolynomialDecay

pytestmark = pytest.mark.backend_neutral

SCHEDULE_TYPES = ("constant_sparsity", "polynomial_decay")


def construct(schedule_type, begin_step, end_step, frequency=10):
    if schedule_type == "constant_sparsity":
        return ConstantSparsity(0.5, begin_step, end_step, frequency)
    return PolynomialDecay(0.2, 0.8, begin_step, end_step, 3, frequency)


def should_prune(schedule, step):
    return schedule(step)[0]


class PruningScheduleTest(tf.test.TestCase):
    """Step parameters, validated and applied, for every schedule class."""

    def test_begin_step_greater_than_equals_zero(self):
        for schedule_type in SCHEDULE_TYPES:
            with self.subTest(schedule_type):
                for begin in (-1, -5):
                    with self.assertRaises(ValueError):
                        construct(schedule_type, begin, 1000)
                for begin in (0, 1, 100):
                    construct(schedule_type, begin, 1000)

    def test_end_step_greater_than_equals_zero(self):
        for schedule_type in SCHEDULE_TYPES:
            with self.subTest(schedule_type):
                with self.assertRaises(ValueError):
                    construct(schedule_type, 10, -5)
                for end in (0, 1, 100):
                    construct(schedule_type, 0, end)

    def test_end_step_greater_than_equals_begin_step(self):
        for schedule_type in SCHEDULE_TYPES:
            with self.subTest(schedule_type):
                with self.assertRaises(ValueError):
                    construct(schedule_type, 10, 5)
                construct(schedule_type, 10, 10)
                construct(schedule_type, 10, 20)

    def test_frequency_is_positive(self):
        for schedule_type in SCHEDULE_TYPES:
            with self.subTest(schedule_type):
                for frequency in (0, -1, -5):
                    with self.assertRaises(ValueError):
                        construct(schedule_type, 10, 1000, frequency)
                construct(schedule_type, 10, 1000, 1)
                construct(schedule_type, 10, 1000, 10)

    def validate_sparsity(self, construct_fn):
        for bad in (-0.001, -1.0, -10.0, 1.0, 10.0):
            with self.assertRaises(ValueError):
                construct_fn(bad)
        for good in (0.0, 0.001, 0.5, 0.99):
            construct_fn(good)

    def test_sparsity_value_is_valid_constant(self):
        self.validate_sparsity(lambda s: ConstantSparsity(s, 0))

    def test_sparsity_value_is_valid_polynomial(self):
        # Deliberate difference (README): tfmot accepts a falling target
        # (final < initial); we reject it. Every other construction as tfmot.
        for construct_fn, falls in (
            (lambda s: PolynomialDecay(s, 0.8, 0, 10), lambda s: s > 0.8),
            (lambda s: PolynomialDecay(0.2, s, 0, 10), lambda s: s < 0.2),
        ):
            for bad in (-0.001, -1.0, -10.0, 1.0, 10.0):
                with self.assertRaises(ValueError):
                    construct_fn(bad)
            for good in (0.0, 0.001, 0.5, 0.99):
                if falls(good):
                    with self.assertRaisesRegex(ValueError, "initial_sparsity"):
                        construct_fn(good)
                else:
                    construct_fn(good)

    def test_prunes_only_in_begin_end_step_range(self):
        for schedule_type in SCHEDULE_TYPES:
            with self.subTest(schedule_type):
                schedule = construct(schedule_type, 100, 200, 1)
                for step in (90, 99, 201, 210):
                    self.assertFalse(should_prune(schedule, step))
                for step in (100, 110, 200):
                    self.assertTrue(should_prune(schedule, step))

    def test_only_prunes_at_valid_frequency_steps(self):
        for schedule_type in SCHEDULE_TYPES:
            with self.subTest(schedule_type):
                schedule = construct(schedule_type, 100, 200, 10)
                self.assertFalse(should_prune(schedule, 109))
                self.assertFalse(should_prune(schedule, 111))
                self.assertTrue(should_prune(schedule, 100))
                self.assertTrue(should_prune(schedule, 110))

    def test_steps_as_tensors(self):
        # tfmot's cases pass the step as a tf.Variable; ours run in the graph too.
        schedule = construct("polynomial_decay", 100, 200, 10)
        prune, _ = schedule(keras.ops.convert_to_tensor(110, "int32"))
        self.assertTrue(bool(keras.ops.convert_to_numpy(prune)))


class ConstantSparsityTest(tf.test.TestCase):
    def test_prunes_forever_if_end_step_is_negative_one(self):
        schedule = ConstantSparsity(0.5, 0, -1, 10)
        for step in (10000, 100000000):
            self.assertTrue(schedule(step)[0])
            self.assertAllClose(0.5, schedule(step)[1])

    def test_prunes_with_constant_sparsity(self):
        schedule = ConstantSparsity(0.5, 100, 200, 10)
        for step in (100, 110, 200):
            self.assertAllClose(0.5, schedule(step)[1])

    def test_serialize_deserialize(self):
        schedule = ConstantSparsity(0.7, 10, 20, 10)
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(schedule)
        )
        self.assertEqual(schedule.__dict__, restored.__dict__)


class PolynomialDecayTest(tf.test.TestCase):
    def test_raises_error_if_end_step_is_negative(self):
        with self.assertRaises(ValueError):
            PolynomialDecay(0.4, 0.8, 10, -1)

    def test_polynomial_decay_prunes_correctly(self):
        schedule = PolynomialDecay(0.2, 0.8, 100, 110, 3, 2)
        # tfmot's values, generated with tf.polynomial_decay.
        self.assertAllClose(0.2, schedule(100)[1])
        self.assertAllClose(0.4928, schedule(102)[1])
        self.assertAllClose(0.725, schedule(105)[1])
        self.assertAllClose(0.8, schedule(110)[1])

    def test_serialize_deserialize(self):
        schedule = PolynomialDecay(0.2, 0.6, 10, 20, 5, 10)
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(schedule)
        )
        self.assertEqual(schedule.__dict__, restored.__dict__)
