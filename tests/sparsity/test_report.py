import gzip

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.sparsity.models import BATCH_SIZE, compile_classifier, kernels, mlp
from tfx_ext.sparsity import (
    ConstantSparsity,
    PruneLowMagnitude,
    UpdatePruningStep,
    prune_low_magnitude,
    sparsity_report,
    strip_pruning,
    zero_small_weights,
)


def zero_smallest(values, fraction):
    """NumPy reference: zeroes the round(fraction * n) smallest magnitudes."""
    k = int(round(fraction * values.size))
    flat = values.reshape(-1).copy()
    flat[np.argsort(np.abs(flat))[:k]] = 0.0
    return flat.reshape(values.shape)


def gzip_size(arrays):
    return len(
        gzip.compress(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays), compresslevel=9)
    )


def cnn():
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Flatten()(h)
    head = keras.Sequential(
        [keras.Input((288,)), keras.layers.Dense(10, name="head_dense")], name="head"
    )
    return keras.Model(inputs, head(h))


class SparsityReportTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def sparse_mlp(self, fractions=(0.7, 0.5, 0.0)):
        model = mlp()
        for layer, fraction in zip(model.layers, fractions):
            kernel, bias = layer.get_weights()
            layer.set_weights([zero_smallest(kernel, fraction), bias])
        return model

    def test_counts_match_numpy(self):
        model = self.sparse_mlp()
        report = sparsity_report(model)
        counted = kernels(model)
        self.assertEqual([l.name for l in report.layers], ["hidden1", "hidden2", "logits"])
        for entry in report.layers:
            kernel = counted[entry.name]
            self.assertEqual(entry.parameters, kernel.size)
            self.assertEqual(entry.zeros, int((kernel == 0).sum()))
            self.assertAllClose(entry.sparsity, (kernel == 0).mean())
        self.assertEqual(report.layers[0].zeros, round(0.7 * 64 * 64))
        all_kernels = list(counted.values())
        self.assertEqual(report.prunable_parameters, sum(k.size for k in all_kernels))
        total_zeros = sum((k == 0).sum() for k in all_kernels)
        self.assertAllClose(report.sparsity, total_zeros / sum(k.size for k in all_kernels))
        weights = model.get_weights()
        self.assertEqual(report.total_parameters, model.count_params())
        self.assertEqual(report.raw_bytes, sum(w.nbytes for w in weights))
        self.assertEqual(report.gzip_bytes, gzip_size(weights))
        self.assertAllClose(report.compression_ratio, report.raw_bytes / report.gzip_bytes)
        text = str(report)
        for name in ("hidden1", "hidden2", "logits", "prunable total"):
            self.assertIn(name, text)

    def test_nested_model_and_non_prunable_layers(self):
        model = cnn()
        report = sparsity_report(model)
        self.assertEqual([l.name for l in report.layers], ["conv", "head_dense"])
        self.assertEqual([l.parameters for l in report.layers], [3 * 3 * 1 * 8, 288 * 10])
        self.assertEqual(report.total_parameters, model.count_params())
        self.assertEqual(report.raw_bytes, sum(w.nbytes for w in model.get_weights()))

    def test_wrapped_and_stripped_models_agree(self):
        x_train, y_train, _, _ = digits()
        pruned = compile_classifier(
            prune_low_magnitude(mlp(), ConstantSparsity(0.8, begin_step=0, frequency=20))
        )
        pruned.fit(
            x_train,
            y_train,
            epochs=1,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        stripped = strip_pruning(pruned)
        wrapped_report = sparsity_report(pruned)
        stripped_report = sparsity_report(stripped)
        self.assertEqual(wrapped_report.layers, stripped_report.layers)
        self.assertEqual(wrapped_report.total_parameters, stripped_report.total_parameters)
        self.assertEqual(wrapped_report.raw_bytes, stripped_report.raw_bytes)
        self.assertEqual(wrapped_report.gzip_bytes, stripped_report.gzip_bytes)
        # Masks and step counters are not model weights.
        model_weights = [
            np.asarray(w)
            for w in pruned.weights
            if not (w.name.startswith("mask_") or w.name == "pruning_step")
        ]
        self.assertLen(model_weights, 6)
        self.assertEqual(wrapped_report.raw_bytes, sum(w.nbytes for w in model_weights))
        self.assertEqual(stripped_report.raw_bytes, sum(w.nbytes for w in stripped.get_weights()))
        self.assertEqual(stripped_report.gzip_bytes, gzip_size(stripped.get_weights()))
        for entry in stripped_report.layers:
            self.assertLessEqual(abs(entry.zeros - 0.8 * entry.parameters), 1)

    def test_sparse_model_compresses(self):
        dense = mlp()
        sparse = zero_small_weights(dense, target_sparsity=0.8)
        dense_report = sparsity_report(dense)
        sparse_report = sparsity_report(sparse)
        self.assertEqual(dense_report.raw_bytes, sparse_report.raw_bytes)
        self.assertLess(dense_report.compression_ratio, 1.2)
        self.assertGreater(sparse_report.compression_ratio, 2.0)
        self.assertGreater(dense_report.gzip_bytes / sparse_report.gzip_bytes, 2.0)

    @rejects_bad_input(sparsity_report)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            sparsity_report(keras.layers.Dense(3))
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            sparsity_report("model")


class ZeroSmallWeightsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x = np.random.default_rng(0).standard_normal((8, 64)).astype("float32")

    def test_threshold(self):
        model = mlp()
        before = [w.copy() for w in model.get_weights()]
        threshold = 0.05
        zeroed = zero_small_weights(model, threshold=threshold)
        self.assertIsNot(zeroed, model)
        for original, now in zip(before, model.get_weights()):
            self.assertAllEqual(original, now)
        for layer, new_layer in zip(model.layers, zeroed.layers):
            kernel, bias = layer.get_weights()
            new_kernel, new_bias = new_layer.get_weights()
            self.assertAllEqual(new_kernel, np.where(np.abs(kernel) < threshold, 0.0, kernel))
            self.assertAllEqual(new_bias, bias)
            self.assertEqual(new_kernel.dtype, np.float32)
        self.assertGreater(sparsity_report(zeroed).sparsity, 0.0)
        # The copy computes with its zeroed kernels.
        expected = self.x
        for i, layer in enumerate(zeroed.layers):
            kernel, bias = layer.get_weights()
            expected = expected @ kernel + bias
            if i < 2:
                expected = np.maximum(expected, 0.0)
        self.assertAllClose(zeroed.predict(self.x, verbose=0), expected, atol=1e-5)

    def test_target_sparsity(self):
        model = mlp()
        for layer in model.layers:  # nonzero biases, to see they are left alone
            layer.set_weights([layer.get_weights()[0], self.x[0, : layer.units]])
        zeroed = zero_small_weights(model, target_sparsity=0.8)
        for layer, new_layer in zip(model.layers, zeroed.layers):
            kernel, bias = layer.get_weights()
            new_kernel, new_bias = new_layer.get_weights()
            self.assertAllEqual(new_kernel, zero_smallest(kernel, 0.8))
            self.assertAllEqual(new_bias, bias)
        for original, copied in zip(
            model.get_weights(), zero_small_weights(model, target_sparsity=0.0).get_weights()
        ):
            self.assertAllEqual(copied, original)

    def test_nested_functional_model(self):
        model = cnn()
        bn = model.get_layer("bn")
        bn.set_weights([w + 0.5 for w in bn.get_weights()])
        zeroed = zero_small_weights(model, target_sparsity=0.5)
        self.assertAllEqual(
            zeroed.get_layer("conv").get_weights()[0],
            zero_smallest(model.get_layer("conv").get_weights()[0], 0.5),
        )
        head_kernel = model.get_layer("head").get_layer("head_dense").get_weights()[0]
        self.assertAllEqual(
            zeroed.get_layer("head").get_layer("head_dense").get_weights()[0],
            zero_smallest(head_kernel, 0.5),
        )
        for original, now in zip(bn.get_weights(), zeroed.get_layer("bn").get_weights()):
            self.assertAllEqual(original, now)

    @rejects_bad_input(zero_small_weights)
    def test_exactly_one_argument(self):
        model = mlp()
        with self.assertRaisesRegex(ValueError, r"exactly one of `threshold` or `target_sparsity`"):
            zero_small_weights(model)
        with self.assertRaisesRegex(ValueError, r"exactly one of `threshold` or `target_sparsity`"):
            zero_small_weights(model, threshold=0.1, target_sparsity=0.5)
        with self.assertRaisesRegex(ValueError, r"argument `threshold`"):
            zero_small_weights(model, threshold=-0.1)
        with self.assertRaisesRegex(ValueError, r"argument `target_sparsity`"):
            zero_small_weights(model, target_sparsity=1.0)
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            zero_small_weights(keras.layers.Dense(2), threshold=0.1)
        self.assertFalse(any(isinstance(l, PruneLowMagnitude) for l in model.layers))
