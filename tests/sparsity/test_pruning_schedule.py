import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_model_optimization.sparsity import keras as tfmot_sparsity

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.sparsity import ConstantSparsity, PolynomialDecay, PruningSchedule

pytestmark = pytest.mark.backend_neutral

CONSTANT_CONFIGS = [
    dict(target_sparsity=0.5, begin_step=0, end_step=-1, frequency=100),
    dict(target_sparsity=0.8, begin_step=10, end_step=200, frequency=7),
    dict(target_sparsity=0.0, begin_step=0, end_step=0, frequency=1),
    dict(target_sparsity=0.9, begin_step=50, end_step=-1, frequency=25),
    dict(target_sparsity=0.3, begin_step=5, end_step=5, frequency=3),
]

POLYNOMIAL_CONFIGS = [
    dict(
        initial_sparsity=0.0, final_sparsity=0.8, begin_step=0, end_step=100, power=3, frequency=10
    ),
    dict(
        initial_sparsity=0.2, final_sparsity=0.9, begin_step=20, end_step=150, power=1, frequency=7
    ),
    dict(
        initial_sparsity=0.1, final_sparsity=0.5, begin_step=10, end_step=60, power=0.5, frequency=1
    ),
    dict(
        initial_sparsity=0.0, final_sparsity=0.95, begin_step=0, end_step=250, power=2, frequency=25
    ),
    dict(
        initial_sparsity=0.3, final_sparsity=0.6, begin_step=30, end_step=90, power=3, frequency=4
    ),
]

LAST_STEP = 300


def tfmot_outputs(schedule, step):
    should_prune, sparsity = schedule(tf.constant(step, tf.int64))
    return bool(should_prune.numpy()), float(sparsity.numpy())


def closed_form_should_prune(step, begin, end, frequency):
    return step >= begin and (end == -1 or step <= end) and (step - begin) % frequency == 0


def closed_form_polynomial(step, initial, final, begin, end, power):
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return final + (initial - final) * (1.0 - p) ** power


class PruningScheduleTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def assert_matches_tfmot(self, ours, reference):
        for step in range(LAST_STEP + 1):
            should_prune, sparsity = ours(step)
            ref_prune, ref_sparsity = tfmot_outputs(reference, step)
            self.assertIsInstance(should_prune, bool)
            self.assertEqual(should_prune, ref_prune, msg=f"step {step}")
            self.assertAllClose(sparsity, ref_sparsity, atol=1e-6, msg=f"step {step}")

    def test_constant_sparsity_matches_tfmot(self):
        for config in CONSTANT_CONFIGS:
            with self.subTest(**config):
                self.assert_matches_tfmot(
                    ConstantSparsity(**config), tfmot_sparsity.ConstantSparsity(**config)
                )

    def test_polynomial_decay_matches_tfmot(self):
        for config in POLYNOMIAL_CONFIGS:
            with self.subTest(**config):
                self.assert_matches_tfmot(
                    PolynomialDecay(**config), tfmot_sparsity.PolynomialDecay(**config)
                )

    def test_polynomial_closed_form(self):
        for config in POLYNOMIAL_CONFIGS:
            schedule = PolynomialDecay(**config)
            begin, end, frequency = config["begin_step"], config["end_step"], config["frequency"]
            for step in range(LAST_STEP + 1):
                should_prune, sparsity = schedule(step)
                self.assertEqual(
                    should_prune, closed_form_should_prune(step, begin, end, frequency)
                )
                expected = closed_form_polynomial(
                    step,
                    config["initial_sparsity"],
                    config["final_sparsity"],
                    begin,
                    end,
                    config["power"],
                )
                self.assertAllClose(sparsity, expected, atol=1e-6)  # float32, as tfmot

    def test_polynomial_worked_values(self):
        schedule = PolynomialDecay(0.0, 0.8, begin_step=0, end_step=100, power=3, frequency=10)
        # Half way: 0.8 - 0.8 * 0.5**3.
        self.assertAllClose(schedule(50)[1], 0.7)
        self.assertAllClose(schedule(0)[1], 0.0)
        self.assertAllClose(schedule(100)[1], 0.8)
        self.assertAllClose(schedule(1000)[1], 0.8)
        self.assertEqual(
            [schedule(s)[0] for s in (0, 5, 10, 100, 110)], [True, False, True, True, False]
        )

    def test_constant_closed_form_and_no_end(self):
        schedule = ConstantSparsity(0.75, begin_step=40, frequency=20)
        self.assertEqual(schedule.end_step, -1)
        pruned = [step for step in range(1001) if schedule(step)[0]]
        self.assertEqual(pruned, list(range(40, 1001, 20)))
        self.assertEqual({schedule(step)[1] for step in range(0, 1001, 7)}, {0.75})

    def test_begin_equals_end_reaches_the_final_sparsity(self):
        schedule = PolynomialDecay(0.1, 0.7, begin_step=5, end_step=5, frequency=1)
        self.assertEqual(schedule(5), (True, schedule(5)[1]))
        self.assertAllClose(schedule(5)[1], 0.7)
        self.assertEqual(schedule(6)[0], False)

    def test_tensor_steps(self):
        schedule = PolynomialDecay(0.0, 0.8, begin_step=0, end_step=100, frequency=10)
        should_prune, sparsity = schedule(keras.ops.convert_to_tensor(50, "int32"))
        self.assertTrue(bool(keras.ops.convert_to_numpy(should_prune)))
        self.assertAllClose(keras.ops.convert_to_numpy(sparsity), 0.7)

    def test_numpy_integer_steps(self):
        schedule = PolynomialDecay(0.0, 0.5, begin_step=0, end_step=10, frequency=2)
        self.assertEqual(schedule(np.int64(4)), schedule(4))

    @rejects_bad_input(ConstantSparsity, PolynomialDecay)
    def test_bad_sparsities(self):
        for value in (1.0, -0.1, 1.5):
            with self.assertRaisesRegex(
                ValueError, rf"argument `target_sparsity`.*Received: target_sparsity={value}"
            ):
                ConstantSparsity(value, begin_step=0)
            with self.assertRaisesRegex(ValueError, r"argument `initial_sparsity`"):
                PolynomialDecay(value, 0.5, begin_step=0, end_step=10)
            with self.assertRaisesRegex(ValueError, r"argument `final_sparsity`"):
                PolynomialDecay(0.0, value, begin_step=0, end_step=10)
            # tfmot rejects the same values.
            with self.assertRaises(ValueError):
                tfmot_sparsity.ConstantSparsity(value, begin_step=0)
        with self.assertRaisesRegex(TypeError, r"argument `target_sparsity`"):
            ConstantSparsity("0.5", begin_step=0)
        with self.assertRaisesRegex(ValueError, r"argument `target_sparsity`"):
            ConstantSparsity(float("nan"), begin_step=0)

    @rejects_bad_input(ConstantSparsity, PolynomialDecay)
    def test_bad_steps(self):
        bad_value_configs = [
            (dict(begin_step=10, end_step=5), "end_step"),
            (dict(begin_step=-1), "begin_step"),
            (dict(begin_step=0, end_step=-2), "end_step"),
            (dict(begin_step=0, frequency=0), "frequency"),
            (dict(begin_step=0, frequency=-3), "frequency"),
        ]
        for config, name in bad_value_configs:
            with self.subTest(**config):
                with self.assertRaisesRegex(ValueError, rf"argument `{name}`"):
                    ConstantSparsity(0.5, **config)
                with self.assertRaises(ValueError):  # tfmot agrees
                    tfmot_sparsity.ConstantSparsity(0.5, **config)
        with self.assertRaisesRegex(ValueError, r"argument `end_step`.*Received: end_step=-1"):
            PolynomialDecay(0.0, 0.5, begin_step=0, end_step=-1)
        with self.assertRaises(ValueError):
            tfmot_sparsity.PolynomialDecay(0.0, 0.5, begin_step=0, end_step=-1)
        with self.assertRaisesRegex(ValueError, r"argument `end_step`"):
            PolynomialDecay(0.0, 0.5, begin_step=20, end_step=10)
        with self.assertRaisesRegex(ValueError, r"argument `power`"):
            PolynomialDecay(0.0, 0.5, begin_step=0, end_step=10, power=0)
        # A falling target cannot be followed: pruned weights never grow back (tfmot accepts it).
        with self.assertRaisesRegex(
            ValueError, r"argument `final_sparsity`.*>= initial_sparsity=0.9.*final_sparsity=0.1"
        ):
            PolynomialDecay(0.9, 0.1, begin_step=0, end_step=10)

    @rejects_bad_input(ConstantSparsity, PolynomialDecay)
    def test_non_integer_steps(self):
        for config, name in [
            (dict(begin_step=1.5), "begin_step"),
            (dict(begin_step=0, end_step="10"), "end_step"),
            (dict(begin_step=0, frequency=2.0), "frequency"),
            (dict(begin_step=True), "begin_step"),
        ]:
            with self.subTest(name=name):
                with self.assertRaisesRegex(TypeError, rf"argument `{name}`.*an integer"):
                    ConstantSparsity(0.5, **config)
        with self.assertRaisesRegex(TypeError, r"argument `end_step`"):
            PolynomialDecay(0.0, 0.5, begin_step=0, end_step=10.0)
        with self.assertRaisesRegex(TypeError, r"argument `power`"):
            PolynomialDecay(0.0, 0.5, begin_step=0, end_step=10, power="3")

    def test_config_round_trip(self):
        for schedule in (
            ConstantSparsity(0.6, begin_step=3, end_step=90, frequency=9),
            ConstantSparsity(0.5, begin_step=0),
            PolynomialDecay(0.1, 0.7, begin_step=5, end_step=95, power=2, frequency=5),
        ):
            with self.subTest(type(schedule).__name__):
                clone = assert_config_round_trip(self, schedule)
                self.assertEqual([clone(s) for s in range(120)], [schedule(s) for s in range(120)])

    def test_custom_schedule_subclass(self):
        class Step(PruningSchedule):
            def __init__(self):
                super().__init__(begin_step=0, end_step=20, frequency=5, allow_no_end=False)

            def sparsity_at(self, step):
                return 0.25 if step < 10 else 0.5

            def get_config(self):
                return {}

        schedule = Step()
        self.assertEqual(schedule(5), (True, 0.25))
        self.assertEqual(schedule(12), (False, 0.5))
        self.assertEqual(schedule(25), (False, 0.5))
        with self.assertRaises(NotImplementedError):
            PruningSchedule(0, 10, 1, allow_no_end=True)(3)
