import glob
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.roundtrip import assert_config_round_trip
from tests.sparsity.models import (
    BATCH_SIZE,
    compile_classifier,
    expected_zeros,
    images,
    kernels,
    mlp,
    steps_per_epoch,
)
from tfx_ext.sparsity import (
    ConstantSparsity,
    PolynomialDecay,
    PruneLowMagnitude,
    PruningSummaries,
    UpdatePruningStep,
    prune_low_magnitude,
    pruning_wrappers,
    sparsity_report,
    strip_pruning,
)

# Passes on JAX too, but is left out of the JAX leg to keep it short: not backend_neutral.


# These read the model's variables between batches, or use tf.GradientTape:
# Keras's JAX trainer detaches variables during an epoch, and the guarantee
# that pruned weights are zero after every optimizer step is the TensorFlow
# (and PyTorch) backend's; JAX is covered by tests/sparsity/test_training_loops.py.
TF_ONLY = pytest.mark.tf_only("per-batch variable reads: TensorFlow only")


def wrapper_kernels(model):
    return {
        w.layer.name: keras.ops.convert_to_numpy(w.layer.kernel) for w in pruning_wrappers(model)
    }


def wrapper_masks(model):
    return {w.layer.name: keras.ops.convert_to_numpy(w.masks[0]) for w in pruning_wrappers(model)}


def read_scalars(log_dir):
    """{tag: {step: value}} from every event file under `log_dir`."""
    scalars = {}
    for path in glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                number = (
                    float(tf.make_ndarray(value.tensor))
                    if value.HasField("tensor")
                    else value.simple_value
                )
                scalars.setdefault(value.tag, {})[event.step] = number
    return scalars


class UpdatePruningStepTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x_train, self.y_train, self.x_test, self.y_test = digits()

    def fit(self, model, epochs, callbacks=(), **kwargs):
        return model.fit(
            self.x_train,
            self.y_train,
            epochs=epochs,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep(), *callbacks],
            **kwargs,
        )

    @TF_ONLY
    def test_reaches_target_and_pruned_weights_stay_zero_every_batch(self):
        end_step, frequency = 100, 10
        schedule = PolynomialDecay(0.0, 0.8, begin_step=0, end_step=end_step, frequency=frequency)
        pruned = compile_classifier(prune_low_magnitude(mlp(), schedule))
        checked = []

        def check(batch, logs):
            step = len(checked) + 1  # as tfmot: batch i trains at pruning step i + 1
            last_pruning = min(step - step % frequency, end_step)
            sparsity = schedule(last_pruning)[1]
            for wrapper in pruning_wrappers(pruned):
                kernel = keras.ops.convert_to_numpy(wrapper.layer.kernel)
                mask = keras.ops.convert_to_numpy(wrapper.masks[0])
                # Masked weights are exactly zero after every batch ...
                self.assertTrue(np.all(kernel[mask == 0] == 0))
                # ... and the mask follows the schedule at the last pruning step.
                self.assertEqual(
                    int((mask == 0).sum()), expected_zeros(mask.size, sparsity), msg=f"step {step}"
                )
            checked.append(step)

        epochs = 3
        self.assertGreater(epochs * steps_per_epoch(), end_step)
        self.fit(pruned, epochs, [keras.callbacks.LambdaCallback(on_train_batch_end=check)])
        self.assertLen(checked, epochs * steps_per_epoch())
        for name, kernel in wrapper_kernels(pruned).items():
            zeros = int((kernel == 0).sum())
            self.assertLessEqual(abs(zeros - 0.8 * kernel.size), 1, msg=name)

    @TF_ONLY
    def test_zero_positions_fixed_after_schedule_end_with_adam(self):
        schedule = ConstantSparsity(0.8, begin_step=0, end_step=40, frequency=20)
        pruned = compile_classifier(
            prune_low_magnitude(mlp(), schedule), keras.optimizers.Adam(1e-2)
        )
        self.assertGreater(steps_per_epoch(), 40)
        self.fit(pruned, 1)
        zeros_after_schedule = {
            name: kernel == 0 for name, kernel in wrapper_kernels(pruned).items()
        }
        masks = wrapper_masks(pruned)
        seen = []

        def check(batch, logs):
            for name, kernel in wrapper_kernels(pruned).items():
                self.assertAllEqual(kernel == 0, zeros_after_schedule[name])
            seen.append(batch)

        before = wrapper_kernels(pruned)
        self.fit(pruned, 2, [keras.callbacks.LambdaCallback(on_train_batch_end=check)])
        self.assertLen(seen, 2 * steps_per_epoch())
        for name, kernel in wrapper_kernels(pruned).items():
            self.assertAllEqual(masks[name], wrapper_masks(pruned)[name])
            self.assertEqual(
                int(zeros_after_schedule[name].sum()), expected_zeros(kernel.size, 0.8)
            )
            # The kept weights did train.
            kept = ~zeros_after_schedule[name]
            self.assertGreater(np.abs(kernel[kept] - before[name][kept]).max(), 1e-3)
        # Adam's moments of the pruned weights are not zero: the callback, not the optimizer, keeps them at 0.
        first_kernel = pruning_wrappers(pruned)[0].layer.kernel
        momentum = pruned.optimizer._momentums[pruned.optimizer._get_variable_index(first_kernel)]
        momentum = keras.ops.convert_to_numpy(momentum)
        self.assertGreater(np.abs(momentum[zeros_after_schedule["hidden1"]]).max(), 0.0)

    def test_step_continues_across_fits_and_a_recompile(self):
        schedule = PolynomialDecay(0.0, 0.8, begin_step=0, end_step=80, frequency=10)
        pruned = compile_classifier(prune_low_magnitude(mlp(), schedule))
        per_epoch = steps_per_epoch()
        self.assertTrue(40 <= per_epoch < 50)
        self.fit(pruned, 1)
        first_fit_sparsity = schedule(40)[1]
        for wrapper in pruning_wrappers(pruned):
            self.assertEqual(int(wrapper.pruning_step), per_epoch)
            mask = keras.ops.convert_to_numpy(wrapper.masks[0])
            self.assertEqual(int((mask == 0).sum()), expected_zeros(mask.size, first_fit_sparsity))
        # A new optimizer starts at iteration 0; the wrappers' own step goes on.
        compile_classifier(pruned, keras.optimizers.SGD(0.01))
        self.fit(pruned, 1)
        self.assertEqual(int(pruned.optimizer.iterations), per_epoch)
        for wrapper in pruning_wrappers(pruned):
            self.assertEqual(int(wrapper.pruning_step), 2 * per_epoch)
            mask = keras.ops.convert_to_numpy(wrapper.masks[0])
            # A restart at step 0 would end the second fit at schedule(40) again.
            self.assertEqual(int((mask == 0).sum()), expected_zeros(mask.size, 0.8))

    def test_accuracy_strip_and_report(self):
        dense = compile_classifier(mlp())
        dense.fit(self.x_train, self.y_train, epochs=10, batch_size=BATCH_SIZE, verbose=0)
        dense_accuracy = dense.evaluate(self.x_test, self.y_test, verbose=0, return_dict=True)[
            "accuracy"
        ]
        self.assertGreater(dense_accuracy, 0.9)

        end_step = 3 * steps_per_epoch()
        schedule = PolynomialDecay(
            0.0, 0.8, begin_step=0, end_step=end_step - end_step % 10, frequency=10
        )
        pruned = compile_classifier(prune_low_magnitude(dense, schedule))
        self.assertAllClose(
            pruned.predict(self.x_test, verbose=0), dense.predict(self.x_test, verbose=0), atol=1e-6
        )
        self.fit(pruned, 6)
        pruned_accuracy = pruned.evaluate(self.x_test, self.y_test, verbose=0, return_dict=True)[
            "accuracy"
        ]
        self.assertGreaterEqual(pruned_accuracy, dense_accuracy - 0.03)

        stripped = strip_pruning(pruned)
        self.assertIsNot(stripped, pruned)
        self.assertEqual([type(l) for l in stripped.layers], [keras.layers.Dense] * 3)
        self.assertEqual(pruning_wrappers(stripped), [])
        for layer in stripped.layers:
            self.assertTrue(type(layer).__module__.startswith("keras."), msg=type(layer).__module__)
        self.assertFalse(any(isinstance(l, PruneLowMagnitude) for l in stripped.layers))
        self.assertAllClose(
            stripped.predict(self.x_test, verbose=0),
            pruned.predict(self.x_test, verbose=0),
            atol=1e-6,
        )
        # Stripping copies: the pruned model keeps its wrappers.
        self.assertLen(pruning_wrappers(pruned), 3)

        report = sparsity_report(stripped)
        counted = kernels(stripped)
        self.assertEqual([l.name for l in report.layers], list(counted))
        for entry in report.layers:
            self.assertEqual(entry.parameters, counted[entry.name].size)
            self.assertEqual(entry.zeros, int((counted[entry.name] == 0).sum()))
            self.assertAllClose(entry.sparsity, 0.8, atol=1.0 / entry.parameters)
        self.assertAllClose(report.sparsity, 0.8, atol=1e-3)

    def test_block_sparsity_training(self):
        block = (4, 2)
        schedule = PolynomialDecay(0.0, 0.75, begin_step=0, end_step=40, frequency=10)
        pruned = compile_classifier(prune_low_magnitude(mlp(), schedule, block_size=block))
        self.fit(pruned, 2)
        a, b = block
        for name, kernel in wrapper_kernels(pruned).items():
            rows, cols = kernel.shape
            nonzero = (kernel != 0).reshape(rows // a, a, cols // b, b).sum(axis=(1, 3))
            # Every block is all zero or all kept (kept weights are nonzero after training).
            self.assertTrue(np.all((nonzero == 0) | (nonzero == a * b)), msg=name)
            self.assertEqual(
                int((nonzero == 0).sum()), expected_zeros(nonzero.size, 0.75), msg=name
            )

    def test_two_four_sparsity_training_on_cnn(self):
        model = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
                prune_low_magnitude(
                    keras.layers.Conv2D(16, 3, activation="relu", name="conv2"),
                    sparsity_m_by_n=(2, 4),
                ),
                keras.layers.Flatten(),
                prune_low_magnitude(keras.layers.Dense(10, name="logits"), sparsity_m_by_n=(2, 4)),
            ]
        )
        compile_classifier(model)
        model.fit(
            images(self.x_train),
            self.y_train,
            epochs=2,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        self.assertEqual(sorted(wrapper_kernels(model)), ["conv2", "logits"])
        for name, kernel in wrapper_kernels(model).items():
            groups = np.moveaxis(kernel, -2, -1).reshape(-1, 4)
            self.assertTrue(np.all((groups != 0).sum(axis=1) == 2), msg=name)
        self.assertEqual(int((model.get_layer("conv1").kernel.numpy() == 0).sum()), 0)
        accuracy = model.evaluate(images(self.x_test), self.y_test, verbose=0, return_dict=True)[
            "accuracy"
        ]
        self.assertGreater(accuracy, 0.75)

    @TF_ONLY
    def test_custom_training_loop_hooks(self):
        schedule = ConstantSparsity(0.5, begin_step=2, frequency=100)
        pruned = prune_low_magnitude(mlp(), schedule)
        optimizer = keras.optimizers.SGD(0.1)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        callback = UpdatePruningStep()
        callback.set_model(pruned)
        callback.on_train_begin()
        x, y = self.x_train[:32], self.y_train[:32]
        for step in range(4):
            callback.on_train_batch_begin(step)
            with tf.GradientTape() as tape:
                loss = loss_fn(y, pruned(x, training=True))
            grads = tape.gradient(loss, pruned.trainable_weights)
            optimizer.apply_gradients(zip(grads, pruned.trainable_weights))
            callback.on_train_batch_end(step)
            zeros = {name: int((k == 0).sum()) for name, k in wrapper_kernels(pruned).items()}
            for name, kernel in wrapper_kernels(pruned).items():
                # Loop step 1 is pruning step 2, where the schedule begins.
                expected = expected_zeros(kernel.size, 0.5) if step >= 1 else 0
                self.assertEqual(zeros[name], expected, msg=f"{name} step {step}")
        callback.on_train_end()
        self.assertEqual([int(w.pruning_step) for w in pruning_wrappers(pruned)], [4, 4, 4])

    @rejects_bad_input(UpdatePruningStep)
    def test_model_without_wrappers_warns(self):
        model = compile_classifier(mlp())
        with self.assertWarnsRegex(UserWarning, "no PruneLowMagnitude layer"):
            model.fit(
                self.x_train[:32],
                self.y_train[:32],
                epochs=1,
                verbose=0,
                callbacks=[UpdatePruningStep()],
            )

    def test_config_round_trip(self):
        assert_config_round_trip(self, UpdatePruningStep())
        clone = assert_config_round_trip(self, PruningSummaries(log_dir="/tmp/pruning_logs"))
        self.assertEqual(clone.log_dir, "/tmp/pruning_logs")


class PruningSummariesTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x_train, self.y_train, _, _ = digits()

    def test_writes_sparsity_scalars(self):
        """Against the training step (tfmot plots against iterations): step 0 and every epoch's end."""
        schedule = PolynomialDecay(
            0.0, 0.8, begin_step=0, end_step=2 * steps_per_epoch(), frequency=5
        )
        pruned = compile_classifier(prune_low_magnitude(mlp(), schedule))
        recorded = {}

        def record(epoch, logs):
            counts = {name: ((k == 0).sum(), k.size) for name, k in wrapper_kernels(pruned).items()}
            step = int(pruning_wrappers(pruned)[0].pruning_step)
            recorded[step] = {
                f"pruning/{name}/sparsity": zeros / size for name, (zeros, size) in counts.items()
            }
            recorded[step]["pruning/total_sparsity"] = sum(z for z, _ in counts.values()) / sum(
                s for _, s in counts.values()
            )

        with tempfile.TemporaryDirectory() as log_dir:
            pruned.fit(
                self.x_train,
                self.y_train,
                epochs=3,
                batch_size=BATCH_SIZE,
                verbose=0,
                callbacks=[
                    UpdatePruningStep(),
                    PruningSummaries(log_dir=log_dir),
                    keras.callbacks.LambdaCallback(on_epoch_end=record),
                ],
            )
            scalars = read_scalars(log_dir)
        expected_tags = {
            "pruning/hidden1/sparsity",
            "pruning/hidden2/sparsity",
            "pruning/logits/sparsity",
            "pruning/total_sparsity",
        }
        per_epoch = steps_per_epoch()
        self.assertEqual(set(scalars), expected_tags)
        self.assertEqual(sorted(recorded), [per_epoch, 2 * per_epoch, 3 * per_epoch])
        for tag in expected_tags:
            # Epoch k+1's beginning is epoch k's end (same step): written once.
            self.assertEqual(sorted(scalars[tag]), [0] + sorted(recorded), msg=tag)
            self.assertEqual(scalars[tag][0], 0.0, msg=tag)  # before training nothing is pruned
            for step in recorded:
                self.assertAllClose(
                    scalars[tag][step], recorded[step][tag], atol=1e-6, msg=f"{tag} {step}"
                )
        # Sparsity rises over the epochs and reaches the target.
        totals = [scalars["pruning/total_sparsity"][s] for s in sorted(recorded)]
        self.assertLess(totals[0], totals[1])
        self.assertAllClose(totals[2], 0.8, atol=1e-3)

    @rejects_bad_input(PruningSummaries)
    def test_bad_log_dir(self):
        for log_dir in (None, "", 3, ["logs"]):
            with self.assertRaisesRegex(ValueError, r"argument `log_dir`"):
                PruningSummaries(log_dir=log_dir)
