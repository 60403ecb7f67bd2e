"""Every tfx_ext optimizer, schedule and callback keeps every constructor
argument through its config (see tests/losses/config_completeness)."""

import keras
import numpy as np
import tensorflow as tf

from tests.losses.config_completeness import assert_config_keeps_every_argument, assert_table_covers
from tfx_ext import callbacks, optimizers, schedules


@keras.saving.register_keras_serializable(package="tfx_ext_tests")
def halve_each_cycle(x):
    return 0.5**x


def _train_steps(optimizer, steps=4):
    """Values of one variable after `steps` updates with fixed gradients."""
    variable = keras.Variable(np.array([1.0, -2.0, 0.5], "float32"))
    gradients = np.random.default_rng(0).standard_normal((steps, 3)).astype("float32")
    for g in gradients:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
    return keras.ops.convert_to_tensor(variable)


def _schedule_values(schedule):
    return keras.ops.stack([schedule(step) for step in range(0, 40, 3)])


class OptimizerConfigCompletenessTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_every_class_is_covered(self):
        # TFA's path for the cyclical schedules: the same classes as in tfx_ext.schedules.
        aliases = [name for name in optimizers.__all__ if name.endswith("CyclicalLearningRate")]
        for name in aliases:
            self.assertIs(getattr(optimizers, name), getattr(schedules, name))
        # Bases, not optimizers: SWA and MovingAverage are the cases of the
        # first, SGDW and AdamW of the second.
        bases = ["AveragedOptimizerWrapper", "DecoupledWeightDecayExtension"]
        assert_table_covers(self, optimizers, self.optimizer_cases(), also_exempt=aliases + bases)
        assert_table_covers(self, schedules, self.schedule_cases())
        assert_table_covers(self, callbacks, self.callback_cases())

    def optimizer_cases(self):
        return {
            "RectifiedAdam": dict(
                learning_rate=0.02,
                beta_1=0.8,
                beta_2=0.99,
                epsilon=1e-5,
                weight_decay=0.01,
                amsgrad=True,
                sma_threshold=3.0,
                total_steps=10,
                warmup_proportion=0.2,
                min_lr=1e-4,
                name="radam",
            ),
            "Yogi": dict(
                learning_rate=0.05,
                beta1=0.8,
                beta2=0.99,
                epsilon=1e-4,
                l1_regularization_strength=0.01,
                l2_regularization_strength=0.02,
                initial_accumulator_value=1e-3,
                activation="tanh",
                name="yogi",
            ),
            "Lookahead": dict(
                optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
                sync_period=2,
                slow_step_size=0.3,
                name="la",
            ),
            "SWA": dict(
                optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
                start_averaging=1,
                average_period=2,
                name="swa",
            ),
            "LazyAdam": dict(learning_rate=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-5, name="la"),
            "AdaBelief": dict(
                learning_rate=0.02,
                beta_1=0.8,
                beta_2=0.99,
                epsilon=1e-10,
                weight_decay=0.01,
                amsgrad=True,
                rectify=False,
                sma_threshold=3.0,
                total_steps=10,
                warmup_proportion=0.2,
                min_lr=1e-4,
                name="ab",
            ),
            "NovoGrad": dict(
                learning_rate=0.02,
                beta_1=0.8,
                beta_2=0.99,
                epsilon=1e-5,
                weight_decay=0.01,
                grad_averaging=True,
                amsgrad=True,
                name="ng",
            ),
            "COCOB": dict(alpha=20.0, use_locking=True, name="cocob"),
            "ConditionalGradient": dict(
                learning_rate=0.7, lambda_=0.2, epsilon=1e-5, ord="nuclear", name="cg"
            ),
            "ProximalAdagrad": dict(
                learning_rate=0.05,
                initial_accumulator_value=0.2,
                l1_regularization_strength=0.01,
                l2_regularization_strength=0.02,
                name="pa",
            ),
            "SGDW": dict(
                weight_decay=0.01, learning_rate=0.05, momentum=0.5, nesterov=True, name="sgdw"
            ),
            "AdamW": dict(
                weight_decay=0.01,
                learning_rate=0.02,
                beta_1=0.8,
                beta_2=0.99,
                epsilon=1e-5,
                amsgrad=True,
                name="adamw",
            ),
            "MovingAverage": dict(
                optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
                average_decay=0.5,
                num_updates=3,
                start_step=1,
                dynamic_decay=True,
                name="ma",
            ),
        }

    def schedule_cases(self):
        bounds = dict(initial_learning_rate=1e-3, maximal_learning_rate=1e-2, step_size=5)
        return {
            "CyclicalLearningRate": dict(
                **bounds, scale_fn=halve_each_cycle, scale_mode="iterations", name="clr"
            ),
            "TriangularCyclicalLearningRate": dict(**bounds, scale_mode="iterations", name="tri"),
            "Triangular2CyclicalLearningRate": dict(**bounds, scale_mode="iterations", name="tri2"),
            "ExponentialCyclicalLearningRate": dict(
                **bounds, scale_mode="cycle", gamma=0.9, name="exp"
            ),
            "OneCycle": dict(
                total_steps=40,
                max_rate=0.1,
                start_rate=0.02,
                last_rate=0.001,
                annealing_steps=10,
                name="oc",
            ),
        }

    def callback_cases(self):
        return {
            "TimeStopping": dict(seconds=3, verbose=1),
            "TQDMProgressBar": dict(
                metrics_separator=" | ",
                overall_bar_format="{l_bar}{bar}",
                epoch_bar_format="{n_fmt}{bar}",
                metrics_format="{name}={value:0.2f}",
                update_per_second=4,
                leave_epoch_progress=False,
                leave_overall_progress=False,
                show_epoch_progress=False,
                show_overall_progress=False,
            ),
            "LearningRateFinder": dict(
                min_rate=1e-4,
                max_rate=0.5,
                num_steps=20,
                stop_factor=3.0,
                smoothing=0.5,
                restore=False,
            ),
            "AverageModelCheckpoint": dict(
                update_weights=True,
                filepath="/tmp/never_written.weights.h5",
                monitor="loss",
                verbose=1,
                save_best_only=True,
                save_weights_only=True,
                mode="min",
                save_freq=3,
                initial_value_threshold=2.0,
            ),
        }

    def test_every_optimizer_keeps_every_argument(self):
        for name, kwargs in self.optimizer_cases().items():
            with self.subTest(optimizer=name):
                optimizer = getattr(optimizers, name)
                assert_config_keeps_every_argument(self, optimizer, kwargs, compute=_train_steps)

    def test_every_schedule_keeps_every_argument(self):
        for name, kwargs in self.schedule_cases().items():
            with self.subTest(schedule=name):
                assert_config_keeps_every_argument(
                    self, getattr(schedules, name), kwargs, compute=_schedule_values
                )

    def test_every_callback_keeps_every_argument(self):
        for name, kwargs in self.callback_cases().items():
            with self.subTest(callback=name):
                clone = assert_config_keeps_every_argument(self, getattr(callbacks, name), kwargs)
                for argument, value in kwargs.items():
                    self.assertEqual(getattr(clone, argument), value, argument)
