import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_model_optimization.sparsity import keras as tfmot_sparsity

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.sparsity.models import compile_classifier, expected_zeros, mlp
from tfx_ext.layers import SqueezeExcitation, WeightNormalization
from tfx_ext.sparsity import (
    ConstantSparsity,
    PolynomialDecay,
    PrunableLayer,
    PruneLowMagnitude,
    PruningSchedule,
    UpdatePruningStep,
    is_prunable,
    prunable_weights,
    prune_low_magnitude,
    pruning_wrappers,
    strip_pruning,
)

pytestmark = pytest.mark.backend_neutral


class CustomDense(keras.layers.Layer, PrunableLayer):
    """A custom layer that opts into pruning through `get_prunable_weights`."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="ones")

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.kernel) + self.bias

    def get_prunable_weights(self):
        return [self.kernel]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def functional_model():
    inner = keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(12, activation="relu", name="inner_dense"),
            keras.layers.Dropout(0.2, name="inner_dropout"),
        ],
        name="inner",
    )
    inputs = keras.Input((64,))
    h = keras.layers.Dense(16, activation="relu", name="first")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = inner(h)
    outputs = keras.layers.Dense(10, name="head")(h)
    return keras.Model(inputs, outputs, name="functional")


def layer_classes(model):
    out = []
    for layer in model.layers:
        out.append((layer.name, type(layer).__name__))
        if isinstance(layer, keras.Model):
            out += [(f"{layer.name}/{n}", c) for n, c in layer_classes(layer)]
    return out


def snapshot(model):
    return [np.array(w) for w in model.get_weights()]


class PruneLowMagnitudeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)
        self.x_train, self.y_train, self.x_test, self.y_test = digits()

    def test_single_layer_and_default_schedule(self):
        dense = keras.layers.Dense(4, name="d")
        wrapped = prune_low_magnitude(dense)
        self.assertIsInstance(wrapped, PruneLowMagnitude)
        self.assertIs(wrapped.layer, dense)
        self.assertEqual(wrapped.name, "prune_low_magnitude_d")
        self.assertEqual(
            wrapped.pruning_schedule.get_config(),
            ConstantSparsity(0.5, begin_step=0, end_step=-1, frequency=100).get_config(),
        )
        # The wrapper adds nothing to the forward pass.
        x = self.rng.standard_normal((3, 6)).astype("float32")
        self.assertAllClose(wrapped(x), dense(x))
        self.assertEqual([w.name for w in wrapped.pruned_weights], ["kernel"])
        self.assertAllEqual(wrapped.masks[0], np.ones((6, 4)))
        self.assertEqual(int(wrapped.pruning_step), -1)

    def test_update_masks_and_strip_single_layer(self):
        max_norm = keras.constraints.MaxNorm(100.0)
        dense = keras.layers.Dense(5, kernel_constraint=max_norm)
        wrapped = PruneLowMagnitude(dense)
        x = self.rng.standard_normal((4, 8)).astype("float32")
        wrapped(x)
        kernel = keras.ops.convert_to_numpy(dense.kernel).copy()
        wrapped.update_masks(0.75)
        mask = keras.ops.convert_to_numpy(wrapped.masks[0])
        keep = int(round(0.25 * kernel.size))
        threshold = np.sort(np.abs(kernel), axis=None)[-keep]
        self.assertAllEqual(mask, (np.abs(kernel) >= threshold).astype("float32"))
        self.assertAllEqual(keras.ops.convert_to_numpy(dense.kernel), kernel * mask)
        expected = x @ (kernel * mask) + keras.ops.convert_to_numpy(dense.bias)
        self.assertAllClose(wrapped(x), expected, atol=1e-6)
        # While wrapped, the optimizer's constraint step re-applies the mask (after the layer's own constraint).
        keras.optimizers.SGD(1.0).apply_gradients(
            [(np.ones(kernel.shape, "float32"), dense.kernel)]
        )
        updated = keras.ops.convert_to_numpy(dense.kernel)
        self.assertAllEqual(updated[mask == 0], np.zeros(int((mask == 0).sum())))
        self.assertAllClose(updated[mask == 1], kernel[mask == 1] - 1.0)
        dense.kernel.assign(kernel * mask)

        stripped = strip_pruning(wrapped)
        self.assertIs(stripped, dense)
        self.assertAllClose(stripped(x), expected, atol=1e-6)
        # The layer comes back with its own constraint only: no pruning left in it.
        self.assertIs(stripped.kernel.constraint, max_norm)
        keras.optimizers.SGD(1.0).apply_gradients(
            [(np.ones(kernel.shape, "float32"), dense.kernel)]
        )
        self.assertAllClose(keras.ops.convert_to_numpy(dense.kernel), kernel * mask - 1.0)

    def test_list_of_layers(self):
        layers = [keras.layers.Dense(3), keras.layers.Conv2D(2, 3)]
        wrapped = prune_low_magnitude(layers, ConstantSparsity(0.3, begin_step=0))
        self.assertLen(wrapped, 2)
        for original, wrapper in zip(layers, wrapped):
            self.assertIsInstance(wrapper, PruneLowMagnitude)
            self.assertIs(wrapper.layer, original)
            self.assertEqual(wrapper.pruning_schedule.target_sparsity, 0.3)

    def test_unsupported_layers_in_list(self):
        layers = [
            keras.layers.Dense(3),
            keras.layers.ConvLSTM2D(4, 3, name="my_convlstm"),
            keras.layers.RNN(keras.layers.ConvLSTM2D(2, 3).cell, name="my_rnn"),
        ]
        with self.assertRaisesRegex(ValueError, r"cannot be pruned: my_convlstm, my_rnn\..*Dense"):
            prune_low_magnitude(layers)
        with self.assertRaisesRegex(ValueError, r"'my_convlstm' \(ConvLSTM2D\) cannot be pruned"):
            PruneLowMagnitude(layers[1])

    def test_sequential_model(self):
        model = mlp()
        x = self.x_test[:32]
        before = snapshot(model)
        pruned = prune_low_magnitude(
            model, PolynomialDecay(0.0, 0.5, begin_step=0, end_step=20, frequency=5)
        )
        self.assertIsNot(pruned, model)
        self.assertEqual([type(l).__name__ for l in pruned.layers], ["PruneLowMagnitude"] * 3)
        self.assertEqual([l.layer.name for l in pruned.layers], ["hidden1", "hidden2", "logits"])
        self.assertEqual([type(l).__name__ for l in model.layers], ["Dense"] * 3)
        self.assertAllClose(pruned.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
        self.assertLen(pruning_wrappers(pruned), 3)
        self.assertEqual(pruning_wrappers(model), [])

        compile_classifier(pruned).fit(
            self.x_train,
            self.y_train,
            epochs=1,
            batch_size=64,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        # The original model is untouched (its own variables, not shared).
        for original, now in zip(before, snapshot(model)):
            self.assertAllEqual(original, now)
        for wrapper in pruned.layers:
            kernel = keras.ops.convert_to_numpy(wrapper.layer.kernel)
            self.assertEqual(int((kernel == 0).sum()), expected_zeros(kernel.size, 0.5))

    def test_functional_model_with_nested_sequential(self):
        model = functional_model()
        model.get_layer("bn").set_weights(
            [
                w + self.rng.uniform(0.5, 1.0, w.shape).astype("float32")
                for w in model.get_layer("bn").get_weights()
            ]
        )
        x = self.x_test[:16]
        before = snapshot(model)
        pruned = prune_low_magnitude(model, ConstantSparsity(0.5, begin_step=0, frequency=10))
        self.assertEqual(
            layer_classes(pruned)[1:],
            [
                ("prune_low_magnitude_first", "PruneLowMagnitude"),
                ("bn", "BatchNormalization"),
                ("inner", "Sequential"),
                ("inner/prune_low_magnitude_inner_dense", "PruneLowMagnitude"),
                ("inner/inner_dropout", "Dropout"),
                ("prune_low_magnitude_head", "PruneLowMagnitude"),
            ],
        )
        self.assertEqual(
            sorted(w.layer.name for w in pruning_wrappers(pruned)), ["first", "head", "inner_dense"]
        )
        self.assertAllClose(pruned(x, training=False), model(x, training=False), atol=1e-6)
        compile_classifier(pruned).fit(
            self.x_train,
            self.y_train,
            epochs=1,
            batch_size=64,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        for original, now in zip(before, snapshot(model)):
            self.assertAllEqual(original, now)
        for wrapper in pruning_wrappers(pruned):
            kernel = keras.ops.convert_to_numpy(wrapper.layer.kernel)
            self.assertEqual(int((kernel == 0).sum()), expected_zeros(kernel.size, 0.5))
        stripped = strip_pruning(pruned)
        self.assertEqual(pruning_wrappers(stripped), [])
        self.assertAllClose(stripped(x, training=False), pruned(x, training=False), atol=1e-6)

    def test_supported_layer_types(self):
        cases = [
            (keras.layers.Dense(6), (5, 8), ["kernel"]),
            (keras.layers.Conv1D(4, 3), (2, 10, 4), ["kernel"]),
            (keras.layers.Conv2D(4, 3), (2, 8, 8, 4), ["kernel"]),
            (keras.layers.Conv2DTranspose(4, 3), (2, 8, 8, 4), ["kernel"]),
            (keras.layers.Conv1DTranspose(4, 3), (2, 8, 4), ["kernel"]),
            # As tfmot: the pointwise kernel only.
            (keras.layers.SeparableConv2D(8, 3), (2, 8, 8, 4), ["pointwise_kernel"]),
            (keras.layers.LSTM(4), (2, 5, 8), ["kernel", "recurrent_kernel"]),
            (keras.layers.GRU(4), (2, 5, 8), ["kernel", "recurrent_kernel"]),
            (keras.layers.SimpleRNN(4), (2, 5, 8), ["kernel", "recurrent_kernel"]),
            (
                keras.layers.RNN(
                    keras.layers.StackedRNNCells(
                        [keras.layers.LSTMCell(4), keras.layers.GRUCell(3)]
                    )
                ),
                (2, 5, 8),
                ["kernel", "recurrent_kernel"] * 2,
            ),
            (keras.layers.Embedding(20, 8), None, ["embeddings"]),
            (
                keras.layers.EinsumDense("ab,bc->ac", output_shape=6, bias_axes="c"),
                (5, 8),
                ["kernel"],
            ),
            (WeightNormalization(keras.layers.Dense(6)), (5, 8), ["kernel"]),
            (SqueezeExcitation(ratio=2), (2, 4, 4, 8), ["kernel", "kernel"]),
            (CustomDense(6), (5, 8), ["kernel"]),
        ]
        for layer, shape, names in cases:
            with self.subTest(type(layer).__name__):
                self.assertTrue(is_prunable(layer))
                if shape is None:
                    x = self.rng.integers(0, 20, (5, 7))
                else:
                    x = self.rng.standard_normal(shape).astype("float32")
                wrapper = PruneLowMagnitude(layer, ConstantSparsity(0.5, begin_step=0))
                out = keras.ops.convert_to_numpy(wrapper(x))
                self.assertAllClose(out, layer(x))
                self.assertEqual([w.name for w in wrapper.pruned_weights], names)
                self.assertEqual(
                    [id(w) for w in wrapper.pruned_weights],
                    [id(w) for w in prunable_weights(layer)],
                )
                # Biases and other weights are not pruned.
                pruned_ids = {id(w) for w in wrapper.pruned_weights}
                others = {id(w): np.array(w) for w in layer.weights if id(w) not in pruned_ids}
                wrapper.update_masks(0.5)
                for weight, mask in zip(wrapper.pruned_weights, wrapper.masks):
                    values = keras.ops.convert_to_numpy(weight)
                    self.assertEqual(int((values == 0).sum()), expected_zeros(values.size, 0.5))
                    self.assertAllEqual(values == 0, keras.ops.convert_to_numpy(mask) == 0)
                for weight in layer.weights:
                    if id(weight) in others:
                        self.assertAllEqual(np.array(weight), others[id(weight)])
                self.assertAllClose(wrapper(x), layer(x))

    def test_m_by_n_on_embeddings_groups_the_vocabulary_axis(self):
        # As tfmot: the table [vocabulary, dim] is grouped along the vocabulary.
        wrapper = PruneLowMagnitude(keras.layers.Embedding(20, 8), sparsity_m_by_n=(2, 4))
        wrapper(np.arange(5)[None])
        table = keras.ops.convert_to_numpy(wrapper.layer.embeddings).copy()
        wrapper.update_masks(0.0)
        pruned = keras.ops.convert_to_numpy(wrapper.layer.embeddings)
        expected = np.zeros((8, 5, 4), "float32")
        groups = np.abs(table).T.reshape(8, 5, 4)
        np.put_along_axis(expected, np.argsort(groups, axis=-1)[..., -2:], 1.0, axis=-1)
        self.assertAllEqual(pruned, table * expected.reshape(8, 20).T)

    def test_custom_layer_in_model(self):
        model = keras.Sequential([keras.Input((64,)), CustomDense(10, name="custom")])
        pruned = prune_low_magnitude(model, ConstantSparsity(0.8, begin_step=0, frequency=4))
        self.assertIsInstance(pruned.layers[0], PruneLowMagnitude)
        self.assertIsInstance(pruned.layers[0].layer, CustomDense)
        compile_classifier(pruned).fit(
            self.x_train[:256],
            self.y_train[:256],
            epochs=1,
            batch_size=32,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        layer = pruned.layers[0].layer
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        self.assertEqual(int((kernel == 0).sum()), expected_zeros(kernel.size, 0.8))
        self.assertEqual(int((keras.ops.convert_to_numpy(layer.bias) == 0).sum()), 0)

    @rejects_bad_input(PruneLowMagnitude, prune_low_magnitude, is_prunable)
    def test_unsupported_layers(self):
        self.assertFalse(is_prunable(keras.layers.ConvLSTM2D(3, 3)))
        # Accepted as tfmot does, with nothing to prune.
        self.assertTrue(is_prunable(keras.layers.BatchNormalization()))
        model = keras.Sequential(
            [
                keras.Input((5, 3)),
                keras.layers.Flatten(),
                keras.layers.BatchNormalization(),
                keras.layers.Dropout(0.1),
            ],
            name="no_prunable",
        )
        with self.assertRaisesRegex(ValueError, r"Model 'no_prunable' has no prunable layer"):
            prune_low_magnitude(model)
        with self.assertRaisesRegex(TypeError, r"argument `layer`.*Keras layer"):
            PruneLowMagnitude("dense")
        with self.assertRaisesRegex(TypeError, r"argument `to_prune`"):
            prune_low_magnitude(42)
        with self.assertRaisesRegex(TypeError, r"argument `pruning_schedule`"):
            PruneLowMagnitude(keras.layers.Dense(2), tfmot_sparsity.ConstantSparsity(0.5, 0))

    def test_subclassed_model(self):
        class Sub(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(3)

            def call(self, x):
                return self.dense(x)

        model = Sub()
        model(np.zeros((1, 4), "float32"))
        with self.assertRaisesRegex(ValueError, r"Sequential or functional model.*subclassed"):
            prune_low_magnitude(model)

    def test_fit_without_callback(self):
        # Unlike tfmot, the callback is optional: the wrappers advance their own step.
        pruned = compile_classifier(
            prune_low_magnitude(mlp(), ConstantSparsity(0.5, begin_step=0, frequency=2))
        )
        history = pruned.fit(
            self.x_train[:64], self.y_train[:64], epochs=1, batch_size=32, verbose=0
        )
        self.assertLen(history.history["loss"], 1)
        self.assertEqual([int(w.pruning_step) for w in pruning_wrappers(pruned)], [2, 2, 2])
        kernel = keras.ops.convert_to_numpy(strip_pruning(pruned).layers[0].kernel)
        self.assertEqual(int((kernel == 0).sum()), expected_zeros(kernel.size, 0.5))
        # Inference does not advance the step.
        self.assertEqual(pruned.predict(self.x_test[:4], verbose=0).shape, (4, 10))
        pruned.evaluate(self.x_test[:32], self.y_test[:32], verbose=0)
        self.assertEqual([int(w.pruning_step) for w in pruning_wrappers(pruned)], [2, 2, 2])

    @rejects_bad_input(PruneLowMagnitude, prune_low_magnitude)
    def test_block_size_errors(self):
        # Blocks that do not divide the axes are padded, as in tfmot.
        PruneLowMagnitude(keras.layers.Dense(32, name="hidden"), block_size=(3, 3))(
            np.zeros((1, 64), "float32")
        )
        with self.assertRaisesRegex(ValueError, r"argument `block_size`.*rank 1.*'emb'"):
            PruneLowMagnitude(CustomVector(name="emb"), block_size=(2, 2))(
                np.zeros((1, 4), "float32")
            )
        with self.assertRaisesRegex(ValueError, r"argument `block_size`"):
            PruneLowMagnitude(keras.layers.Dense(2), block_size=(2, 0))
        with self.assertRaisesRegex(ValueError, r"argument `block_size`.*pair"):
            PruneLowMagnitude(keras.layers.Dense(2), block_size=(2,))
        with self.assertRaisesRegex(TypeError, r"argument `block_size`"):
            PruneLowMagnitude(keras.layers.Dense(2), block_size=(2, 1.5))
        with self.assertRaisesRegex(ValueError, r"argument `block_pooling_type`.*'MIN'"):
            PruneLowMagnitude(keras.layers.Dense(2), block_pooling_type="MIN")

    @rejects_bad_input(PruneLowMagnitude, prune_low_magnitude)
    def test_m_by_n_errors(self):
        with self.assertRaisesRegex(ValueError, r"argument `sparsity_m_by_n`.*m < n.*\(3, 2\)"):
            PruneLowMagnitude(keras.layers.Dense(2), sparsity_m_by_n=(3, 2))
        with self.assertRaisesRegex(ValueError, r"argument `sparsity_m_by_n`"):
            prune_low_magnitude(keras.layers.Dense(2), sparsity_m_by_n=(4, 4))
        with self.assertRaisesRegex(ValueError, r"argument `sparsity_m_by_n`.*rank 1.*'vec'"):
            PruneLowMagnitude(CustomVector(name="vec"), sparsity_m_by_n=(2, 4))(
                np.zeros((1, 4), "float32")
            )
        # An input axis that n does not divide is padded, as in tfmot.
        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(8, name="odd_input")])
        prune_low_magnitude(model, sparsity_m_by_n=(2, 4))


class HelperArgumentsTest(tf.test.TestCase):
    @rejects_bad_input(strip_pruning, pruning_wrappers, prunable_weights, PrunableLayer)
    def test_bad_arguments(self):
        for function, name in (
            (strip_pruning, "model"),
            (pruning_wrappers, "model"),
            (prunable_weights, "layer"),
        ):
            with self.subTest(function.__name__):
                with self.assertRaisesRegex(
                    TypeError, rf"argument `{name}`.*Received: {name}='dense'"
                ):
                    function("dense")
        with self.assertRaises(NotImplementedError):
            PrunableLayer().get_prunable_weights()

    @rejects_bad_input(PruningSchedule)
    def test_bad_schedule_steps(self):
        with self.assertRaisesRegex(ValueError, r"argument `end_step`.*needs an end"):
            PruningSchedule(0, -1, 1, allow_no_end=False)
        with self.assertRaisesRegex(ValueError, r"argument `frequency`"):
            PruningSchedule(0, 10, 0, allow_no_end=False)


class CustomVector(keras.layers.Layer, PrunableLayer):
    """A layer whose only prunable weight has rank 1."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale

    def get_prunable_weights(self):
        return [self.scale]
