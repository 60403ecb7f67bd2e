"""Pruning follows its schedule in every training loop: the wrapper advances
its own step and updates its masks inside its training call."""

import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.datasets import digits
from tests.sparsity.models import expected_zeros
from tfx_ext.sparsity import (
    PolynomialDecay,
    PrunableLayer,
    PruneLowMagnitude,
    UpdatePruningStep,
    prune_low_magnitude,
    pruning_wrappers,
    strip_pruning,
)

pytestmark = pytest.mark.backend_neutral

TF_ONLY = pytest.mark.tf_only("tf.GradientTape / Trainer are TensorFlow-only")

BATCH = 8
STEPS = 12  # 96 rows in batches of 8
SCHEDULE = dict(initial_sparsity=0.0, final_sparsity=0.8, begin_step=0, end_step=8, frequency=4)


def small_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(10, name="out"),
        ]
    )
    return prune_low_magnitude(model, PolynomialDecay(**SCHEDULE))


def compiled(model, steps_per_execution=1, learning_rate=0.05):
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=steps_per_execution,
    )
    return model


def state(model):
    """(pruning steps, masks, kernels) as NumPy."""
    wrappers = pruning_wrappers(model)
    return (
        [int(keras.ops.convert_to_numpy(w.pruning_step)) for w in wrappers],
        [keras.ops.convert_to_numpy(w.masks[0]) for w in wrappers],
        [keras.ops.convert_to_numpy(w.layer.kernel) for w in wrappers],
    )


class TrainingLoopTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        x_train, y_train, _, _ = digits()
        cls.x, cls.y = x_train[: BATCH * STEPS], y_train[: BATCH * STEPS]
        # The reference: plain fit, one step per execution.
        model = compiled(small_model())
        model.fit(cls.x, cls.y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        cls.reference = state(model)

    def assert_on_schedule(self, model, reference=None, kernels_atol=1e-5):
        steps, masks, kernels = state(model)
        self.assertEqual(steps, [STEPS, STEPS])
        stripped = [keras.ops.convert_to_numpy(l.kernel) for l in strip_pruning(model).layers]
        for mask, kernel, plain in zip(masks, kernels, stripped):
            self.assertEqual(int((mask == 0).sum()), expected_zeros(mask.size, 0.8))
            self.assertAllEqual(plain == 0, mask == 0)
            if keras.backend.backend() != "jax":
                # Pruned weights are exactly zero after every optimizer step.
                # (JAX: after each epoch with UpdatePruningStep, see the README.)
                self.assertTrue(np.all(kernel[mask == 0] == 0))
        if reference is not None:
            for mine, theirs in zip(masks, reference[1]):
                self.assertAllEqual(mine, theirs)
            for mine, theirs in zip(kernels, reference[2]):
                self.assertAllClose(mine, theirs, atol=kernels_atol)

    def test_reference_reaches_the_schedule(self):
        self.assert_on_schedule_state(self.reference)

    def assert_on_schedule_state(self, reference):
        steps, masks, _ = reference
        self.assertEqual(steps, [STEPS, STEPS])
        for mask in masks:
            self.assertEqual(int((mask == 0).sum()), expected_zeros(mask.size, 0.8))

    def test_steps_per_execution(self):
        model = compiled(small_model(), steps_per_execution=4)
        model.fit(self.x, self.y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        self.assert_on_schedule(model, self.reference)

    def test_save_and_load_mid_schedule(self):
        model = compiled(small_model())
        half = BATCH * STEPS // 2
        model.fit(
            self.x[:half], self.y[:half], batch_size=BATCH, epochs=1, shuffle=False, verbose=0
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "pruned.keras")
            model.save(path)
            loaded = keras.models.load_model(path)
        self.assertEqual(state(loaded)[0], [STEPS // 2, STEPS // 2])
        loaded.fit(
            self.x[half:], self.y[half:], batch_size=BATCH, epochs=1, shuffle=False, verbose=0
        )
        self.assert_on_schedule(loaded, self.reference)

    def test_recompile_with_a_new_optimizer_continues_the_schedule(self):
        model = compiled(small_model())
        half = BATCH * STEPS // 2
        model.fit(
            self.x[:half], self.y[:half], batch_size=BATCH, epochs=1, shuffle=False, verbose=0
        )
        compiled(model)  # a new SGD, at iteration 0
        model.fit(
            self.x[half:], self.y[half:], batch_size=BATCH, epochs=1, shuffle=False, verbose=0
        )
        self.assert_on_schedule(model, self.reference)

    @TF_ONLY
    def test_gradient_tape_loop_with_tfmot_hook_sequence(self):
        model = small_model()
        optimizer = keras.optimizers.SGD(0.05)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        callback = UpdatePruningStep()
        callback.set_model(model)
        callback.on_train_begin()

        @tf.function
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

        for batch in range(STEPS):
            callback.on_train_batch_begin(batch)
            rows = slice(batch * BATCH, (batch + 1) * BATCH)
            train_step(tf.constant(self.x[rows]), tf.constant(self.y[rows]))
        callback.on_epoch_end(0)
        self.assert_on_schedule(model, self.reference)

    @TF_ONLY
    def test_trainer(self):
        from tfx_ext.training import Trainer

        model = small_model()
        trainer = Trainer(
            model,
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            keras.optimizers.SGD(0.05),
        )
        trainer.fit((self.x, self.y), epochs=1, batch_size=BATCH, shuffle=False, verbose=0)
        # The Trainer sums per-example losses over the global batch: same
        # gradients as fit, up to float rounding.
        self.assert_on_schedule(model, self.reference, kernels_atol=1e-4)

    @TF_ONLY
    def test_trainer_under_mirrored_strategy(self):
        # Two logical CPUs must be set before TensorFlow starts: a fresh process.
        code = textwrap.dedent(
            """
            import tensorflow as tf
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
            import keras, numpy as np
            from tfx_ext import sparsity
            from tfx_ext.training import Trainer
            strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
            with strategy.scope():
                keras.utils.set_random_seed(0)
                model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8), keras.layers.Dense(3)])
                pruned = sparsity.prune_low_magnitude(model, sparsity.PolynomialDecay(0.0, 0.8, 0, 8, frequency=4))
            trainer = Trainer(pruned, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                              keras.optimizers.SGD(0.1), strategy=strategy)
            x = np.random.default_rng(0).random((96, 16)).astype("float32")
            y = np.random.default_rng(1).integers(0, 3, 96)
            trainer.fit((x, y), epochs=1, batch_size=8, verbose=0)
            for w in sparsity.pruning_wrappers(pruned):
                kernel = keras.ops.convert_to_numpy(w.layer.kernel)
                mask = keras.ops.convert_to_numpy(w.masks[0])
                print(int(w.pruning_step.numpy()), int((kernel == 0).sum()), int((mask == 0).sum()), kernel.size)
            """
        )
        import tfx_ext

        root = os.path.dirname(os.path.dirname(os.path.abspath(tfx_ext.__file__)))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=root)
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
        )
        self.assertEqual(result.returncode, 0, msg=result.stderr[-2000:])
        rows = [list(map(int, line.split())) for line in result.stdout.strip().splitlines()]
        self.assertLen(rows, 2)
        for step, kernel_zeros, mask_zeros, size in rows:
            self.assertEqual(step, STEPS)
            self.assertEqual(mask_zeros, expected_zeros(size, 0.8))
            self.assertEqual(kernel_zeros, mask_zeros)

    def test_exact_zero_under_adam_and_jax_epoch_end(self):
        model = small_model()
        model.compile(
            optimizer=keras.optimizers.Adam(0.01),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(
            self.x, self.y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[UpdatePruningStep()]
        )
        steps, masks, kernels = state(model)
        self.assertEqual(steps, [2 * STEPS, 2 * STEPS])
        for mask, kernel in zip(masks, kernels):
            self.assertEqual(int((kernel == 0).sum()), expected_zeros(kernel.size, 0.8))
            self.assertAllEqual(kernel == 0, mask == 0)


class Recorder(keras.layers.Layer, PrunableLayer):
    """Dense-like layer that records the keyword arguments it is called with."""

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 4))

    def call(self, inputs, training=None, scale=1.0):
        self.seen = {"training": training, "scale": scale}
        return keras.ops.matmul(inputs, self.kernel) * scale

    def get_prunable_weights(self):
        return [self.kernel]


class WrapperCallTest(tf.test.TestCase):
    def test_training_and_keyword_arguments_are_forwarded(self):
        layer = Recorder()
        wrapper = PruneLowMagnitude(layer)
        x = np.ones((2, 3), "float32")
        out = wrapper(x, training=True, scale=2.0)
        self.assertEqual(layer.seen, {"training": True, "scale": 2.0})
        self.assertAllClose(out, 2.0 * x @ keras.ops.convert_to_numpy(layer.kernel))
        wrapper(x)
        self.assertFalse(layer.seen["training"])

    @TF_ONLY
    def test_sampled_softmax_gets_its_labels(self):
        from tfx_ext.losses import SampledSoftmaxLoss

        keras.utils.set_random_seed(0)
        layer = SampledSoftmaxLoss(num_classes=10, num_sampled=4, seed=1)
        wrapper = PruneLowMagnitude(layer)
        x = np.random.default_rng(0).standard_normal((6, 5)).astype("float32")
        labels = np.arange(6) % 10
        wrapper(x, labels=labels, training=True)
        # The wrapped layer added its sampled loss: it saw labels= and training=True.
        self.assertLen(wrapper.losses, 1)
        self.assertLen(layer.losses, 1)
        wrapper(x, labels=labels, training=False)
        self.assertLen(wrapper.losses, 0)

    def test_multi_head_attention(self):
        keras.utils.set_random_seed(0)
        mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        wrapper = PruneLowMagnitude(mha)
        query = np.random.default_rng(0).standard_normal((2, 5, 8)).astype("float32")
        before = keras.ops.convert_to_numpy(mha(query, query))
        self.assertAllClose(wrapper(query, value=query), before, atol=1e-6)
        self.assertEqual(
            [w.path for w in wrapper.pruned_weights],
            [
                mha._query_dense.kernel.path,
                mha._key_dense.kernel.path,
                mha._value_dense.kernel.path,
                mha._output_dense.kernel.path,
            ],
        )
        wrapper.update_masks(0.5)
        for weight in wrapper.pruned_weights:
            values = keras.ops.convert_to_numpy(weight)
            self.assertEqual(int((values == 0).sum()), expected_zeros(values.size, 0.5))

    def test_weightless_and_depthwise_layers_wrap_with_nothing_to_prune(self):
        for layer, shape in [
            (keras.layers.DepthwiseConv2D(3), (1, 6, 6, 2)),
            (keras.layers.Dropout(0.5), (1, 4)),
            (keras.layers.MaxPooling2D(), (1, 4, 4, 1)),
        ]:
            with self.subTest(type(layer).__name__):
                wrapper = PruneLowMagnitude(layer)
                x = np.ones(shape, "float32")
                self.assertAllClose(wrapper(x), layer(x))
                self.assertEqual(wrapper.masks, [])

    def test_strip_pruning_of_an_unbuilt_model(self):
        model = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(2)])
        pruned = prune_low_magnitude(model)
        self.assertFalse(pruned.built)
        stripped = strip_pruning(pruned)
        self.assertEqual(pruning_wrappers(stripped), [])
        self.assertEqual([type(l) for l in stripped.layers], [keras.layers.Dense] * 2)
        self.assertIs(
            strip_pruning(PruneLowMagnitude(keras.layers.Dense(3))).__class__, keras.layers.Dense
        )

    def test_keeps_at_least_one_weight(self):
        wrapper = PruneLowMagnitude(keras.layers.Dense(4))
        wrapper(np.ones((1, 10), "float32"))
        wrapper.update_masks(0.99)  # round(40 * 0.01) = 0, but one weight stays
        self.assertEqual(int(keras.ops.convert_to_numpy(wrapper.masks[0]).sum()), 1)
