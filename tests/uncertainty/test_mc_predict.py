import gc
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tfx_ext.layers import MCDropout
from tfx_ext.uncertainty import MCPrediction, mc_predict

# Bounds of this many standard errors; a false alarm has probability < 1e-5 per element.
SIGMAS = 5.0


def entropy(p, axis=-1):
    p = np.asarray(p, "float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=axis)


def naive_passes(model, x, samples):
    """The textbook recipe: one eager stochastic forward pass at a time."""
    return np.stack([keras.ops.convert_to_numpy(model(x, training=False)) for _ in range(samples)])


def std_standard_error(passes):
    """Standard error of the sample std over axis 0, from the fourth central moment.

    Var(s^2) ~ (mu4 - sigma^4) / S and s^2 = sigma^2 + ..., so se(s) ~ sqrt(mu4 - sigma^4) / (2 sigma sqrt(S))
    (1 / sqrt(2S) relative for normal data; larger for the skewed, heavy-tailed softmax outputs).
    """
    passes = passes.astype("float64")
    centred = passes - passes.mean(axis=0)
    var = np.mean(centred**2, axis=0)
    mu4 = np.mean(centred**4, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.maximum(mu4 - var**2, 0.0)) / (2 * np.sqrt(var) * np.sqrt(len(passes)))
    return np.nan_to_num(se)


# One xdist worker runs the whole class, so setUpClass trains its model once
# (scripts/test distributes with --dist loadgroup).
@pytest.mark.xdist_group("mc_predict_trained_model")
class MCPredictTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        x_train, y_train, x_test, _ = digits()
        cls.model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(64, activation="relu"),
                MCDropout(0.3),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        cls.model.compile(
            optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy"
        )
        cls.model.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
        cls.x = x_test[:50]

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_matches_naive_loop(self):
        samples = 400
        prediction = mc_predict(self.model, self.x, samples=samples, seed=0)
        self.assertIsInstance(prediction, MCPrediction)
        self.assertIsNone(prediction.samples)
        loop = naive_passes(self.model, self.x, samples).astype("float64")
        loop_mean, loop_std = loop.mean(axis=0), loop.std(axis=0)
        self.assertEqual(prediction.mean.shape, (50, 10))
        self.assertEqual(prediction.std.shape, (50, 10))
        # Two independent estimates of one mean: difference has sd sqrt(2) sigma / sqrt(S).
        sigma = np.sqrt((prediction.std.astype("float64") ** 2 + loop_std**2) / 2)
        mean_tolerance = SIGMAS * np.sqrt(2) * sigma / np.sqrt(samples) + 1e-6
        self.assertAllLessEqual(np.abs(prediction.mean - loop_mean) - mean_tolerance, 0.0)
        # Two independent estimates of one std, each with its own standard error (the
        # softmax outputs of a confident class are heavy-tailed: rare spikes dominate mu4).
        passes = mc_predict(self.model, self.x, samples=samples, seed=0, return_samples=True)
        self.assertAllClose(
            passes.mean, prediction.mean, atol=1e-6, rtol=0
        )  # same seed, same passes
        self.assertAllClose(passes.std, prediction.std, atol=1e-6, rtol=0)
        std_tolerance = (
            SIGMAS * np.hypot(std_standard_error(loop), std_standard_error(passes.samples)) + 1e-6
        )
        self.assertAllLessEqual(np.abs(prediction.std - loop_std) - std_tolerance, 0.0)
        # The passes really vary (a trained net with dropout is not constant).
        self.assertGreater(float(prediction.std.max()), 0.01)

    def test_returned_samples_are_the_passes_summarized(self):
        samples = 60
        prediction = mc_predict(self.model, self.x, samples=samples, seed=3, return_samples=True)
        passes = prediction.samples
        self.assertEqual(passes.shape, (samples, 50, 10))
        self.assertAllClose(prediction.mean, passes.mean(axis=0), atol=1e-5, rtol=0)
        self.assertAllClose(prediction.std, passes.astype("float64").std(axis=0), atol=1e-5, rtol=0)
        # Every pass is a probability distribution, and passes differ from each other.
        self.assertAllClose(passes.sum(axis=-1), np.ones((samples, 50)), atol=1e-5)
        self.assertNotAllClose(passes[0], passes[1])

        # Classifier summaries, computed here from the passes.
        mean = passes.astype("float64").mean(axis=0)
        predictive = entropy(mean)
        expected_entropy = entropy(passes).mean(axis=0)
        self.assertAllClose(prediction.predictive_entropy, predictive, atol=1e-5, rtol=0)
        self.assertAllClose(
            prediction.mutual_information, predictive - expected_entropy, atol=1e-5, rtol=0
        )
        self.assertAllGreaterEqual(prediction.mutual_information, 0.0)
        self.assertAllEqual(prediction.predicted_class, np.argmax(mean, axis=-1))
        self.assertEqual(prediction.predictive_entropy.shape, (50,))
        # Entropy of 10 classes is at most log(10).
        self.assertAllLessEqual(prediction.predictive_entropy, np.log(10) + 1e-6)

    def test_mutual_information_worked_example(self):
        # Output = one-hot of the mask bit (via a fixed linear map on x = 1): each pass is
        # either (1, 0) or (0, 1) w.p. 1/2, so each pass has entropy 0 while the mean
        # (1/2, 1/2) has entropy log 2: all uncertainty is epistemic, MI = log 2.
        model = keras.Sequential([keras.Input((1,)), MCDropout(0.5), keras.layers.Dense(2)])
        model.layers[-1].set_weights(
            [np.array([[-0.5, 0.5]], "float32"), np.array([1.0, 0.0], "float32")]
        )
        samples = 4000
        prediction = mc_predict(
            model, np.ones((3, 1), "float32"), samples=samples, seed=0, classifier=True
        )
        # p(keep) has binomial standard error 1/2 / sqrt(S); the entropy of (1 - p, p)
        # is log 2 - 2 (p - 1/2)^2 + O((p - 1/2)^4), so its error is bounded by 2 * bound^2.
        bound = SIGMAS * 0.5 / np.sqrt(samples)
        self.assertAllClose(prediction.mean[:, 1], [0.5] * 3, atol=bound, rtol=0)
        self.assertAllClose(
            prediction.predictive_entropy, [np.log(2)] * 3, atol=2.2 * bound**2, rtol=0
        )
        self.assertAllClose(
            prediction.std, np.full((3, 2), 0.5), atol=SIGMAS / np.sqrt(samples), rtol=0
        )
        self.assertAllClose(
            prediction.mutual_information, prediction.predictive_entropy, atol=1e-6, rtol=0
        )

    def test_classifier_detection(self):
        regression = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(8, activation="relu"),
                MCDropout(0.3),
                keras.layers.Dense(3),
            ]
        )
        x = self.x[:10]
        plain = mc_predict(regression, x, samples=20, seed=0)
        self.assertEqual(plain.mean.shape, (10, 3))
        self.assertIsNone(plain.predictive_entropy)
        self.assertIsNone(plain.mutual_information)
        self.assertIsNone(plain.predicted_class)

        forced = mc_predict(regression, x, samples=20, seed=0, classifier=True)
        self.assertAllEqual(forced.mean, plain.mean)
        self.assertEqual(forced.predictive_entropy.shape, (10,))
        self.assertEqual(forced.mutual_information.shape, (10,))
        self.assertAllEqual(forced.predicted_class, np.argmax(plain.mean, axis=-1))

        detected = mc_predict(self.model, x, samples=20, seed=0)
        self.assertIsNotNone(detected.predictive_entropy)
        off = mc_predict(self.model, x, samples=20, seed=0, classifier=False)
        self.assertAllEqual(off.mean, detected.mean)
        self.assertIsNone(off.predictive_entropy)
        self.assertIsNone(off.mutual_information)
        self.assertIsNone(off.predicted_class)

    def test_chunking_keeps_every_row_and_summary(self):
        samples = 80
        whole = mc_predict(self.model, self.x, samples=samples, seed=0)
        for kwargs in [
            {"max_batch_elements": 64 * 3},
            {"batch_size": 7},
            {"batch_size": 7, "max_batch_elements": 64 * 20},
        ]:
            with self.subTest(**kwargs):
                chunked = mc_predict(
                    self.model, self.x, samples=samples, seed=0, return_samples=True, **kwargs
                )
                passes = chunked.samples.astype("float64")
                self.assertEqual(passes.shape, (samples, 50, 10))
                # Every row is present and summarized from its own passes.
                self.assertAllClose(chunked.mean, passes.mean(axis=0), atol=1e-5, rtol=0)
                self.assertAllClose(chunked.std, passes.std(axis=0), atol=1e-5, rtol=0)
                self.assertAllClose(
                    chunked.mutual_information,
                    entropy(passes.mean(axis=0)) - entropy(passes).mean(axis=0),
                    atol=1e-5,
                    rtol=0,
                )
                # Same predictive distribution as one big pass (different masks, so statistically).
                sigma = np.sqrt(
                    (whole.std.astype("float64") ** 2 + chunked.std.astype("float64") ** 2) / 2
                )
                tolerance = SIGMAS * np.sqrt(2) * sigma / np.sqrt(samples) + 1e-6
                self.assertAllLessEqual(np.abs(chunked.mean - whole.mean) - tolerance, 0.0)

    def test_passes_are_independent_across_calls(self):
        # Two MC layers of the same shape, x = 1: each output unit is d0 * d1 with
        # d in {0, 2} (rate 1/2), so E[out] = 1 and E[out^2] = 4. A budget of one row
        # per call forces one call per pass (and per row): masks must not be reused
        # between layers or calls, i.e. E[out_k * out_{k+1}] = 1 (shared masks give 2).
        n = 1000
        model = keras.Sequential([keras.Input((n,)), MCDropout(0.5), MCDropout(0.5)])
        for x, samples in [(np.ones((1, n), "float32"), 40), (np.ones((40, n), "float32"), 1)]:
            with self.subTest(rows=len(x)):
                passes = mc_predict(
                    model, x, samples=samples, seed=0, return_samples=True, max_batch_elements=n
                ).samples
                passes = passes.reshape(40, n).astype(
                    "float64"
                )  # pass-major or row-major: 40 draws
                products = passes[:-1] * passes[1:]
                # Each product has variance E[o^2]^2 - 1 = 15; neighbouring products share a
                # factor (covariance E[o^2] - 1 = 3), so Var(mean) <= 15 (1 + 2 * 3 / 15) / count.
                bound = SIGMAS * np.sqrt(15 * 1.4 / products.size)
                self.assertAllClose(products.mean(), 1.0, atol=bound, rtol=0)
                self.assertAllClose(
                    passes.mean(), 1.0, atol=SIGMAS * np.sqrt(3 / passes.size), rtol=0
                )

    def test_seed(self):
        x = self.x[:10]
        for kwargs in [{}, {"max_batch_elements": 64 * 3}]:
            with self.subTest(**kwargs):
                first = mc_predict(self.model, x, samples=30, seed=1, return_samples=True, **kwargs)
                again = mc_predict(self.model, x, samples=30, seed=1, return_samples=True, **kwargs)
                other = mc_predict(self.model, x, samples=30, seed=2, return_samples=True, **kwargs)
                self.assertAllEqual(first.samples, again.samples)
                self.assertAllEqual(first.mean, again.mean)
                self.assertAllEqual(first.std, again.std)
                self.assertNotAllClose(first.samples, other.samples)
                self.assertNotAllClose(first.mean, other.mean)
        unseeded = [mc_predict(self.model, x, samples=30).mean for _ in range(2)]
        self.assertNotAllClose(*unseeded)

    def test_one_sample_has_zero_std(self):
        prediction = mc_predict(self.model, self.x, samples=1, seed=0, return_samples=True)
        self.assertAllEqual(prediction.std, np.zeros((50, 10)))
        self.assertAllClose(prediction.mean, prediction.samples[0], atol=1e-7, rtol=0)
        self.assertAllClose(prediction.mutual_information, np.zeros(50), atol=1e-6, rtol=0)

    def test_zero_rate_layer(self):
        # rate 0 creates no seed generator; seeding must cope and the passes are all equal.
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(4), MCDropout(0.0)])
        prediction = mc_predict(model, self.x[:5], samples=10, seed=0)
        self.assertAllClose(prediction.std, np.zeros((5, 4)), atol=1e-6, rtol=0)
        self.assertAllClose(prediction.mean, model(self.x[:5]), atol=1e-6)

    def test_integer_input_and_other_shapes(self):
        model = keras.Sequential(
            [keras.Input((4, 3)), keras.layers.Flatten(), keras.layers.Dense(5), MCDropout(0.2)]
        )
        x = self.rng.integers(0, 5, (6, 4, 3))
        prediction = mc_predict(model, x, samples=5, seed=0)
        self.assertEqual(prediction.mean.shape, (6, 5))
        self.assertEqual(prediction.mean.dtype, np.float32)

    def test_warns_without_mc_layers(self):
        model = keras.Sequential(
            [keras.Input((64,)), keras.layers.Dense(4), keras.layers.Dropout(0.5)]
        )
        with self.assertWarnsRegex(UserWarning, "enable_mc_dropout"):
            prediction = mc_predict(model, self.x[:5], samples=4)
        self.assertAllClose(prediction.std, np.zeros((5, 4)), atol=1e-6, rtol=0)
        self.assertAllClose(prediction.mean, model(self.x[:5], training=False), atol=1e-6)

    def test_does_not_keep_the_model_alive(self):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(4), MCDropout(0.5)])
        mc_predict(model, self.x[:5], samples=3)
        ref = weakref.ref(model)
        del model
        gc.collect()
        self.assertIsNone(ref())

    @rejects_bad_input(mc_predict)
    def test_bad_input(self):
        model, x = self.model, self.x[:4]
        cases = [
            (ValueError, r"argument `samples`.*an integer >= 1.*samples=0", {"samples": 0}),
            (TypeError, r"argument `samples`.*samples=2.5", {"samples": 2.5}),
            (TypeError, r"argument `samples`", {"samples": True}),
            (ValueError, r"argument `batch_size`.*batch_size=0", {"batch_size": 0}),
            (ValueError, r"argument `max_batch_elements`", {"max_batch_elements": 0}),
            (ValueError, r"argument `seed`.*seed=-1", {"seed": -1}),
        ]
        for error, pattern, kwargs in cases:
            with self.subTest(**kwargs), self.assertRaisesRegex(error, pattern):
                mc_predict(model, x, **kwargs)

        with_nan = x.copy()
        with_nan[1, 3] = np.nan
        bad_x = [
            (ValueError, r"argument `x`.*finite.*1 NaN/inf", with_nan),
            (ValueError, r"argument `x`.*finite", np.full((2, 64), np.inf, "float32")),
            (ValueError, r"argument `x`.*\(batch,\) \+ \(64,\).*\(4, 63\)", x[:, :63]),
            (ValueError, r"argument `x`.*\(batch,\) \+ \(64,\)", x.reshape(4, 8, 8)),
            (ValueError, r"argument `x`.*non-empty.*\(0, 64\)", np.zeros((0, 64), "float32")),
            (ValueError, r"argument `x`.*non-empty", np.float32(1.0)),
            (TypeError, r"argument `x`.*numeric", np.array([["a"] * 64])),
            (TypeError, r"argument `x`.*numeric", [[object()] * 64]),
        ]
        for error, pattern, value in bad_x:
            with self.subTest(pattern=pattern), self.assertRaisesRegex(error, pattern):
                mc_predict(model, value, samples=2)
