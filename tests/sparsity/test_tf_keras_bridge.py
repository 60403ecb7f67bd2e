import gzip

import keras
import numpy as np
import tensorflow as tf
import tf_keras
from tensorflow_model_optimization.python.core.sparsity.keras import (
    pruning_wrapper as tfmot_wrapper,
)
from tensorflow_model_optimization.sparsity import keras as tfmot_sparsity

from tests.datasets import digits
from tests.sparsity.models import BATCH_SIZE, expected_zeros, steps_per_epoch
from tfx_ext.sparsity import (
    ConstantSparsity,
    PolynomialDecay,
    PruningSchedule,
    PruningSummaries,
    UpdatePruningStep,
    is_tf_keras,
    prune_low_magnitude,
    sparsity_report,
    strip_pruning,
)


def tf_keras_mlp():
    return tf_keras.Sequential(
        [
            tf_keras.Input((64,)),
            tf_keras.layers.Dense(64, activation="relu", name="hidden1"),
            tf_keras.layers.Dense(32, activation="relu", name="hidden2"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )


def compile_tf_keras(model):
    model.compile(
        optimizer=tf_keras.optimizers.Adam(1e-3),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


class TfKerasBridgeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        tf_keras.utils.set_random_seed(0)
        self.x_train, self.y_train, self.x_test, self.y_test = digits()

    def test_is_tf_keras(self):
        self.assertTrue(is_tf_keras(tf_keras_mlp()))
        self.assertTrue(is_tf_keras(tf_keras.layers.Dense(2)))
        self.assertFalse(is_tf_keras(keras.layers.Dense(2)))
        self.assertFalse(is_tf_keras(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])))

    def test_prune_train_strip_report(self):
        end_step = 100
        self.assertGreater(4 * steps_per_epoch(), end_step)
        schedule = PolynomialDecay(0.0, 0.8, begin_step=0, end_step=end_step, frequency=10)
        model = tf_keras_mlp()
        pruned = prune_low_magnitude(model, schedule)
        self.assertEqual([type(l) for l in pruned.layers], [tfmot_wrapper.PruneLowMagnitude] * 3)
        for layer in pruned.layers:
            self.assertIsInstance(layer.pruning_schedule, tfmot_sparsity.PolynomialDecay)
            for step in (0, 10, 55, 100, 150):
                should_prune, sparsity = layer.pruning_schedule(tf.constant(step, tf.int64))
                self.assertEqual(bool(should_prune), schedule(step)[0])
                self.assertAllClose(float(sparsity), schedule(step)[1], atol=1e-6)
        self.assertAllClose(
            pruned.predict(self.x_test, verbose=0), model.predict(self.x_test, verbose=0), atol=1e-6
        )

        compile_tf_keras(pruned).fit(
            self.x_train,
            self.y_train,
            epochs=4,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )

        with self.assertRaisesRegex(ValueError, r"strip_pruning"):
            sparsity_report(pruned)

        stripped = strip_pruning(pruned)
        self.assertEqual([type(l) for l in stripped.layers], [tf_keras.layers.Dense] * 3)
        self.assertAllClose(
            stripped.predict(self.x_test, verbose=0),
            pruned.predict(self.x_test, verbose=0),
            atol=1e-6,
        )

        report = sparsity_report(stripped)
        self.assertEqual([l.name for l in report.layers], ["hidden1", "hidden2", "logits"])
        for entry, layer in zip(report.layers, stripped.layers):
            kernel = layer.kernel.numpy()
            self.assertEqual(entry.parameters, kernel.size)
            self.assertEqual(entry.zeros, int((kernel == 0).sum()))
            # tfmot reached the target through our callback.
            self.assertLessEqual(abs(entry.zeros - 0.8 * kernel.size), 1, msg=entry.name)
        weights = stripped.get_weights()
        self.assertEqual(report.total_parameters, stripped.count_params())
        self.assertEqual(report.raw_bytes, sum(w.nbytes for w in weights))
        self.assertEqual(
            report.gzip_bytes,
            len(gzip.compress(b"".join(w.tobytes() for w in weights), compresslevel=9)),
        )
        self.assertGreater(report.compression_ratio, 2.0)

    def test_constant_sparsity_and_m_by_n_mean_the_same_on_both_stacks(self):
        # (1, 4) as tfmot means it: one zero in every 4 input weights, for Keras 3 and tf_keras alike.
        x, y = self.x_train[:256], self.y_train[:256]
        tf_model = prune_low_magnitude(
            tf_keras_mlp(),
            ConstantSparsity(0.5, begin_step=0, frequency=10),
            sparsity_m_by_n=(1, 4),
        )
        compile_tf_keras(tf_model).fit(
            x, y, epochs=1, batch_size=BATCH_SIZE, verbose=0, callbacks=[UpdatePruningStep()]
        )
        k3_model = prune_low_magnitude(
            keras.Sequential(
                [
                    keras.Input((64,)),
                    keras.layers.Dense(64),
                    keras.layers.Dense(32),
                    keras.layers.Dense(8),
                ]
            ),
            ConstantSparsity(0.5, begin_step=0, frequency=10),
            sparsity_m_by_n=(1, 4),
        )
        k3_model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        k3_model.fit(
            x, y % 8, epochs=1, batch_size=BATCH_SIZE, verbose=0, callbacks=[UpdatePruningStep()]
        )
        tf_kernels = [l.kernel.numpy() for l in strip_pruning(tf_model).layers]
        k3_kernels = [keras.ops.convert_to_numpy(l.kernel) for l in strip_pruning(k3_model).layers]
        for kernel in tf_kernels + k3_kernels:
            groups = kernel.T.reshape(-1, 4)  # runs of 4 input weights of each unit
            self.assertTrue(np.all((groups == 0).sum(axis=1) >= 1))
            self.assertTrue(np.all(np.sort(np.abs(groups), axis=1)[:, 0] == 0))

    def test_constant_sparsity_schedule(self):
        pruned = prune_low_magnitude(
            tf_keras_mlp(), ConstantSparsity(0.6, begin_step=5, end_step=60, frequency=5)
        )
        for layer in pruned.layers:
            self.assertIsInstance(layer.pruning_schedule, tfmot_sparsity.ConstantSparsity)
            self.assertEqual(layer.pruning_schedule.target_sparsity, 0.6)
            self.assertEqual(layer.pruning_schedule.end_step, 60)
        compile_tf_keras(pruned).fit(
            self.x_train,
            self.y_train,
            epochs=2,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        for layer in strip_pruning(pruned).layers:
            kernel = layer.kernel.numpy()
            self.assertLessEqual(
                abs(int((kernel == 0).sum()) - expected_zeros(kernel.size, 0.6)), 1
            )

    def test_unsupported_schedule(self):
        class Custom(PruningSchedule):
            def __init__(self):
                super().__init__(0, 10, 1, allow_no_end=False)

            def sparsity_at(self, step):
                return 0.5

            def get_config(self):
                return {}

        with self.assertRaisesRegex(TypeError, r"argument `pruning_schedule`.*tf_keras"):
            prune_low_magnitude(tf_keras_mlp(), Custom())

    def test_original_tf_keras_model_is_left_untouched(self):
        model = tf_keras_mlp()
        before = [w.copy() for w in model.get_weights()]
        pruned = prune_low_magnitude(model, ConstantSparsity(0.5, begin_step=0, frequency=1))
        compile_tf_keras(pruned)
        x, y = digits()[0][:64], digits()[1][:64]
        pruned.fit(
            x, y, epochs=1, batch_size=BATCH_SIZE, verbose=0, callbacks=[UpdatePruningStep()]
        )
        self.assertNotIsInstance(model.layers[0], tfmot_wrapper.PruneLowMagnitude)
        for original, now in zip(before, model.get_weights()):
            self.assertAllEqual(original, now)

    def test_pruning_summaries_runs_tfmots_for_tf_keras(self):
        # Once a TypeError pointing to tfmot; now tfmot's callback runs (its
        # scalars are checked in tests/sparsity/test_callback_calling_forms.py).
        pruned = prune_low_magnitude(tf_keras_mlp(), ConstantSparsity(0.5, begin_step=0))
        compile_tf_keras(pruned)
        x, y = digits()[0][:32], digits()[1][:32]
        log_dir = self.get_temp_dir() + "/bridge_summaries"
        pruned.fit(
            x, y, epochs=1, verbose=0, callbacks=[UpdatePruningStep(), PruningSummaries(log_dir)]
        )
        # tfmot's layout: its pruning scalars under <log_dir>/metrics.
        self.assertNotEmpty(tf.io.gfile.glob(log_dir + "/metrics/events.out.tfevents.*"))
