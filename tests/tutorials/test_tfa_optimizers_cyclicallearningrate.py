"""Replay of TFA's tutorial `optimizers_cyclicallearningrate.ipynb` with `import tfx_ext as tfa`.

Fashion-MNIST (a download) is replaced by scikit-learn's 8x8 digits (pixels
0..16, so `Rescaling(1/16)` instead of `1/255`), the two 5x5 convolutions by
3x3 ones with "same" padding (an 8x8 image is too small for two 5x5 valid
convolutions), and 10 epochs by 3. `layers.experimental.preprocessing.Rescaling`
is `layers.Rescaling` in Keras 3, and the initial model is saved as
`initial_model.keras` (Keras 3 saves no SavedModel directory through
`model.save`): both are Keras 3 changes, not ours.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from sklearn.datasets import load_digits

import tfx_ext as tfa

BATCH_SIZE = 64
EPOCHS = 3
INIT_LR = 1e-4
MAX_LR = 1e-2


def tutorial_formula(step, step_size, scale_fn):
    """The CLR policy as the tutorial (and Smith, 2017) states it, in NumPy."""
    cycle = np.floor(1 + step / (2 * step_size))
    x = np.abs(step / step_size - 2 * cycle + 1)
    return INIT_LR + (MAX_LR - INIT_LR) * np.maximum(0, 1 - x) * scale_fn(cycle)


def get_training_model():
    return keras.Sequential(
        [
            layers.InputLayer((8, 8, 1)),
            layers.Rescaling(scale=1.0 / 16),
            layers.Conv2D(16, (3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.SpatialDropout2D(0.2),
            layers.GlobalAvgPool2D(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


class CyclicalLearningRateTutorialTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(42)
        digits = load_digits()
        x = np.expand_dims(digits.images.astype("float32"), -1)
        self.x_train, self.y_train = x[:1400], digits.target[:1400]
        self.x_test, self.y_test = x[1400:], digits.target[1400:]

    def train_model(self, model, optimizer):
        model.compile(
            loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"]
        )
        return model.fit(
            self.x_train,
            self.y_train,
            batch_size=BATCH_SIZE,
            validation_data=(self.x_test, self.y_test),
            epochs=EPOCHS,
            verbose=0,
        )

    def test_tutorial(self):
        steps_per_epoch = len(self.x_train) // BATCH_SIZE

        def scale_fn(x):
            return 1 / (2.0 ** (x - 1))

        clr = tfa.optimizers.CyclicalLearningRate(
            initial_learning_rate=INIT_LR,
            maximal_learning_rate=MAX_LR,
            scale_fn=scale_fn,
            step_size=2 * steps_per_epoch,
        )
        self.assertIs(tfa.optimizers.CyclicalLearningRate, tfa.schedules.CyclicalLearningRate)
        optimizer = keras.optimizers.SGD(clr)

        # The tutorial's two plots: the schedule over 10 and over 100 epochs.
        for epochs in (10, 100):
            step = np.arange(0, epochs * steps_per_epoch)
            lr = keras.ops.convert_to_numpy(clr(step))
            expected = tutorial_formula(step, 2 * steps_per_epoch, scale_fn)
            self.assertAllClose(lr, expected, rtol=1e-5, atol=1e-9)
        # What the plots show: starts at INIT_LR, peaks at MAX_LR after step_size steps,
        # and each cycle's peak is half the previous one ("triangular2").
        step_size = 2 * steps_per_epoch
        peaks = keras.ops.convert_to_numpy(clr(np.array([step_size, 3 * step_size, 5 * step_size])))
        self.assertAllClose(
            peaks - INIT_LR, (MAX_LR - INIT_LR) * np.array([1.0, 0.5, 0.25]), rtol=1e-5
        )
        self.assertAllClose(clr(0), INIT_LR)

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "initial_model.keras")
            get_training_model().save(path)
            standard_model = keras.models.load_model(path)
            no_clr_history = self.train_model(standard_model, optimizer="sgd")
            clr_model = keras.models.load_model(path)
            clr_history = self.train_model(clr_model, optimizer=optimizer)

        # The optimizer followed the schedule: its rate now is clr(iterations).
        iterations = int(keras.ops.convert_to_numpy(optimizer.iterations))
        self.assertEqual(iterations, EPOCHS * int(np.ceil(len(self.x_train) / BATCH_SIZE)))
        self.assertAllClose(
            optimizer.learning_rate, tutorial_formula(iterations, step_size, scale_fn), rtol=1e-5
        )
        for history in (no_clr_history, clr_history):
            self.assertEqual(len(history.history["loss"]), EPOCHS)
            self.assertTrue(np.all(np.isfinite(history.history["val_loss"])))
        # CLR's rate stays below SGD's default 0.01 here, and it still trains.
        self.assertLess(clr_history.history["loss"][-1], clr_history.history["loss"][0])
