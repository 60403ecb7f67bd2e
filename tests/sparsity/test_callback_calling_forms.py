"""The pruning callbacks called the way tfmot's guides and tfmot's signatures call them.

tfmot: `UpdatePruningStep.on_train_begin(logs=None)`, `on_epoch_end(batch, logs=None)`
(the epoch is named `batch`), and every other hook inherited from Keras's Callback;
`PruningSummaries` writes at `on_epoch_begin(epoch, logs=None)`. The comprehensive
guide's custom loop calls `set_model`, `on_train_begin()`, `on_epoch_begin(epoch=-1)`,
`on_train_batch_begin(batch=-1)` and `on_epoch_end(batch=-1)`.
"""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from tests.datasets import digits
from tests.sparsity.models import (
    BATCH_SIZE,
    compile_classifier,
    expected_zeros,
    mlp,
    steps_per_epoch,
)
from tfx_ext.sparsity import (
    ConstantSparsity,
    PruningSummaries,
    UpdatePruningStep,
    prune_low_magnitude,
    pruning_wrappers,
)

TF_ONLY = pytest.mark.tf_only("tf.GradientTape loop and tf.summary")


def read_scalars(log_dir):
    """{tag: {step: value}} from every event file under `log_dir`."""
    scalars = {}
    for path in glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                number = (
                    float(tf.make_ndarray(value.tensor))
                    if value.HasField("tensor")
                    else value.simple_value
                )
                scalars.setdefault(value.tag, {})[event.step] = number
    return scalars


def kernel_sparsity(model):
    return {
        w.layer.name: float((keras.ops.convert_to_numpy(w.layer.kernel) == 0).mean())
        for w in pruning_wrappers(model)
    }


class CallingFormsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x, self.y = digits()[0][:64], digits()[1][:64]

    def pruned(self):
        return prune_low_magnitude(mlp(), ConstantSparsity(0.5, begin_step=0, frequency=1))

    def train_step(self, model, optimizer):
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        with tf.GradientTape() as tape:
            loss = loss_fn(self.y, model(self.x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    @TF_ONLY
    def test_comprehensive_guide_custom_loop(self):
        """The guide's loop verbatim (2 epochs of 1 batch), with both callbacks."""
        model = self.pruned()
        log_dir = self.get_temp_dir() + "/guide_loop"
        optimizer = keras.optimizers.Adam()
        unused_arg = -1
        model.optimizer = optimizer
        step_callback = UpdatePruningStep()
        step_callback.set_model(model)
        log_callback = PruningSummaries(log_dir=log_dir)
        log_callback.set_model(model)
        step_callback.on_train_begin()
        for _ in range(2):
            log_callback.on_epoch_begin(epoch=unused_arg)
            step_callback.on_train_batch_begin(batch=unused_arg)
            self.train_step(model, optimizer)
            step_callback.on_epoch_end(batch=unused_arg)
        self.assertEqual([int(w.pruning_step) for w in pruning_wrappers(model)], [2, 2, 2])
        for name, sparsity in kernel_sparsity(model).items():
            self.assertEqual(sparsity, 0.5, msg=name)  # 64x64, 64x32, 32x10: even sizes
        # The log callback got only on_epoch_begin calls, as in tfmot's loop:
        # it still wrote, at training steps 0 and 1 (before each epoch).
        scalars = read_scalars(log_dir)
        self.assertEqual(sorted(scalars["pruning/total_sparsity"]), [0, 1])
        self.assertEqual(scalars["pruning/total_sparsity"][0], 0.0)
        self.assertAllClose(scalars["pruning/total_sparsity"][1], 0.5)
        self.assertAllClose(scalars["pruning/hidden1/sparsity"][1], 0.5)

    def test_every_hook_in_tfmots_calling_forms(self):
        """Each hook positionally, by tfmot's keyword names, and without optional arguments."""
        for callback in (
            UpdatePruningStep(),
            PruningSummaries(log_dir=self.get_temp_dir() + "/forms"),
        ):
            model = compile_classifier(self.pruned())
            model(self.x[:1])
            callback.set_model(model)
            callback.set_params({"epochs": 1, "steps": 1, "verbose": 0})
            callback.on_train_begin()
            callback.on_train_begin(logs={})
            callback.on_epoch_begin(0)
            callback.on_epoch_begin(epoch=0, logs={})
            callback.on_train_batch_begin(0)
            callback.on_train_batch_begin(batch=0, logs={})
            callback.on_train_batch_end(batch=0, logs={"loss": 1.0})
            callback.on_batch_begin(batch=0)
            callback.on_batch_end(batch=0)
            callback.on_epoch_end(0)
            callback.on_epoch_end(0, {})
            callback.on_epoch_end(batch=0)  # tfmot's name
            callback.on_epoch_end(batch=0, logs={})
            callback.on_epoch_end(epoch=0, logs={})  # Keras's name
            callback.on_epoch_end()
            callback.on_test_begin()
            callback.on_test_batch_begin(batch=0)
            callback.on_test_batch_end(batch=0, logs={})
            callback.on_test_end(logs={})
            callback.on_predict_begin()
            callback.on_predict_batch_begin(batch=0)
            callback.on_predict_batch_end(batch=0, logs={})
            callback.on_predict_end()
            callback.on_train_end()
            callback.on_train_end(logs={})
            with self.assertRaisesRegex(TypeError, "both `epoch` and tfmot's name for it, `batch`"):
                callback.on_epoch_end(0, batch=0)
            # UpdatePruningStep.on_train_begin sets the never-trained steps to 0.
            expected = 0 if isinstance(callback, UpdatePruningStep) else -1
            self.assertEqual([int(w.pruning_step) for w in pruning_wrappers(model)], [expected] * 3)

    def test_on_epoch_end_by_tfmots_name_applies_the_masks(self):
        model = self.pruned()
        model(self.x[:1])
        wrapper = pruning_wrappers(model)[0]
        wrapper.update_masks(0.5)
        # A weight written behind the mask (as an optimizer without constraints would).
        wrapper.layer.kernel.assign(np.ones(wrapper.layer.kernel.shape, "float32"))
        callback = UpdatePruningStep()
        callback.set_model(model)
        callback.on_epoch_end(batch=-1)
        kernel = keras.ops.convert_to_numpy(wrapper.layer.kernel)
        self.assertEqual(int((kernel == 0).sum()), expected_zeros(kernel.size, 0.5))

    def test_hooks_before_set_model_say_so(self):
        with self.assertRaisesRegex(RuntimeError, r"call `set_model\(model\)` first"):
            UpdatePruningStep().on_epoch_end(batch=-1)
        with self.assertRaisesRegex(RuntimeError, r"call `set_model\(model\)` first"):
            PruningSummaries(log_dir=self.get_temp_dir()).on_epoch_begin(epoch=-1)


def tf_keras_mlp():
    return tf_keras.Sequential(
        [
            tf_keras.Input((64,)),
            tf_keras.layers.Dense(64, activation="relu", name="hidden1"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )


@pytest.mark.tf_only("tf_keras and tfmot")
class TfKerasPruningSummariesTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        tf_keras.utils.set_random_seed(0)
        self.x, self.y = digits()[0], digits()[1]

    def test_writes_tfmots_sparsity_scalars_for_a_tf_keras_model(self):
        pruned = prune_low_magnitude(
            tf_keras_mlp(), ConstantSparsity(0.5, begin_step=0, frequency=1)
        )
        pruned.compile(
            optimizer="adam",
            loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        log_dir = self.get_temp_dir() + "/tf_keras_summaries"
        pruned.fit(
            self.x,
            self.y,
            epochs=3,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep(), PruningSummaries(log_dir=log_dir)],
        )
        scalars = read_scalars(os.path.join(log_dir, "metrics"))  # tfmot's layout
        sparsity_tags = sorted(tag for tag in scalars if tag.endswith("/sparsity"))
        self.assertLen(sparsity_tags, 2)  # one mask per Dense layer
        self.assertTrue(any("hidden1" in tag for tag in sparsity_tags), sparsity_tags)
        self.assertTrue(any("logits" in tag for tag in sparsity_tags), sparsity_tags)
        per_epoch = steps_per_epoch()
        for tag in sparsity_tags:
            # tfmot writes at each epoch's beginning, against optimizer.iterations.
            self.assertEqual(sorted(scalars[tag]), [0, per_epoch, 2 * per_epoch], msg=tag)
            self.assertAllClose(scalars[tag][0], 0.0, msg=tag)
            self.assertAllClose(scalars[tag][per_epoch], 0.5, atol=1e-6, msg=tag)
        # What was written is what the model holds.
        for layer in pruned.layers:
            kernel = layer.layer.kernel.numpy()
            self.assertEqual(
                int((kernel == 0).sum()), expected_zeros(kernel.size, 0.5), msg=layer.name
            )
