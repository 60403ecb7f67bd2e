"""TFA's `optimizers/tests/rectified_adam_test.py`, ported: same inputs, expected values, tolerances."""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.optimizers.conformance.samples import (
    requires_indexed_slices,
    run_dense_sample,
    run_sparse_sample,
)
from tfx_ext.optimizers import Lookahead, RectifiedAdam

ATOL = 2e-4  # TFA's tolerance for every trajectory of this file


class RectifiedAdamConformanceTest(tf.test.TestCase):
    def assert_trajectory(self, actual, expected):
        for a, e in zip(actual, expected):
            np.testing.assert_allclose(a, e, atol=ATOL)

    def dense(self, iterations, expected, optimizer):
        self.assert_trajectory(run_dense_sample(optimizer, iterations), expected)

    def sparse(self, iterations, expected, optimizer):
        requires_indexed_slices()
        self.assert_trajectory(run_sparse_sample(optimizer, iterations), expected)

    def test_dense_sample(self):
        self.dense(100, [[0.985769, 1.985269], [2.986119, 3.986068]], RectifiedAdam(lr=1e-3))

    def test_sparse_sample(self):
        self.sparse(200, [[0.959333, 2.0], [3.0, 3.959632]], RectifiedAdam(lr=1e-3))

    def test_dense_sample_with_amsgrad(self):
        # `amsgrad` has no effect because the gradient is fixed.
        self.dense(
            100, [[0.985769, 1.985269], [2.986119, 3.986068]], RectifiedAdam(lr=1e-3, amsgrad=True)
        )

    def test_sparse_sample_with_amsgrad(self):
        self.sparse(200, [[0.959333, 2.0], [3.0, 3.959632]], RectifiedAdam(lr=1e-3, amsgrad=True))

    def test_dense_sample_with_weight_decay(self):
        self.dense(
            100,
            [[0.984775, 1.983276], [2.983125, 3.982076]],
            RectifiedAdam(lr=1e-3, weight_decay=0.01),
        )

    def test_sparse_sample_with_weight_decay(self):
        self.sparse(
            200, [[0.957368, 2.0], [3.0, 3.951673]], RectifiedAdam(lr=1e-3, weight_decay=0.01)
        )

    def test_dense_sample_with_warmup(self):
        self.dense(
            100,
            [[0.994062, 1.993912], [2.994167, 3.994152]],
            RectifiedAdam(lr=1e-3, total_steps=100, warmup_proportion=0.1, min_lr=1e-5),
        )

    def test_sparse_sample_with_warmup(self):
        self.sparse(
            200,
            [[0.982629, 2.0], [3.0, 3.982674]],
            RectifiedAdam(lr=1e-3, total_steps=200, warmup_proportion=0.1, min_lr=1e-5),
        )

    def test_dense_sample_with_lookahead(self):
        # Expected values from the original implementation of Ranger.
        self.dense(
            100,
            [[0.993126, 1.992901], [2.993283, 3.993261]],
            Lookahead(RectifiedAdam(lr=1e-3, beta_1=0.95), sync_period=6, slow_step_size=0.45),
        )

    def test_sparse_sample_with_lookahead(self):
        self.sparse(
            150,
            [[0.988156, 2.0], [3.0, 3.988291]],
            Lookahead(RectifiedAdam(lr=1e-3, beta_1=0.95), sync_period=6, slow_step_size=0.45),
        )

    def test_get_config(self):
        config = RectifiedAdam(lr=1e-4).get_config()
        self.assertAllClose(config["learning_rate"], 1e-4)
        self.assertEqual(config["total_steps"], 0)

    def test_serialization(self):
        optimizer = RectifiedAdam(lr=1e-3, total_steps=10000, warmup_proportion=0.1, min_lr=1e-5)
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())

    def test_schedulers(self):
        lr_scheduler = keras.optimizers.schedules.ExponentialDecay(1e-3, 50, 0.5)
        wd_scheduler = keras.optimizers.schedules.InverseTimeDecay(2e-3, 25, 0.25)
        self.dense(
            100,
            [[0.993192, 1.992625], [2.993369, 3.993239]],
            RectifiedAdam(learning_rate=lr_scheduler, weight_decay=wd_scheduler),
        )

    def test_scheduler_serialization(self):
        lr_scheduler = keras.optimizers.schedules.ExponentialDecay(1e-3, 50, 0.5)
        wd_scheduler = keras.optimizers.schedules.InverseTimeDecay(2e-3, 25, 0.25)
        optimizer = RectifiedAdam(learning_rate=lr_scheduler, weight_decay=wd_scheduler)
        config = keras.optimizers.serialize(optimizer)
        new_optimizer = keras.optimizers.deserialize(config)
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
        if keras.backend.backend() != "tensorflow":
            self.skipTest("tf.train.Checkpoint is TensorFlow's")
        optimizer, optimizer2 = RectifiedAdam(), RectifiedAdam()
        variables = [tf.Variable([1.0, 2.0]), tf.Variable([3.0, 4.0])]
        grads = [tf.constant([0.1, 0.2]), tf.constant([0.03, 0.04])]
        optimizer.apply_gradients(zip(grads, variables))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "rectified_adam_chkpt")
            tf.train.Checkpoint(optimizer=optimizer).write(path)
            optimizer2.build(variables)
            tf.train.Checkpoint(optimizer=optimizer2).read(path).assert_consumed()
        optimizer2.apply_gradients(zip(grads, variables))
        # Beyond TFA's case: the restored state is the saved one.
        self.assertEqual(int(optimizer2.iterations), 2)
