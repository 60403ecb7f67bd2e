import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.layers import MCAlphaDropout, MCDropout, MCSpatialDropout1D, MCSpatialDropout2D
from tfx_ext.uncertainty import enable_mc_dropout, mc_layers, mc_predict

SIGMAS = 4.5

# Written out here rather than imported from the package under test.
TWIN_OF = {
    keras.layers.Dropout: MCDropout,
    keras.layers.AlphaDropout: MCAlphaDropout,
    keras.layers.SpatialDropout1D: MCSpatialDropout1D,
    keras.layers.SpatialDropout2D: MCSpatialDropout2D,
}


def flat_layers(model):
    """Every layer, nested models expanded (depth first), in a naive recursion of our own."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.Model):
            out.extend(flat_layers(layer))
    return out


def sequential_with_every_dropout():
    return keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.SpatialDropout2D(0.2, seed=1),
            keras.layers.Reshape((16, 4)),
            keras.layers.SpatialDropout1D(0.3, seed=2),
            keras.layers.Dropout(0.25, noise_shape=(None, 1, 4), seed=3),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="selu", kernel_initializer="lecun_normal"),
            keras.layers.AlphaDropout(0.1, seed=4),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def functional_with_nested_models():
    inner_sequential = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dropout(0.4, seed=5),
        ],
        name="inner_sequential",
    )
    inner_in = keras.Input((8,))
    inner_functional = keras.Model(
        inner_in,
        keras.layers.AlphaDropout(0.15, seed=6)(keras.layers.Dense(8, activation="selu")(inner_in)),
        name="inner_functional",
    )
    inputs = keras.Input((10, 4))
    h = keras.layers.SpatialDropout1D(0.2, seed=7)(inputs)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(8)(h)
    h = inner_sequential(h)
    h = inner_functional(h)
    h = keras.layers.Dropout(0.3)(h)  # no seed: config keeps seed=None
    outputs = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inputs, outputs)


class EnableMCDropoutTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def assert_converted(self, model, x, expected_mc_count):
        original_layers = flat_layers(model)
        original_types = [type(layer) for layer in original_layers]
        original_weights = [np.array(w) for w in model.get_weights()]

        mc_model = enable_mc_dropout(model)

        self.assertIsNot(mc_model, model)
        self.assertIsInstance(mc_model, type(model))
        converted = flat_layers(mc_model)
        self.assertEqual(len(converted), len(original_layers))
        mc_count = 0
        for original, twin in zip(original_layers, converted):
            self.assertIsNot(twin, original)
            expected_type = TWIN_OF.get(type(original), type(original))
            self.assertIs(type(twin), expected_type, msg=original.name)
            if expected_type is not type(original):
                mc_count += 1
                # Same rate, seed, noise_shape (and everything else), same name.
                self.assertEqual(twin.get_config(), original.get_config())
        self.assertEqual(mc_count, expected_mc_count)
        self.assertEqual(len(mc_layers(mc_model)), expected_mc_count)

        # Identical weights.
        self.assertEqual(len(mc_model.weights), len(model.weights))
        for twin_w, original_w in zip(mc_model.get_weights(), original_weights):
            self.assertAllEqual(twin_w, original_w)

        # The converted model is stochastic at inference ...
        self.assertNotAllClose(mc_model(x, training=False), mc_model(x, training=False))
        # ... and the original untouched: same layer objects and classes, still deterministic.
        self.assertEqual(flat_layers(model), original_layers)
        self.assertEqual([type(layer) for layer in flat_layers(model)], original_types)
        self.assertEqual(mc_layers(model), [])
        self.assertAllEqual(model(x, training=False), model(x, training=False))
        for w, original_w in zip(model.get_weights(), original_weights):
            self.assertAllEqual(w, original_w)
        return mc_model

    def test_sequential(self):
        x = self.rng.random((5, 6, 6, 3)).astype("float32")
        self.assert_converted(sequential_with_every_dropout(), x, expected_mc_count=4)

    def test_functional_with_nested_sequential_and_functional(self):
        x = self.rng.random((5, 10, 4)).astype("float32")
        mc_model = self.assert_converted(functional_with_nested_models(), x, expected_mc_count=4)
        self.assertIsInstance(mc_model.get_layer("inner_sequential").layers[-1], MCDropout)
        self.assertIsInstance(mc_model.get_layer("inner_functional").layers[-1], MCAlphaDropout)
        # mc_predict finds (and seeds) the MC layers inside the nested models too.
        self.assertIn(mc_model.get_layer("inner_sequential").layers[-1], mc_layers(mc_model))
        first, again = (
            mc_predict(mc_model, x, samples=20, seed=4, return_samples=True) for _ in range(2)
        )
        self.assertAllEqual(first.samples, again.samples)

    def test_already_mc_layers_and_models_without_dropout(self):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), MCDropout(0.2, seed=1)])
        mc_model = enable_mc_dropout(model)
        self.assertIs(type(mc_model.layers[-1]), MCDropout)
        self.assertEqual(mc_model.layers[-1].get_config(), model.layers[-1].get_config())

        plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        clone = enable_mc_dropout(plain)
        self.assertEqual(mc_layers(clone), [])
        x = self.rng.random((3, 4)).astype("float32")
        self.assertAllEqual(clone(x), plain(x))

    def test_mc_mean_approaches_the_deterministic_output_of_a_linear_model(self):
        # Inverted dropout has expectation 1 per unit and the model is linear, so
        # E[MC output] is exactly the original model's inference output.
        model = keras.Sequential(
            [
                keras.Input((12,)),
                keras.layers.Dense(16),
                keras.layers.Dropout(0.3),
                keras.layers.Dense(4),
            ]
        )
        x = self.rng.standard_normal((6, 12)).astype("float32")
        samples = 2000
        prediction = mc_predict(enable_mc_dropout(model), x, samples=samples, seed=0)
        deterministic = keras.ops.convert_to_numpy(model(x, training=False))
        tolerance = SIGMAS * prediction.std / np.sqrt(samples) + 1e-5
        self.assertAllLessEqual(np.abs(prediction.mean - deterministic) - tolerance, 0.0)
        self.assertGreater(prediction.std.min(), 0.0)

    def test_batch_normalization_stays_in_inference_mode(self):
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(8),
                keras.layers.BatchNormalization(),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(3),
            ]
        )
        bn = model.layers[1]
        # Moving statistics far from what any batch would give.
        bn.moving_mean.assign(self.rng.uniform(2.0, 3.0, 8).astype("float32"))
        bn.moving_variance.assign(self.rng.uniform(4.0, 9.0, 8).astype("float32"))
        mc_model = enable_mc_dropout(model)
        mc_bn = mc_model.layers[1]
        moving = [np.array(mc_bn.moving_mean), np.array(mc_bn.moving_variance)]
        self.assertAllEqual(moving[0], np.array(bn.moving_mean))

        x = self.rng.standard_normal((16, 8)).astype("float32")
        samples = 2000
        prediction = mc_predict(mc_model, x, samples=samples, seed=0)
        mc_model(x, training=False)
        self.assertAllEqual(np.array(mc_bn.moving_mean), moving[0])
        self.assertAllEqual(np.array(mc_bn.moving_variance), moving[1])
        # The model is linear in the dropout mask, so the MC mean is the inference
        # output with moving statistics (batch statistics would be far off).
        deterministic = keras.ops.convert_to_numpy(model(x, training=False))
        tolerance = SIGMAS * prediction.std / np.sqrt(samples) + 1e-5
        self.assertAllLessEqual(np.abs(prediction.mean - deterministic) - tolerance, 0.0)
        batch_stats = keras.ops.convert_to_numpy(
            model(x, training=True)
        )  # sanity: really different
        self.assertGreater(np.abs(batch_stats - deterministic).max(), 1.0)

    def test_adapted_normalization_is_carried_over(self):
        data = self.rng.normal(5.0, 3.0, (500, 6)).astype("float32")
        norm = keras.layers.Normalization()
        norm.adapt(data)
        inner = keras.Sequential([keras.Input((6,)), norm], name="preprocessing")
        inputs = keras.Input((6,))
        h = keras.layers.Dense(8)(inner(inputs))
        outputs = keras.layers.Dense(2)(keras.layers.Dropout(0.3)(h))
        model = keras.Model(inputs, outputs)
        mc_model = enable_mc_dropout(model)

        x = self.rng.normal(5.0, 3.0, (6, 6)).astype("float32")
        standardized = (x - data.mean(axis=0)) / data.std(axis=0)
        mc_norm = mc_model.get_layer("preprocessing").layers[0]
        self.assertAllClose(mc_norm(x), standardized, atol=1e-4)
        # Linear in the mask: E[MC output] = the standardized input through both Dense layers.
        w1, b1, w2, b2 = (np.asarray(w, "float64") for w in mc_model.get_weights()[-4:])
        expected = (standardized @ w1 + b1) @ w2 + b2
        samples = 2000
        prediction = mc_predict(mc_model, x, samples=samples, seed=0)
        tolerance = SIGMAS * prediction.std / np.sqrt(samples) + 1e-4
        self.assertAllLessEqual(np.abs(prediction.mean - expected) - tolerance, 0.0)

    def test_converted_model_saves_and_loads(self):
        model = sequential_with_every_dropout()
        mc_model = enable_mc_dropout(model)
        x = self.rng.random((4, 6, 6, 3)).astype("float32")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "mc.keras")
            mc_model.save(path)
            loaded = keras.models.load_model(path)  # no custom_objects
        self.assertEqual(
            [type(layer) for layer in loaded.layers], [type(layer) for layer in mc_model.layers]
        )
        for restored, original in zip(loaded.get_weights(), mc_model.get_weights()):
            self.assertAllEqual(restored, original)
        self.assertNotAllClose(loaded(x, training=False), loaded(x, training=False))

    @rejects_bad_input(mc_layers)
    def test_mc_layers_needs_a_model(self):
        for bad in ("model", None, keras.layers.Dropout(0.5)):
            with (
                self.subTest(bad=bad),
                self.assertRaisesRegex(TypeError, r"argument `model`.*keras.Model"),
            ):
                mc_layers(bad)

    @rejects_bad_input(enable_mc_dropout)
    def test_bad_input(self):
        for bad in ("model", None, keras.layers.Dense(3)):
            with (
                self.subTest(bad=bad),
                self.assertRaisesRegex(TypeError, r"argument `model`.*keras.Model"),
            ):
                enable_mc_dropout(bad)

        class Subclassed(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(2)
                self.dropout = keras.layers.Dropout(0.5)

            def call(self, x, training=False):
                return self.dropout(self.dense(x), training=training)

        model = Subclassed()
        model(np.zeros((1, 3), "float32"))
        with self.assertRaisesRegex(ValueError, r"Sequential or functional.*subclassed.*MCDropout"):
            enable_mc_dropout(model)
