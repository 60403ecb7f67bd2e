"""PruneForLatencyOnXNNPack (tfmot's policy of the same name) and sparse TFLite conversion."""

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.lite import convert
from tfx_ext.sparsity import (
    ConstantSparsity,
    PruneForLatencyOnXNNPack,
    PruneLowMagnitude,
    PruningPolicy,
    prune_low_magnitude,
    pruning_wrappers,
    strip_pruning,
)

layers = keras.layers


def mobilenet_like(size=32, channels=(16, 32), classes=10):
    """The shape XNNPACK's sparse inference runs end to end: ZeroPadding + 3x3/2 stem,
    depthwise 3x3 + pointwise 1x1 blocks, global average pooling (keepdims)."""
    inputs = keras.Input((size, size, 3))
    x = layers.ZeroPadding2D(((1, 1), (1, 1)))(inputs)
    x = layers.Conv2D(channels[0], 3, strides=2, padding="valid", name="stem")(x)
    x = layers.ReLU()(x)
    for i, width in enumerate(channels):
        x = layers.DepthwiseConv2D(3, padding="same", name=f"dw{i}")(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(width, 1, name=f"pw{i}")(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D(keepdims=True)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(classes, name="logits")(x)
    return keras.Model(inputs, outputs)


class PruneForLatencyOnXNNPackTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_prunes_only_the_1x1_convolutions(self):
        pruned = prune_low_magnitude(
            mobilenet_like(), ConstantSparsity(0.8, 0), pruning_policy=PruneForLatencyOnXNNPack()
        )
        self.assertEqual(sorted(w.layer.name for w in pruning_wrappers(pruned)), ["pw0", "pw1"])
        policy = PruneForLatencyOnXNNPack()
        self.assertTrue(policy.allow_pruning(layers.Conv2D(4, 1)))
        self.assertFalse(policy.allow_pruning(layers.Conv2D(4, 3)))
        self.assertFalse(policy.allow_pruning(layers.Dense(4)))

    @rejects_bad_input(PruneForLatencyOnXNNPack, PruningPolicy)
    def test_models_xnnpack_cannot_run_sparse_are_refused(self):
        policy = PruneForLatencyOnXNNPack()
        no_stem = keras.Sequential(
            [keras.Input((8, 8, 3)), layers.Conv2D(4, 1), layers.GlobalAveragePooling2D()]
        )
        with self.assertRaisesRegex(ValueError, "Could not find `Conv2D 3x3`"):
            prune_low_magnitude(no_stem, pruning_policy=policy)
        inputs = keras.Input((16, 16, 3))
        x = layers.ZeroPadding2D(1)(inputs)
        x = layers.Conv2D(8, 3, strides=2)(x)
        x = layers.Conv2D(8, 1)(x)
        no_pooling = keras.Model(inputs, layers.Flatten()(x))
        with self.assertRaisesRegex(ValueError, "GlobalAveragePooling2D"):
            prune_low_magnitude(no_pooling, pruning_policy=policy)
        x = layers.ZeroPadding2D(1)(inputs)
        x = layers.Conv2D(8, 3, strides=2)(x)
        x = layers.Conv2D(8, 3, padding="same", name="wide")(x)
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        unsupported = keras.Model(inputs, x)
        with self.assertRaisesRegex(
            ValueError, r"Conv2D \('wide'\) is not supported for the PruneForLatencyOnXNNPack"
        ):
            prune_low_magnitude(unsupported, pruning_policy=policy)
        with self.assertRaisesRegex(TypeError, "pruning_policy"):
            prune_low_magnitude(mobilenet_like(), pruning_policy="xnnpack")
        with self.assertRaisesRegex(ValueError, "pruning_policy"):
            prune_low_magnitude(layers.Conv2D(4, 1), pruning_policy=policy)
        with self.assertRaises(NotImplementedError):
            PruningPolicy().allow_pruning(layers.Dense(2))

    def test_sparse_tflite_conversion(self):
        from tfx_ext.lite.interpreter import make_interpreter

        model = mobilenet_like(size=16)
        pruned = prune_low_magnitude(
            model, ConstantSparsity(0.8, 0), pruning_policy=PruneForLatencyOnXNNPack()
        )
        for wrapper in pruning_wrappers(pruned):
            wrapper.update_masks(0.8)
        stripped = strip_pruning(pruned)
        self.assertFalse(any(isinstance(l, PruneLowMagnitude) for l in stripped.layers))
        sparse = convert(stripped, sparsity=True)
        dense = convert(stripped)
        self.assertEqual(dense.sparse_tensors, [])
        self.assertLen(sparse.sparse_tensors, 2)  # the two pruned 1x1 kernels
        self.assertLess(sparse.size, dense.size)
        x = np.random.default_rng(0).standard_normal((1, 16, 16, 3)).astype("float32")
        interpreter = make_interpreter(sparse.content)
        runner = interpreter.get_signature_runner()
        (output,) = runner(**{next(iter(runner.get_input_details())): x}).values()
        self.assertAllClose(output, keras.ops.convert_to_numpy(stripped(x)), atol=1e-4)

    @rejects_bad_input(convert)
    def test_convert_rejects_a_non_boolean_sparsity(self):
        with self.assertRaisesRegex(
            TypeError, r"argument `sparsity`.*True or False.*sparsity='yes'"
        ):
            convert(mobilenet_like(size=16), sparsity="yes")
