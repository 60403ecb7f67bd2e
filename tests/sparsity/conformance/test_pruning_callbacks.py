"""tfmot's pruning_callbacks_test.py, ported: same inputs, same expected values.

Source: tensorflow/model-optimization,
tensorflow_model_optimization/python/core/sparsity/keras/pruning_callbacks_test.py.
"""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext.sparsity import PruningSummaries, UpdatePruningStep, prune_low_magnitude

# Passes on JAX too, but is left out of the JAX leg to keep it short: not backend_neutral.

BATCH_SIZE = 20


def simple_dense_model():
    """tfmot's keras test_utils.build_simple_dense_model."""
    return keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )


class PruneCallbacksTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x_train = np.random.rand(BATCH_SIZE, 10).astype("float32")
        self.y_train = keras.utils.to_categorical(np.random.randint(5, size=(BATCH_SIZE, 1)), 5)

    def pruned_model(self, compile_it=True):
        model = prune_low_magnitude(simple_dense_model())
        if compile_it:
            model.compile(
                loss="categorical_crossentropy",
                optimizer=keras.optimizers.SGD(),
                metrics=["accuracy"],
            )
        return model

    def test_update_pruning_steps_and_logs_summaries(self):
        log_dir = tempfile.mkdtemp()
        model = self.pruned_model()
        model.fit(
            self.x_train,
            self.y_train,
            batch_size=BATCH_SIZE,
            epochs=3,
            verbose=0,
            callbacks=[UpdatePruningStep(), PruningSummaries(log_dir=log_dir)],
        )
        self.assertEqual(3, int(model.layers[0].pruning_step))
        self.assertEqual(3, int(model.layers[1].pruning_step))
        self.assertNotEmpty(os.listdir(log_dir))

    @pytest.mark.tf_only("tfmot's loop is a tf.GradientTape loop")
    def test_update_pruning_steps_and_logs_summaries_custom_training_loop(self):
        log_dir = tempfile.mkdtemp()
        model = self.pruned_model(compile_it=False)
        loss = keras.losses.categorical_crossentropy
        optimizer = keras.optimizers.SGD()
        step_callback = UpdatePruningStep()
        log_callback = PruningSummaries(log_dir=log_dir)
        step_callback.set_model(model)
        log_callback.set_model(model)
        step_callback.on_train_begin()
        log_callback.on_train_begin()
        for epoch in range(3):
            log_callback.on_epoch_begin(epoch)
            step_callback.on_train_batch_begin(batch=-1)
            with tf.GradientTape() as tape:
                logits = model(self.x_train, training=True)
                loss_value = loss(self.y_train, logits)
            grads = tape.gradient(loss_value, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            step_callback.on_epoch_end(epoch)
            log_callback.on_epoch_end(epoch)
        log_callback.on_train_end()
        self.assertEqual(3, int(model.layers[0].pruning_step))
        self.assertEqual(3, int(model.layers[1].pruning_step))
        self.assertNotEmpty(os.listdir(log_dir))

    def test_update_pruning_steps_and_logs_summaries_run_inference(self):
        model = self.pruned_model(compile_it=False)
        model(self.x_train)
        self.assertEqual(-1, int(model.layers[0].pruning_step))
        self.assertEqual(-1, int(model.layers[1].pruning_step))

    def test_prune_training_without_pruning_step_callback(self):
        # Deliberate difference (README): tfmot raises InvalidArgumentError
        # when UpdatePruningStep is missing; our wrappers advance their own
        # step, so training prunes on schedule without it.
        model = self.pruned_model()
        model.fit(self.x_train, self.y_train, verbose=0)
        self.assertEqual(1, int(model.layers[0].pruning_step))

    def test_prune_training_loop_without_pruning_step_callback_custom_training_loop(self):
        # Deliberate difference (README), as above, in a custom loop.
        model = self.pruned_model(compile_it=False)
        with tf.GradientTape():
            model(self.x_train, training=True)
        self.assertEqual(1, int(model.layers[0].pruning_step))

    def test_pruning_summaries_raises_error_log_dir_not_non_empty_string(self):
        for log_dir in ("", None, object()):
            with self.assertRaises(ValueError):
                PruningSummaries(log_dir=log_dir)
