"""AverageModelCheckpoint beyond TFA's cases: what is saved, what the model keeps."""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.callbacks import AverageModelCheckpoint
from tfx_ext.optimizers import SWA


def values(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


class AverageModelCheckpointTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x = np.random.default_rng(0).standard_normal((32, 3)).astype("float32")
        self.y = self.x @ np.array([[1.0], [-2.0], [0.5]], "float32")

    def train(self, update_weights):
        optimizer = SWA(keras.optimizers.SGD(0.05), start_averaging=1, average_period=2)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=optimizer, loss="mse", run_eagerly=True)
        tmp = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__("shutil").rmtree(tmp, ignore_errors=True))
        path = os.path.join(tmp, "avg.keras")
        # Captures the model's own weights and the averages at the end of the epoch.
        seen = {}

        def record(epoch, logs):
            seen["own"] = values(model.trainable_variables)
            seen["average"] = values(optimizer._averages)

        # LambdaCallback runs before the checkpoint (callback order).
        model.fit(
            self.x,
            self.y,
            batch_size=4,
            epochs=1,
            verbose=0,
            callbacks=[
                keras.callbacks.LambdaCallback(on_epoch_end=record),
                AverageModelCheckpoint(update_weights=update_weights, filepath=path),
            ],
        )
        saved = keras.models.load_model(path)
        return model, saved, seen

    def test_update_weights_false_saves_averages_and_keeps_own_weights(self):
        model, saved, seen = self.train(update_weights=False)
        for a, b in zip(values(saved.trainable_variables), seen["average"]):
            self.assertAllEqual(a, b)
        for a, b in zip(values(model.trainable_variables), seen["own"]):
            self.assertAllEqual(a, b)
        self.assertNotAllClose(seen["own"][0], seen["average"][0])

    def test_update_weights_true_assigns_the_averages(self):
        model, saved, seen = self.train(update_weights=True)
        for a, b, c in zip(
            values(model.trainable_variables), values(saved.trainable_variables), seen["average"]
        ):
            self.assertAllEqual(a, c)
            self.assertAllEqual(b, c)

    def test_config(self):
        callback = AverageModelCheckpoint(
            True, "model.keras", monitor="val_acc", mode="max", save_best_only=True
        )
        clone = AverageModelCheckpoint(**callback.get_config())
        self.assertEqual(clone.get_config(), callback.get_config())

    @rejects_bad_input(AverageModelCheckpoint)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, r"`update_weights`.*a bool.*update_weights='yes'"):
            AverageModelCheckpoint("yes", "model.keras")
        with self.assertRaisesRegex(ValueError, r"must end in `\.keras`"):
            AverageModelCheckpoint(True, "model.txt")
