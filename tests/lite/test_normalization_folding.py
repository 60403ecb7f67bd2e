import functools

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_model_round_trip
from tfx_ext.lite import QuantizeAware, compare, convert, fold_normalization, quantize_aware
from tfx_ext.lite.integer_selu import integer_friendly_selu
from tfx_ext.selu import adapt_normalization


@functools.lru_cache(maxsize=None)
def raw_digits():
    """Digits as raw pixel counts (0..16): per-pixel spreads differ, some pixels are constant."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    split = train_test_split(
        data.data.astype("float32"),
        data.target.astype("int32"),
        test_size=0.25,
        random_state=42,
        stratify=data.target,
    )
    return split[0], split[2], split[1], split[3]


def adapted(data, axis=-1, name="norm"):
    layer = keras.layers.Normalization(axis=axis, name=name)
    layer.adapt(data)
    return layer


class FoldNormalizationTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)
        self.x = (3.0 + self.rng.standard_normal((64, 5)) * [1.0, 0.05, 50.0, 2.0, 0.1]).astype(
            "float32"
        )

    def assertSameFunction(self, model, folded, x, atol=1e-5):
        self.assertAllClose(folded(x), model(x), atol=atol)

    def test_dense_sequential_and_functional(self):
        sequential = keras.Sequential(
            [keras.Input((5,)), adapted(self.x), keras.layers.Dense(4, activation="relu")]
        )
        inputs = keras.Input((5,))
        hidden = keras.layers.Dense(3, use_bias=False, name="no_bias")(adapted(self.x)(inputs))
        functional = keras.Model(inputs, keras.layers.Dense(2)(hidden))
        for model, target in ((sequential, sequential.layers[1].name), (functional, "no_bias")):
            result = fold_normalization(model)
            self.assertEqual([pair[1] for pair in result.folded], [target])
            self.assertEqual(result.not_folded, [])
            self.assertSameFunction(model, result.model, self.x)
            kinds = [type(layer).__name__ for layer in result.model.layers]
            self.assertNotIn("Normalization", kinds)
        # the bias-free Dense gained the bias that carries the mean
        self.assertTrue(fold_normalization(functional).model.get_layer("no_bias").use_bias)
        self.assertEqual(len(functional.get_layer("no_bias").weights), 1)  # original untouched

    def test_dense_kernel_and_bias_follow_the_formula(self):
        model = keras.Sequential(
            [keras.Input((5,)), adapted(self.x), keras.layers.Dense(3, name="d")]
        )
        kernel, bias = model.get_layer("d").get_weights()
        mean, std = self.x.astype("float64").mean(0), self.x.astype("float64").std(0)
        new_kernel, new_bias = fold_normalization(model).model.get_layer("d").get_weights()
        self.assertAllClose(new_kernel, kernel / std[:, None], rtol=1e-3)
        self.assertAllClose(new_bias, bias - (mean / std) @ kernel, rtol=1e-3, atol=1e-3)

    def test_valid_convolution_folds_same_padding_does_not(self):
        images = (1.0 + self.rng.standard_normal((8, 6, 6, 3)) * [0.5, 4.0, 0.01]).astype("float32")
        for padding, folds in (("valid", True), ("same", False)):
            model = keras.Sequential(
                [
                    keras.Input((6, 6, 3)),
                    adapted(images),
                    keras.layers.Conv2D(4, 3, padding=padding, name="conv"),
                ]
            )
            result = fold_normalization(model)
            if folds:
                self.assertEqual(result.folded, [("norm", "conv")])
                self.assertSameFunction(model, result.model, images, atol=1e-4)
            else:
                self.assertEqual(result.folded, [])
                ((name, reason),) = result.not_folded
                self.assertEqual(name, "norm")
                self.assertIn("padding='same'", reason)
                self.assertIs(result.model, model)

    def test_conv1d_folds(self):
        series = (2.0 + self.rng.standard_normal((4, 10, 2)) * [3.0, 0.2]).astype("float32")
        model = keras.Sequential([keras.Input((10, 2)), adapted(series), keras.layers.Conv1D(3, 4)])
        result = fold_normalization(model)
        self.assertEqual(len(result.folded), 1)
        self.assertSameFunction(model, result.model, series, atol=1e-4)

    def test_calls_outside_the_model_do_not_count(self):
        # A layer remembers every call made of it: a Sequential reloaded from
        # `.keras` (or whose layers another model also calls) carries calls
        # that are not part of its graph. Only its own calls decide.
        model = keras.Sequential(
            [keras.Input((5,)), adapted(self.x, name="n"), keras.layers.Dense(3, name="d")]
        )
        elsewhere = keras.Input((5,))
        keras.Model(elsewhere, model.get_layer("d")(model.get_layer("n")(elsewhere)))
        path = self.get_temp_dir() + "/model.keras"
        model.save(path)
        reloaded = keras.saving.load_model(path)
        for candidate in (model, reloaded):
            self.assertGreater(len(candidate.get_layer("n")._inbound_nodes), 1)
            result = fold_normalization(candidate)
            self.assertEqual(result.folded, [("n", "d")])
            self.assertSameFunction(candidate, result.model, self.x)

    def test_a_layer_called_twice_in_the_model_is_not_folded(self):
        inputs = [keras.Input((5,)), keras.Input((5,))]
        norm, dense = adapted(self.x, name="twice"), keras.layers.Dense(2)
        model = keras.Model(
            inputs, keras.layers.Add()([dense(norm(inputs[0])), dense(norm(inputs[1]))])
        )
        result = fold_normalization(model)
        self.assertEqual(result.folded, [])
        self.assertEqual(
            result.not_folded, [("twice", "it is called more than once (a shared layer)")]
        )

    def test_what_cannot_be_folded_is_reported(self):
        inputs = keras.Input((5,))
        normalized = adapted(self.x, name="shared_out")(inputs)
        two_consumers = keras.Model(
            inputs, [keras.layers.Dense(2)(normalized), keras.layers.Dense(3)(normalized)]
        )
        inputs = keras.Input((5,))
        inverted = keras.layers.Normalization(invert=True, mean=0.0, variance=4.0, name="inv")
        denormalize = keras.Model(inputs, keras.layers.Dense(2)(inverted(inputs)))
        inputs = keras.Input((5,))
        nonlinear = keras.Model(
            inputs,
            keras.layers.Dense(2)(
                keras.layers.ReLU(name="relu")(adapted(self.x, name="n")(inputs))
            ),
        )
        cases = [
            (two_consumers, "shared_out", "feeds 2 layers"),
            (denormalize, "inv", "inverts"),
            (nonlinear, "n", "it feeds 'relu' (ReLU)"),
        ]
        for model, name, reason in cases:
            result = fold_normalization(model)
            self.assertEqual(result.folded, [])
            ((reported, why),) = result.not_folded
            self.assertEqual(reported, name)
            self.assertIn(reason, why)

    def test_folded_model_round_trips(self):
        model = keras.Sequential(
            [keras.Input((5,)), adapted(self.x), keras.layers.Dense(4, activation="selu")]
        )
        folded = fold_normalization(model).model
        assert_model_round_trip(self, folded, self.x)

    def test_integer_friendly_selu_equals_selu_and_round_trips(self):
        x = np.linspace(-8.0, 8.0, 161, dtype="float32")
        self.assertAllClose(integer_friendly_selu(x), keras.activations.selu(x), atol=1e-6)
        model = keras.Sequential(
            [keras.Input((5,)), keras.layers.Dense(3, activation=integer_friendly_selu)]
        )
        assert_model_round_trip(self, model, self.x)

    @rejects_bad_input(fold_normalization)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, "argument `model`. Expected a built Sequential"):
            fold_normalization("model.keras")

        class Sub(keras.Model):
            def call(self, x):
                return x

        with self.assertRaisesRegex(TypeError, "argument `model`"):
            fold_normalization(Sub())
        with self.assertRaisesRegex(
            ValueError, "argument `fold_normalization`. Expected 'auto', True or False"
        ):
            convert(
                keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)]),
                "int8",
                fold_normalization="yes",
            )


class QuantizeAwareFoldingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        x = np.random.default_rng(0).standard_normal((64, 5)) * [1.0, 0.05, 50.0, 2.0, 0.1]
        self.x = (3.0 + x).astype("float32")

    def test_quantize_aware_wraps_the_folded_kernel(self):
        model = keras.Sequential(
            [keras.Input((5,)), adapted(self.x), keras.layers.Dense(3, name="d")]
        )
        qat = quantize_aware(model, fold_normalization=True)
        self.assertEqual(
            [type(layer).__name__ for layer in qat.layers], ["Identity", "QuantizeAware"]
        )
        wrapped = qat.layers[1]
        self.assertIsInstance(wrapped, QuantizeAware)
        expected = fold_normalization(model).model.get_layer("d").get_weights()
        for got, want in zip(wrapped.layer.get_weights(), expected):
            self.assertAllClose(got, want)
        unfolded = quantize_aware(model)  # the default keeps the Normalization layer
        self.assertIsInstance(unfolded.layers[0], keras.layers.Normalization)

    @rejects_bad_input(quantize_aware)
    def test_bad_fold_argument(self):
        model = keras.Sequential([keras.Input((5,)), adapted(self.x), keras.layers.Dense(3)])
        with self.assertRaisesRegex(
            TypeError, "argument `fold_normalization`. Expected True or False"
        ):
            quantize_aware(model, fold_normalization="yes")


class FoldedInt8DigitsTest(tf.test.TestCase):
    """Full-integer int8 of a Normalization-first MLP on raw digit pixels."""

    def test_int8_within_one_point_of_keras(self):
        keras.utils.set_random_seed(0)
        x_train, y_train, x_test, y_test = raw_digits()
        normalization = keras.layers.Normalization(name="standardize")
        adapt_normalization(normalization, x_train)
        model = keras.Sequential(
            [
                keras.Input((64,)),
                normalization,
                keras.layers.Dense(64, activation="relu", name="hidden"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
        reports = {}
        for fold in ("auto", True, False):
            result = convert(model, "int8", representative_data=x_train, fold_normalization=fold)
            self.assertEqual(result.float_ops, [])
            if fold is True:
                self.assertEqual(result.folded_normalization, [("standardize", "hidden")])
            if fold is False:
                self.assertEqual(result.folded_normalization, [])
            reports[fold] = compare(model, result, x_test, y_test)
        self.assertGreater(reports["auto"].keras_accuracy, 0.9)
        # "auto" keeps whichever conversion is closer to the Keras model.
        best = min(reports[True].mean_abs_diff, reports[False].mean_abs_diff)
        self.assertAllClose(reports["auto"].mean_abs_diff, best)
        self.assertLessEqual(reports["auto"].accuracy_drop, 0.01)  # one point
