"""RectifiedAdam beyond TFA's cases (trajectories: conformance/test_rectified_adam.py)."""

import json

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.optimizers.conformance.samples import run_dense_sample
from tfx_ext.optimizers import RectifiedAdam


class RectifiedAdamTest(tf.test.TestCase):
    def test_lr_alias_warns_and_sets_the_learning_rate(self):
        with self.assertWarnsRegex(DeprecationWarning, "`lr` argument is deprecated"):
            optimizer = RectifiedAdam(lr=0.25)
        self.assertAllClose(optimizer.learning_rate, 0.25)

    def test_schedule_config_is_json(self):
        optimizer = RectifiedAdam(
            learning_rate=keras.optimizers.schedules.ExponentialDecay(1e-3, 50, 0.5),
            weight_decay=keras.optimizers.schedules.InverseTimeDecay(2e-3, 25, 0.25),
        )
        config = json.loads(json.dumps(keras.saving.serialize_keras_object(optimizer)))
        restored = keras.saving.deserialize_keras_object(config)
        self.assertIsInstance(restored.weight_decay, keras.optimizers.schedules.InverseTimeDecay)

    def test_exclude_from_weight_decay(self):
        # Excluding var_1 from decay gives the trajectory without decay for it.
        decayed = RectifiedAdam(1e-3, weight_decay=0.01)
        decayed.exclude_from_weight_decay(var_names=["excluded"])
        var_0 = keras.Variable([1.0, 2.0], name="kept")
        var_1 = keras.Variable([3.0, 4.0], name="excluded")
        grads = [keras.ops.convert_to_tensor(g) for g in ([0.1, 0.2], [0.03, 0.04])]
        for _ in range(100):
            decayed.apply_gradients(zip(grads, [var_0, var_1]))
        plain = run_dense_sample(RectifiedAdam(1e-3), 100)
        with_decay = run_dense_sample(RectifiedAdam(1e-3, weight_decay=0.01), 100)
        np.testing.assert_allclose(var_0, with_decay[0], atol=1e-6)
        np.testing.assert_allclose(var_1, plain[1], atol=1e-6)

    @rejects_bad_input(RectifiedAdam)
    def test_bad_arguments(self):
        cases = [
            (ValueError, r"`beta_1`.*\[0\.0, 1\.0\).*beta_1=1\.5", dict(beta_1=1.5)),
            (ValueError, r"`beta_2`.*beta_2=1\.0", dict(beta_2=1.0)),
            (ValueError, r"`epsilon`.*>= 0.*epsilon=-1e-07", dict(epsilon=-1e-7)),
            (
                ValueError,
                r"`weight_decay`.*LearningRateSchedule.*weight_decay=-0\.1",
                dict(weight_decay=-0.1),
            ),
            (TypeError, r"`weight_decay`.*weight_decay='l2'", dict(weight_decay="l2")),
            (TypeError, r"`amsgrad`.*a bool.*amsgrad=1", dict(amsgrad=1)),
            (TypeError, r"`sma_threshold`.*sma_threshold=None", dict(sma_threshold=None)),
            (ValueError, r"`total_steps`.*>= 0.*total_steps=-1", dict(total_steps=-1)),
            (TypeError, r"`total_steps`.*total_steps=10\.5", dict(total_steps=10.5)),
            (
                ValueError,
                r"`warmup_proportion`.*\[0\.0, 1\.0\].*=1\.5",
                dict(warmup_proportion=1.5),
            ),
            (ValueError, r"`min_lr`.*min_lr=-1", dict(min_lr=-1)),
            (ValueError, r"`learning_rate`.*learning_rate=0", dict(learning_rate=0)),
            (TypeError, r"`learning_rate`.*learning_rate=\[0\.1\]", dict(learning_rate=[0.1])),
            (ValueError, r"Only one of `clipnorm`, `clipvalue`", dict(clipnorm=1.0, clipvalue=1.0)),
            (ValueError, r"Argument\(s\) not recognized.*nesterov", dict(nesterov=True)),
        ]
        for error, message, kwargs in cases:
            with self.subTest(**{k: repr(v) for k, v in kwargs.items()}):
                with self.assertRaisesRegex(error, message):
                    RectifiedAdam(**kwargs)
