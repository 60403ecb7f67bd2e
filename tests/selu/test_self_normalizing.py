import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.roundtrip import assert_model_round_trip
from tfx_ext.layers import MCAlphaDropout
from tfx_ext.selu import (
    SelfNormalizationError,
    activation_statistics,
    adapt_normalization,
    check_self_normalizing,
    plot_activation_statistics,
    self_normalizing_mlp,
)


def selu_stack(widths, initializer="lecun_normal", input_dim=100):
    return keras.Sequential(
        [keras.Input((input_dim,))]
        + [keras.layers.Dense(w, activation="selu", kernel_initializer=initializer) for w in widths]
        + [keras.layers.Dense(10, kernel_initializer="lecun_normal")]
    )


def reasons(report):
    return [(v.layer, v.reason) for v in report.violations]


class SelfNormalizingMLPTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_builds_the_book_recipe(self):
        x = (5.0 + 3.0 * self.rng.standard_normal((300, 8))).astype("float32")
        model = self_normalizing_mlp((8,), [16, 16], 3, "softmax", dropout_rate=0.1, adapt_data=x)
        kinds = [type(l).__name__ for l in model.layers]
        self.assertEqual(
            kinds, ["Normalization", "Dense", "AlphaDropout", "Dense", "AlphaDropout", "Dense"]
        )
        for layer in model.layers[1:4:2]:
            self.assertIs(layer.activation, keras.activations.selu)
            self.assertIsInstance(layer.kernel_initializer, keras.initializers.LecunNormal)
        self.assertIs(model.layers[-1].activation, keras.activations.softmax)
        standardized = np.asarray(model.layers[0](x))
        self.assertAllClose(standardized.mean(axis=0), np.zeros(8), atol=1e-4)
        self.assertAllClose(standardized.std(axis=0), np.ones(8), atol=1e-3)
        self.assertTrue(check_self_normalizing(model, sample=x).ok)

    def test_mc_variant_uses_mc_alpha_dropout(self):
        model = self_normalizing_mlp((4,), [8], 1, dropout_rate=0.2, mc=True)
        self.assertIsInstance(model.layers[2], MCAlphaDropout)
        self.assertTrue(check_self_normalizing(model).ok)

    def test_activations_stay_normalized_through_100_layers(self):
        x = self.rng.standard_normal((1000, 100)).astype("float32")
        model = self_normalizing_mlp((100,), [100] * 100, 10, adapt_data=x)
        stats = activation_statistics(model, x)[:-1]  # hidden layers
        self.assertLen(stats, 100)
        for s in stats:
            self.assertBetween(s.std, 0.8, 1.2)
            self.assertLess(abs(s.mean), 0.2)

    def test_glorot_breaks_normalization_where_fans_differ_and_checker_says_so(self):
        # Glorot's variance 2 / (fan_in + fan_out) equals LeCun's 1 / fan_in when
        # fan_in == fan_out, so widths alternate to tell them apart.
        x = self.rng.standard_normal((1000, 100)).astype("float32")
        widths = [300, 30] * 50
        glorot = activation_statistics(selu_stack(widths, "glorot_uniform"), x)[:-1]
        self.assertLess(min(s.std for s in glorot), 0.5)
        lecun = activation_statistics(selu_stack(widths, "lecun_normal"), x)[:-1]
        self.assertGreater(min(s.std for s in lecun), 0.7)
        report = check_self_normalizing(selu_stack(widths[:4], "glorot_uniform"))
        self.assertFalse(report.ok)
        self.assertLen(report.violations, 4)
        self.assertTrue(
            all("GlorotUniform, not LecunNormal" in v.reason for v in report.violations)
        )

    def test_trains_on_digits_and_predicts_with_mc_dropout(self):
        from tfx_ext.uncertainty import mc_predict

        x_train, y_train, x_test, y_test = digits()
        model = self_normalizing_mlp(
            (64,), [64, 64], 10, "softmax", dropout_rate=0.1, mc=True, adapt_data=x_train
        )
        model.compile(
            optimizer=keras.optimizers.Nadam(1e-3), loss="sparse_categorical_crossentropy"
        )
        model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
        prediction = mc_predict(model, x_test, samples=30, seed=0)
        self.assertGreater((prediction.predicted_class == y_test).mean(), 0.93)


class CheckSelfNormalizingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def dense(self, units=8, **kwargs):
        kwargs.setdefault("activation", "selu")
        kwargs.setdefault("kernel_initializer", "lecun_normal")
        return keras.layers.Dense(units, **kwargs)

    def test_accepts_a_compliant_net(self):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                self.dense(name="a"),
                keras.layers.AlphaDropout(0.1),
                keras.layers.Dense(
                    8,
                    kernel_initializer=keras.initializers.VarianceScaling(1.0, "fan_in", "normal"),
                ),
                keras.layers.Activation("selu"),
                self.dense(name="b"),
                MCAlphaDropout(0.1),
                keras.layers.Dense(2, activation="softmax", kernel_initializer="glorot_uniform"),
            ]
        )
        report = check_self_normalizing(model, sample=self.rng.standard_normal((500, 4)))
        self.assertTrue(report.ok, str(report))
        self.assertIn("meets the conditions", str(report))
        report.raise_if_violated()  # no error

    def test_flags_each_incompatible_layer_by_name(self):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                self.dense(name="relu_layer", activation="relu"),
                self.dense(name="he_layer", kernel_initializer="he_normal"),
                keras.layers.BatchNormalization(name="bn"),
                keras.layers.Dropout(0.2, name="plain_dropout"),
                self.dense(name="l2_layer", kernel_regularizer="l2"),
                self.dense(name="activity_layer", activity_regularizer="l1"),
                keras.layers.Dense(2, name="output"),
            ]
        )
        found = reasons(check_self_normalizing(model))
        layers = [layer for layer, _ in found]
        self.assertEqual(
            sorted(layers),
            sorted(["relu_layer", "he_layer", "bn", "plain_dropout", "l2_layer", "activity_layer"]),
        )
        messages = dict(found)
        self.assertIn("'relu', not 'selu'", messages["relu_layer"])
        self.assertIn("HeNormal, not LecunNormal", messages["he_layer"])
        self.assertIn("BatchNormalization", messages["bn"])
        self.assertIn("use AlphaDropout", messages["plain_dropout"])
        self.assertIn("kernel_regularizer L2", messages["l2_layer"])
        self.assertIn("activity_regularizer L1", messages["activity_layer"])

    def test_flags_skip_connections_branches_and_several_inputs(self):
        x = keras.Input((4,))
        h = self.dense(name="h")(x)
        skip = keras.layers.Add(name="skip")([h, self.dense(name="h2")(h)])
        model = keras.Model(x, keras.layers.Dense(1)(skip))
        found = reasons(check_self_normalizing(model))
        self.assertTrue(
            any(layer == "skip" and "merges 2 tensors" in r for layer, r in found), found
        )
        self.assertTrue(any("branching graph" in r for _, r in found), found)

        a, b = keras.Input((2,)), keras.Input((2,))
        merged = keras.layers.Concatenate(name="concat")([a, b])
        model = keras.Model([a, b], keras.layers.Dense(1)(self.dense()(merged)), name="two_inputs")
        found = reasons(check_self_normalizing(model))
        self.assertIn(("two_inputs", "2 inputs: not a plain sequential stack"), found)

    def test_checks_layers_of_nested_models_and_recurrent_layers(self):
        inner = keras.Sequential(
            [keras.Input((4,)), self.dense(name="inner_relu", activation="relu")], name="inner"
        )
        model = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(1)])
        self.assertIn("inner_relu", [layer for layer, _ in reasons(check_self_normalizing(model))])
        rnn = keras.Sequential(
            [keras.Input((3, 4)), keras.layers.SimpleRNN(4, name="rnn"), keras.layers.Dense(1)]
        )
        self.assertIn("rnn", [layer for layer, _ in reasons(check_self_normalizing(rnn))])

    def test_flags_non_finite_inputs_after_normalization(self):
        # A Normalization whose statistics hold a NaN makes that feature NaN:
        # its mean and std compare False with every bound, so it must be flagged.
        mean = np.zeros(4, "float32")
        mean[2] = np.nan
        norm = keras.layers.Normalization(mean=mean, variance=np.ones(4, "float32"))
        model = keras.Sequential(
            [keras.Input((4,)), norm, self.dense(name="a"), keras.layers.Dense(2)]
        )
        report = check_self_normalizing(
            model, sample=self.rng.standard_normal((200, 4)).astype("float32")
        )
        self.assertFalse(report.ok)
        self.assertIn("200 of 800 input values are NaN or infinite", str(report))

    def test_flags_unstandardized_inputs_after_normalization(self):
        model = keras.Sequential([keras.Input((3,)), self.dense(), keras.layers.Dense(1)])
        z = self.rng.standard_normal((400, 3))
        z = (z - z.mean(axis=0)) / z.std(axis=0)
        raw = z * [1.0, 1.0, 10.0] + [0.0, 5.0, 0.0]  # feature 1 off-center, feature 2 too spread
        found = reasons(check_self_normalizing(model, sample=raw))
        self.assertLen(found, 2)
        self.assertIn("1 of 3 features have |mean| > 0.2 (worst: feature 1", found[0][1])
        self.assertIn("features have std outside [0.7, 1.3] (worst: feature 2", found[1][1])
        # The same data through an adapted Normalization layer is fine.
        normalization = keras.layers.Normalization()
        normalization.adapt(raw)
        fixed = keras.Sequential(
            [keras.Input((3,)), normalization, self.dense(), keras.layers.Dense(1)]
        )
        self.assertTrue(check_self_normalizing(fixed, sample=raw).ok)

    def test_constant_features_are_not_flagged(self):
        # Border pixels of the digits are always 0: no scaling can standardize them.
        model = keras.Sequential([keras.Input((3,)), self.dense(), keras.layers.Dense(1)])
        z = self.rng.standard_normal((400, 3))
        z = (z - z.mean(axis=0)) / z.std(axis=0)
        z[:, 1] = 0.0
        self.assertTrue(check_self_normalizing(model, sample=z).ok)
        z[:, 1] = 3.0
        self.assertTrue(check_self_normalizing(model, sample=z).ok)

    def test_report_text_and_error(self):
        model = keras.Sequential(
            [keras.Input((4,))]
            + [self.dense(name=f"r{i}", activation="relu") for i in range(5)]
            + [keras.layers.Dense(1)]
        )
        report = check_self_normalizing(model)
        text = str(report)
        self.assertIn("breaks 5 condition(s)", text)
        self.assertIn(
            "r0, r1, r2 and 2 more layers: hidden layer activation is 'relu', not 'selu'", text
        )
        with self.assertRaisesRegex(SelfNormalizationError, "r0, r1, r2"):
            report.raise_if_violated()
        self.assertTrue(issubclass(SelfNormalizationError, ValueError))

    @rejects_bad_input(check_self_normalizing, self_normalizing_mlp)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            check_self_normalizing("not a model")
        with self.assertRaisesRegex(ValueError, r"argument `hidden_units`.*non-empty list"):
            self_normalizing_mlp((4,), [], 1)
        with self.assertRaisesRegex(
            ValueError, r"argument `hidden_units`.*Received: hidden_units=0"
        ):
            self_normalizing_mlp((4,), [8, 0], 1)
        with self.assertRaisesRegex(
            ValueError, r"argument `dropout_rate`.*Received: dropout_rate=1"
        ):
            self_normalizing_mlp((4,), [8], 1, dropout_rate=1.0)
        with self.assertRaisesRegex(ValueError, r"argument `output_units`"):
            self_normalizing_mlp((4,), [8], 0)

    @rejects_bad_input(self_normalizing_mlp, adapt_normalization)
    def test_bad_input_shape_and_adapt_data(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `input_shape`.*tuple of integers.*Received: input_shape=64"
        ):
            self_normalizing_mlp(64, [8], 1)
        with self.assertRaisesRegex(
            ValueError, r"argument `input_shape`.*Received: input_shape=\(4, 0\)"
        ):
            self_normalizing_mlp((4, 0), [8], 1)
        x = self.rng.standard_normal((20, 4)).astype("float32")
        x[3, 1] = np.nan
        # One NaN would adapt a Normalization that turns every prediction into NaN.
        with self.assertRaisesRegex(ValueError, r"argument `adapt_data`.*finite values.*1 NaN"):
            self_normalizing_mlp((4,), [8], 1, adapt_data=x)
        with self.assertRaisesRegex(ValueError, r"argument `adapt_data`.*non-empty batch"):
            self_normalizing_mlp((4,), [8], 1, adapt_data=np.zeros((0, 4), "float32"))
        with self.assertRaisesRegex(
            ValueError, r"argument `adapt_data`.*examples of shape \(4,\).*\(20, 5\)"
        ):
            self_normalizing_mlp((4,), [8], 1, adapt_data=np.zeros((20, 5), "float32"))
        with self.assertRaisesRegex(TypeError, r"argument `adapt_data`.*numeric"):
            self_normalizing_mlp((4,), [8], 1, adapt_data=[["a"] * 4] * 3)
        with self.assertRaisesRegex(ValueError, r"argument `data`.*finite"):
            adapt_normalization(keras.layers.Normalization(), x)
        with self.assertRaisesRegex(TypeError, r"argument `normalization`"):
            adapt_normalization(keras.layers.Dense(3), np.ones((3, 4)))

    @rejects_bad_input(check_self_normalizing)
    def test_bad_std_range_sample_and_subclassed_model(self):
        model = self_normalizing_mlp((4,), [8], 1)
        for std_range in ((1.3, 0.7), (1.0, 1.0), (0.7,), "0.7-1.3", (-1, 1)):
            with (
                self.subTest(std_range=std_range),
                self.assertRaisesRegex(ValueError, r"argument `std_range`"),
            ):
                check_self_normalizing(model, std_range=std_range)
        with self.assertRaisesRegex(ValueError, r"argument `sample`.*finite"):
            check_self_normalizing(model, sample=np.full((5, 4), np.nan, "float32"))

        class Sub(keras.Model):
            def __init__(self):
                super().__init__(name="sub")
                self.dense = keras.layers.Dense(2)

            def call(self, x):
                return self.dense(x)

        sub = Sub()
        sub(np.zeros((1, 4), "float32"))
        with self.assertRaisesRegex(
            ValueError, r"argument `model`.*Sequential or functional.*subclassed model 'sub'"
        ):
            check_self_normalizing(sub)


class ActivationStatisticsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    @rejects_bad_input(activation_statistics, plot_activation_statistics)
    def test_bad_input(self):
        model = self_normalizing_mlp((4,), [8, 8], 1)
        with self.assertRaisesRegex(ValueError, r"argument `x`.*examples of shape \(4,\)"):
            activation_statistics(model, np.zeros((3, 5), "float32"))
        with self.assertRaisesRegex(ValueError, r"argument `x`.*finite"):
            activation_statistics(model, np.full((3, 4), np.inf, "float32"))
        with self.assertRaisesRegex(ValueError, r"argument `x`.*non-empty"):
            activation_statistics(model, np.zeros((0, 4), "float32"))
        with self.assertRaisesRegex(ValueError, r"argument `layer_types`"):
            activation_statistics(
                model, np.zeros((3, 4), "float32"), layer_types=(keras.layers.Conv2D,)
            )
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            activation_statistics("model", np.zeros((3, 4), "float32"))
        with self.assertRaisesRegex(ValueError, r"argument `statistics`"):
            plot_activation_statistics([])
        with self.assertRaisesRegex(ValueError, r"argument `statistics`"):
            plot_activation_statistics(model)

    def test_matches_a_numpy_forward_pass(self):
        model = selu_stack([6, 5], input_dim=4)
        x = np.random.default_rng(1).standard_normal((50, 4)).astype("float32")
        h = x
        expected = []
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        for layer in model.layers:
            kernel, bias = (np.asarray(w, "float64") for w in layer.weights)
            z = h @ kernel + bias
            h = (
                scale * np.where(z > 0, z, alpha * (np.exp(z) - 1))
                if layer.activation is keras.activations.selu
                else z
            )
            expected.append((layer.name, h.mean(), h.std()))
        stats = activation_statistics(model, x)
        self.assertEqual([s.name for s in stats], [e[0] for e in expected])
        self.assertAllClose([s.mean for s in stats], [e[1] for e in expected], atol=1e-5)
        self.assertAllClose([s.std for s in stats], [e[2] for e in expected], atol=1e-5)

    def test_plot_writes_an_image(self):
        model = selu_stack([8] * 5, input_dim=4)
        stats = activation_statistics(model, np.random.default_rng(1).standard_normal((64, 4)))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "stats.png")
            plot_activation_statistics(stats, path=path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_serialization_of_the_built_model(self):
        x = np.random.default_rng(1).standard_normal((64, 4)).astype("float32")
        model = self_normalizing_mlp((4,), [8, 8], 2, "softmax", adapt_data=x)
        assert_model_round_trip(self, model, x[:8])
        mc = self_normalizing_mlp((4,), [8], 2, "softmax", dropout_rate=0.2, mc=True, adapt_data=x)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "mc.keras")
            mc.save(path)
            loaded = keras.models.load_model(path)
        self.assertIsInstance(loaded.layers[2], MCAlphaDropout)
        self.assertEqual(loaded.layers[2].get_config(), mc.layers[2].get_config())
