import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import MCAlphaDropout, MCDropout, MCSpatialDropout1D, MCSpatialDropout2D
from tfx_ext.layers.mc_dropout import MC_TWINS
from tfx_ext.uncertainty import mc_predict

# SELU constants (Klambauer et al., 2017); AlphaDropout sets dropped units to alpha' = -lambda * alpha.
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
ALPHA_P = -SELU_ALPHA * SELU_SCALE

# A bound of this many standard errors: a false alarm has probability < 1e-4 per check.
SIGMAS = 4.5


def alpha_dropout_affine(rate):
    """The a, b of AlphaDropout's `a * x + b` (kept units) from the paper's formulas."""
    a = ((1 - rate) * (1 + rate * ALPHA_P**2)) ** -0.5
    return a, -a * ALPHA_P * rate


def selu(z):
    return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0)))


def all_mc_layers(seed=None):
    return [
        MCDropout(0.3, seed=seed),
        MCAlphaDropout(0.3, seed=seed),
        MCSpatialDropout1D(0.3, seed=seed),
        MCSpatialDropout2D(0.3, seed=seed),
    ]


def input_for(layer, rng):
    """A strictly positive input of the rank the layer expects (4-D for 2-D spatial dropout)."""
    shape = {MCSpatialDropout1D: (4, 10, 6), MCSpatialDropout2D: (4, 5, 5, 6)}.get(
        type(layer), (4, 60)
    )
    return (rng.random(shape) + 0.5).astype("float32")


def mixed_mc_model():
    """Every MC layer in one linear model (so its expected output has a closed form)."""
    return keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            MCSpatialDropout2D(0.2, seed=1),
            keras.layers.Reshape((36, 3)),
            MCSpatialDropout1D(0.25, seed=2),
            keras.layers.Flatten(),
            keras.layers.Dense(8),
            MCAlphaDropout(0.1, seed=3),
            MCDropout(0.3, noise_shape=(None, 8), seed=4),
            keras.layers.Dense(2),
        ]
    )


def expected_mixed_output(model, x):
    """E[output] of `mixed_mc_model`, from its weights in NumPy.

    The masks are independent and the model is linear in each of them, so the
    expectation factorizes: inverted dropout has expectation 1 per unit, and
    AlphaDropout maps h to a * ((1 - r) h + r alpha') + b = a (1 - r) h.
    """
    w1, b1, w2, b2 = (np.asarray(w, "float64") for w in model.get_weights())
    a, _ = alpha_dropout_affine(0.1)
    h = x.reshape(len(x), -1).astype("float64") @ w1 + b1
    return (a * 0.9 * h) @ w2 + b2


class MCDropoutLayersTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_stochastic_at_inference(self):
        for layer in all_mc_layers():
            with self.subTest(layer=type(layer).__name__):
                x = input_for(layer, self.rng)
                model = keras.Sequential([keras.Input(x.shape[1:]), layer])
                first = keras.ops.convert_to_numpy(model(x, training=False))
                second = keras.ops.convert_to_numpy(model(x, training=False))
                self.assertEqual(first.shape, x.shape)
                self.assertNotAllClose(first, second)
                # Compiled inference (predict) too.
                self.assertNotAllClose(model.predict(x, verbose=0), model.predict(x, verbose=0))

    def test_keras_dropout_is_deterministic_at_inference_but_twin_is_not(self):
        # The contrast the MC layers exist for: same configuration, different `training` handling.
        x = np.ones((8, 50), "float32")
        self.assertAllEqual(keras.layers.Dropout(0.5)(x, training=False), x)
        self.assertNotAllClose(MCDropout(0.5)(x, training=False), x)
        self.assertTrue(MCDropout(0.5).mc)
        self.assertFalse(getattr(keras.layers.Dropout(0.5), "mc", False))

    def test_mc_dropout_drops_rate_and_rescales_the_rest(self):
        rate = 0.3
        x = (self.rng.random((200, 500)) + 0.5).astype("float32")
        out = keras.ops.convert_to_numpy(MCDropout(rate)(x, training=False))
        dropped = out == 0
        n = x.size
        self.assertAllClose(
            dropped.mean(), rate, atol=SIGMAS * np.sqrt(rate * (1 - rate) / n), rtol=0
        )
        self.assertAllClose(out[~dropped], x[~dropped] / (1 - rate), rtol=1e-6)

    def test_alpha_dropout_keeps_mean_and_variance_of_selu_activations(self):
        rate = 0.2
        # SELU of standard normal pre-activations: the self-normalizing fixed point (mean 0, var 1).
        x = selu(self.rng.standard_normal((400, 500))).astype("float32")
        out = keras.ops.convert_to_numpy(MCAlphaDropout(rate)(x, training=False)).astype("float64")
        x = x.astype("float64")
        n = x.size
        # Population: E[out] = E[x] = 0 and E[out^2] = E[x^2] = 1, so the per-element
        # differences have mean 0; bound their average by its own standard error.
        for name, diff in [("mean", out - x), ("second moment", out**2 - x**2)]:
            with self.subTest(moment=name):
                self.assertLess(abs(diff.mean()), SIGMAS * diff.std() / np.sqrt(n))
        # And the output is not just the input: roughly `rate` of it moved.
        self.assertGreater(np.mean(np.abs(out - x) > 1e-3), 0.5 * rate)

    def test_alpha_dropout_kept_units_are_affine_and_dropped_units_constant(self):
        rate = 0.25
        a, b = alpha_dropout_affine(rate)
        x = self.rng.standard_normal((200, 500)).astype("float32")
        out = keras.ops.convert_to_numpy(MCAlphaDropout(rate)(x, training=False)).astype("float64")
        kept = np.isclose(out, a * x + b, rtol=0, atol=1e-5)
        dropped = np.isclose(out, a * ALPHA_P + b, rtol=0, atol=1e-5)
        self.assertTrue(np.all(kept | dropped), msg="some outputs are neither a*x+b nor a*alpha'+b")
        n = x.size
        self.assertAllClose(
            dropped.mean(), rate, atol=SIGMAS * np.sqrt(rate * (1 - rate) / n), rtol=0
        )

    def test_spatial_dropout_2d_drops_whole_feature_maps(self):
        rate = 0.4
        for data_format, channel_axis in [("channels_last", 3), ("channels_first", 1)]:
            with self.subTest(data_format=data_format):
                x = (self.rng.random((64, 5, 6, 7)) + 0.5).astype("float32")
                layer = MCSpatialDropout2D(rate, data_format=data_format)
                out = keras.ops.convert_to_numpy(layer(x, training=False))
                maps = np.moveaxis(out, channel_axis, 1).reshape(64, x.shape[channel_axis], -1)
                zero_maps = np.all(maps == 0, axis=-1)
                self.assertTrue(np.all(zero_maps | np.all(maps != 0, axis=-1)))
                n = zero_maps.size
                self.assertAllClose(
                    zero_maps.mean(), rate, atol=SIGMAS * np.sqrt(rate * (1 - rate) / n), rtol=0
                )
                kept = out != 0
                self.assertAllClose(out[kept], x[kept] / (1 - rate), rtol=1e-6)

    def test_spatial_dropout_1d_drops_whole_channels(self):
        rate = 0.4
        x = (self.rng.random((64, 9, 20)) + 0.5).astype("float32")
        out = keras.ops.convert_to_numpy(MCSpatialDropout1D(rate)(x, training=False))
        zero_channels = np.all(out == 0, axis=1)  # (example, channel), across timesteps
        self.assertTrue(np.all(zero_channels | np.all(out != 0, axis=1)))
        n = zero_channels.size
        self.assertAllClose(
            zero_channels.mean(), rate, atol=SIGMAS * np.sqrt(rate * (1 - rate) / n), rtol=0
        )

    def test_noise_shape_shares_the_mask(self):
        x = np.ones((16, 10, 8), "float32")
        out = keras.ops.convert_to_numpy(
            MCDropout(0.5, noise_shape=(None, 1, 8))(x, training=False)
        )
        self.assertAllEqual(out, np.broadcast_to(out[:, :1, :], out.shape))

    def test_seed_is_honoured(self):
        for first, twin, other in zip(
            all_mc_layers(seed=7), all_mc_layers(seed=7), all_mc_layers(seed=8)
        ):
            with self.subTest(layer=type(first).__name__):
                x = input_for(first, self.rng)
                a1, a2 = first(x, training=False), first(x, training=False)
                self.assertAllEqual(a1, twin(x, training=False))
                self.assertAllEqual(a2, twin(x, training=False))
                self.assertNotAllClose(a1, a2)  # successive draws of one layer differ
                self.assertNotAllClose(a1, other(x, training=False))

    def test_twins_table(self):
        for keras_class, twin in MC_TWINS:
            self.assertTrue(issubclass(twin, keras_class))
            self.assertTrue(twin.mc)
        # Most specific first: a SpatialDropout must not be matched by Dropout.
        classes = [keras_class for keras_class, _ in MC_TWINS]
        for i, earlier in enumerate(classes):
            for later in classes[i + 1 :]:
                self.assertFalse(issubclass(later, earlier), msg=f"{later} after {earlier}")

    @rejects_bad_input(MCDropout, MCAlphaDropout, MCSpatialDropout1D, MCSpatialDropout2D)
    def test_bad_rate_is_rejected(self):
        for cls in (MCDropout, MCAlphaDropout, MCSpatialDropout1D, MCSpatialDropout2D):
            with self.subTest(layer=cls.__name__), self.assertRaisesRegex(ValueError, "rate"):
                cls(1.5)
            # rate=1 drops everything and divides by 1 - rate = 0 (Keras accepts it).
            with (
                self.subTest(layer=cls.__name__),
                self.assertRaisesRegex(
                    ValueError, r"argument `rate`.*\[0\.0, 1\.0\).*Received: rate=1\.0"
                ),
            ):
                cls(1.0)
            with (
                self.subTest(layer=cls.__name__),
                self.assertRaisesRegex(ValueError, r"rate=-0\.1"),
            ):
                cls(-0.1)
            with (
                self.subTest(layer=cls.__name__),
                self.assertRaisesRegex(TypeError, r"rate='0\.5'"),
            ):
                cls("0.5")

    def test_config_round_trip(self):
        layers = [
            MCDropout(0.3, noise_shape=(None, 1, 8), seed=5, name="mc_dropout"),
            MCAlphaDropout(0.1, noise_shape=(None, 8), seed=6),
            MCSpatialDropout1D(0.2, seed=7),
            MCSpatialDropout2D(0.25, data_format="channels_first", seed=8),
        ]
        for layer in layers:
            with self.subTest(layer=type(layer).__name__):
                clone = assert_config_round_trip(self, layer)
                self.assertEqual(clone.rate, layer.rate)
                self.assertEqual(clone.seed, layer.seed)

    def test_keras_file_round_trip(self):
        model = mixed_mc_model()
        x = self.rng.random((4, 6, 6, 3)).astype("float32")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
            loaded = keras.models.load_model(path)  # deliberately no custom_objects
        self.assertEqual(
            [type(layer) for layer in loaded.layers], [type(layer) for layer in model.layers]
        )
        for restored, original in zip(loaded.layers, model.layers):
            self.assertEqual(restored.get_config(), original.get_config())
        self.assertEqual(len(loaded.weights), len(model.weights))
        for restored, original in zip(loaded.weights, model.weights):
            self.assertAllEqual(np.asarray(restored), np.asarray(original))
        # Still stochastic after loading.
        self.assertNotAllClose(loaded(x, training=False), loaded(x, training=False))
        # Same predictive distribution: MC means agree within sampling error.
        samples = 1000
        before = mc_predict(model, x, samples=samples, seed=1)
        after = mc_predict(loaded, x, samples=samples, seed=2)
        tolerance = SIGMAS * np.sqrt((before.std**2 + after.std**2) / samples) + 1e-6
        self.assertAllLessEqual(np.abs(before.mean - after.mean) - tolerance, 0.0)
        # Both approach the closed-form expectation.
        expected = expected_mixed_output(model, x)
        self.assertAllLessEqual(
            np.abs(after.mean - expected) - (SIGMAS * after.std / np.sqrt(samples) + 1e-5), 0.0
        )

    @pytest.mark.tf_only("SavedModel export for TF Serving")
    def test_saved_model_export_stays_stochastic(self):
        model = mixed_mc_model()
        x = self.rng.random((4, 6, 6, 3)).astype("float32")
        with tempfile.TemporaryDirectory() as tmp:
            model.export(tmp, format="tf_saved_model", verbose=False)
            served = tf.saved_model.load(tmp)
            first, second = np.asarray(served.serve(x)), np.asarray(served.serve(x))
            self.assertEqual(first.shape, (4, 2))
            self.assertNotAllClose(first, second)
            # Many passes at once: each tiled copy of x gets its own masks.
            copies = 2000
            passes = np.asarray(served.serve(np.tile(x, (copies, 1, 1, 1)))).reshape(copies, 4, 2)
        self.assertGreater(np.std(passes, axis=0).min(), 0.0)
        standard_error = passes.std(axis=0) / np.sqrt(copies)
        error = np.abs(passes.mean(axis=0) - expected_mixed_output(model, x))
        self.assertAllLessEqual(error - (SIGMAS * standard_error + 1e-5), 0.0)
