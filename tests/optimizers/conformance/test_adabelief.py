"""TFA's `optimizers/tests/adabelief_test.py`, ported: same inputs, expected values, tolerances."""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.optimizers.conformance.samples import run_dense_sample, run_sparse_sample
from tfx_ext.optimizers import AdaBelief, Lookahead

ATOL = 2e-4  # TFA's tolerance for every trajectory of this file


class AdaBeliefConformanceTest(tf.test.TestCase):
    def assert_trajectory(self, actual, expected):
        for a, e in zip(actual, expected):
            np.testing.assert_allclose(a, e, atol=ATOL)

    def dense(self, iterations, expected, optimizer):
        self.assert_trajectory(run_dense_sample(optimizer, iterations), expected)

    def sparse(self, iterations, expected, optimizer):
        self.assert_trajectory(run_sparse_sample(optimizer, iterations), expected)

    def test_dense_sample(self):
        self.dense(
            100,
            [[0.66723955, 1.6672393], [2.6672382, 3.6672382]],
            AdaBelief(lr=1e-3, rectify=False),
        )

    def test_sparse_sample(self):
        self.sparse(200, [[0.0538936, 2.0], [3.0, 3.0538926]], AdaBelief(lr=1e-3, rectify=False))

    def test_dense_sample_with_amsgrad(self):
        self.dense(
            100,
            [[0.67249274, 1.6724932], [2.6724923, 3.6724923]],
            AdaBelief(lr=1e-3, amsgrad=True, rectify=False),
        )

    def test_sparse_sample_with_amsgrad(self):
        self.sparse(
            200,
            [[0.09575394, 2.0], [3.0, 3.0957537]],
            AdaBelief(lr=1e-3, amsgrad=True, rectify=False),
        )

    def test_dense_sample_with_weight_decay(self):
        self.dense(
            100,
            [[0.66637343, 1.6653734], [2.6643748, 3.6633751]],
            AdaBelief(lr=1e-3, weight_decay=0.01, rectify=False),
        )

    def test_sparse_sample_with_weight_decay(self):
        self.sparse(
            200,
            [[0.05264655, 2.0], [3.0, 3.0466535]],
            AdaBelief(lr=1e-3, weight_decay=0.01, rectify=False),
        )

    def test_dense_sample_with_warmup(self):
        self.dense(
            100,
            [[0.85635465, 1.8563547], [2.8563545, 3.8563545]],
            AdaBelief(lr=1e-3, total_steps=100, warmup_proportion=0.1, min_lr=1e-5, rectify=False),
        )

    def test_sparse_sample_with_warmup(self):
        self.sparse(
            200,
            [[0.8502214, 2.0], [3.0, 3.85022]],
            AdaBelief(lr=1e-3, total_steps=100, warmup_proportion=0.1, min_lr=1e-5, rectify=False),
        )

    def test_dense_sample_with_rectify(self):
        # TFA's "dense" rectify case runs the sparse sample (kept as written).
        self.sparse(200, [[0.7836679, 2.0], [3.0, 3.7839665]], AdaBelief(lr=1e-3, rectify=True))

    def test_sparse_sample_with_rectify(self):
        self.sparse(200, [[0.7836679, 2.0], [3.0, 3.7839665]], AdaBelief(lr=1e-3, rectify=True))

    def test_dense_sample_with_lookahead(self):
        self.dense(
            100,
            [[0.88910455, 1.889104], [2.8891046, 3.8891046]],
            Lookahead(
                AdaBelief(lr=1e-3, beta_1=0.95, rectify=False), sync_period=6, slow_step_size=0.45
            ),
        )

    def test_sparse_sample_with_lookahead(self):
        self.sparse(
            150,
            [[0.8114481, 2.0], [3.0, 3.8114486]],
            Lookahead(
                AdaBelief(lr=1e-3, beta_1=0.95, rectify=False), sync_period=6, slow_step_size=0.45
            ),
        )

    def test_get_config(self):
        config = AdaBelief(lr=1e-4).get_config()
        self.assertAllClose(config["learning_rate"], 1e-4)
        self.assertEqual(config["total_steps"], 0)

    def test_serialization(self):
        optimizer = AdaBelief(
            lr=1e-3, total_steps=10000, warmup_proportion=0.1, min_lr=1e-5, rectify=False
        )
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())

    def test_schedulers(self):
        lr_scheduler = keras.optimizers.schedules.ExponentialDecay(1e-3, 50, 0.5)
        wd_scheduler = keras.optimizers.schedules.InverseTimeDecay(2e-3, 25, 0.25)
        self.dense(
            100,
            [[0.84216374, 1.8420818], [2.8420012, 3.841918]],
            AdaBelief(learning_rate=lr_scheduler, weight_decay=wd_scheduler, rectify=False),
        )

    def test_scheduler_serialization(self):
        lr_scheduler = keras.optimizers.schedules.ExponentialDecay(1e-3, 50, 0.5)
        wd_scheduler = keras.optimizers.schedules.InverseTimeDecay(2e-3, 25, 0.25)
        optimizer = AdaBelief(learning_rate=lr_scheduler, weight_decay=wd_scheduler, rectify=False)
        new_optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
        self.assertEqual(new_optimizer.get_config(), optimizer.get_config())
        self.assertEqual(
            new_optimizer.get_config()["learning_rate"],
            {
                "class_name": "ExponentialDecay",
                "config": lr_scheduler.get_config(),
                "module": "keras.optimizers.schedules",
                "registered_name": None,
            },
        )
        self.assertEqual(
            new_optimizer.get_config()["weight_decay"],
            {
                "class_name": "InverseTimeDecay",
                "config": wd_scheduler.get_config(),
                "module": "keras.optimizers.schedules",
                "registered_name": None,
            },
        )

    def test_checkpoint_serialization(self):
        optimizer, optimizer2 = AdaBelief(), AdaBelief()
        variables = [tf.Variable([1.0, 2.0]), tf.Variable([3.0, 4.0])]
        grads = [tf.constant([0.1, 0.2]), tf.constant([0.03, 0.04])]
        optimizer.apply_gradients(zip(grads, variables))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "adabelief_chkpt")
            tf.train.Checkpoint(optimizer=optimizer).write(path)
            optimizer2.build(variables)
            tf.train.Checkpoint(optimizer=optimizer2).read(path).assert_consumed()
        optimizer2.apply_gradients(zip(grads, variables))
        # Beyond TFA's case: the restored state is the saved one.
        self.assertEqual(int(optimizer2.iterations), 2)
