"""The CRF ops and layer on every backend (the JAX leg runs this file).

Each check compiles once: the ops run inside one jitted/traced function per
check, and the layer trains through `fit` (compiled by the backend's trainer).
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext import layers, text

pytestmark = pytest.mark.backend_neutral


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


class CrfBackendsTest(tf.test.TestCase):
    def test_log_norm_and_decode_match_brute_force(self):
        rng = np.random.default_rng(0)
        potentials = rng.normal(size=(3, 4, 3)).astype("float32")
        transitions = rng.normal(size=(3, 3)).astype("float32")
        lengths = np.array([4, 2, 1], "int32")
        log_norm = numpy(text.crf_log_norm(potentials, lengths, transitions))
        tags, best = text.crf_decode(potentials, transitions, lengths)
        tags, best = numpy(tags), numpy(best)
        for row, length in enumerate(lengths):
            scores = {}
            for path in itertools.product(range(3), repeat=int(length)):
                scores[path] = sum(potentials[row, t, k] for t, k in enumerate(path)) + sum(
                    transitions[a, b] for a, b in itertools.pairwise(path)
                )
            values = np.array(list(scores.values()), np.float64)
            self.assertAllClose(log_norm[row], np.log(np.exp(values).sum()), rtol=1e-5, atol=1e-5)
            best_path = max(scores, key=scores.get)
            self.assertEqual(tuple(tags[row, :length]), best_path)
            self.assertAllEqual(tags[row, length:], np.zeros(4 - length))
            self.assertAllClose(best[row], scores[best_path], rtol=1e-5, atol=1e-5)

    def test_crf_layer_trains_to_the_tags(self):
        # Inputs one-hot of the target tag plus noise: a trained CRF decodes the tags.
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        y = rng.integers(0, 4, size=(64, 6))
        x = (np.eye(4)[y] + 0.1 * rng.normal(size=(64, 6, 4))).astype("float32")

        class CRFLossModel(keras.Model):
            def __init__(self):
                super().__init__()
                self.crf = layers.CRF(4)

            def call(self, inputs):
                return self.crf(inputs)

            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
                _, potentials, lengths, kernel = y_pred
                return -keras.ops.mean(text.crf_log_likelihood(potentials, y, lengths, kernel)[0])

        model = CRFLossModel()
        model.compile(keras.optimizers.Adam(0.1))
        history = model.fit(x, y, epochs=10, batch_size=64, verbose=0)
        self.assertLess(history.history["loss"][-1], history.history["loss"][0])
        decoded = numpy(model(x)[0])
        self.assertGreater(np.mean(decoded == y), 0.95)
