"""TFA's tutorials `optimizers_lazyadam.ipynb` and `optimizers_conditionalgradient.ipynb`
with `import tfx_ext as tfa`: both optimizers run as the tutorials write them, and the
Keras-only replacements the README also names are checked on the tutorials' model.

MNIST (a download) is replaced by scikit-learn's 8x8 digits (64 inputs
instead of 784); 10 epochs as the tutorials.
"""

import keras
import numpy as np
import tensorflow as tf

import tfx_ext as tfa
from tests.datasets import digits

batch_size = 64
epochs = 10


def tutorial_model(**dense_kwargs):
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu", name="dense_1", **dense_kwargs),
            keras.layers.Dense(64, activation="relu", name="dense_2", **dense_kwargs),
            keras.layers.Dense(10, activation="softmax", name="predictions", **dense_kwargs),
        ]
    )


class MissingOptimizersTutorialTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x_train, self.y_train, self.x_test, self.y_test = digits()

    def test_lazyadam_tutorial_as_written(self):
        model = tutorial_model()
        model.compile(
            optimizer=tfa.optimizers.LazyAdam(0.001),  # the tutorial's line
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
        model.fit(self.x_train, self.y_train, batch_size=batch_size, epochs=epochs, verbose=0)
        loss, accuracy = model.evaluate(self.x_test, self.y_test, batch_size=128, verbose=0)
        self.assertGreater(accuracy, 0.93)

    def test_conditional_gradient_tutorial_as_written(self):
        """Frank-Wolfe keeps each weight inside the ball of radius `lambda_` (Frobenius norm)."""
        model = tutorial_model()
        model.compile(
            optimizer=tfa.optimizers.ConditionalGradient(learning_rate=0.99949, lambda_=203),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
        history = model.fit(self.x_train, self.y_train, batch_size=batch_size, epochs=2, verbose=0)
        self.assertTrue(np.all(np.isfinite(history.history["loss"])))
        for weight in model.trainable_weights:
            self.assertLessEqual(float(np.linalg.norm(np.asarray(weight))), 203 * (1 + 1e-5))

    def test_lazyadam_tutorial_with_keras_adam(self):
        model = tutorial_model()
        model.compile(
            optimizer=keras.optimizers.Adam(0.001),  # for tfa.optimizers.LazyAdam(0.001)
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
        model.fit(self.x_train, self.y_train, batch_size=batch_size, epochs=epochs, verbose=0)
        loss, accuracy = model.evaluate(self.x_test, self.y_test, batch_size=128, verbose=0)
        self.assertGreater(accuracy, 0.93)

    def test_keras_adam_is_not_lazy_on_sparse_gradients(self):
        """Dense gradients (the tutorial's model): LazyAdam and Adam are the same rule.
        Sparse ones (an Embedding): Keras Adam keeps moving rows the batch did not touch."""
        embedding = keras.layers.Embedding(4, 2)
        embedding.build((None,))
        optimizer = keras.optimizers.Adam(0.1)
        for rows in ([0, 1], [2]):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(embedding(np.array(rows)))
            (gradient,) = tape.gradient(loss, embedding.trainable_variables)
            self.assertIsInstance(gradient, tf.IndexedSlices)
            before = embedding.embeddings.numpy().copy()
            optimizer.apply_gradients([(gradient, embedding.embeddings)])
        after = embedding.embeddings.numpy()
        self.assertNotAllClose(after[0], before[0])  # row 0 moved on its momentum (LazyAdam: still)
        self.assertAllClose(after[3], before[3])  # never touched: zero momentum, no move

    def test_conditional_gradient_tutorial_with_a_norm_constraint(self):
        """No Frank-Wolfe optimizer in Keras 3: the tutorial's goal (weights kept in a
        norm ball while SGD trains) with `keras.constraints.MaxNorm`, a projection."""

        def frobenius_norm(m):
            return sum(float(tf.reduce_sum(w**2)) for w in m) ** 0.5

        model = tutorial_model(kernel_constraint=keras.constraints.MaxNorm(1.0))
        norms = []
        callback = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda batch, logs: norms.append(frobenius_norm(model.trainable_weights))
        )
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),  # for ConditionalGradient(0.99949, lambda_=203)
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
        history = model.fit(
            self.x_train,
            self.y_train,
            batch_size=batch_size,
            validation_data=(self.x_test, self.y_test),
            epochs=epochs,
            callbacks=[callback],
            verbose=0,
        )
        self.assertLen(norms, epochs)
        for layer in model.layers:
            column_norms = np.linalg.norm(layer.kernel.numpy(), axis=0)
            self.assertTrue(np.all(column_norms <= 1.0 + 1e-5))
        self.assertGreater(history.history["val_accuracy"][-1], 0.85)
