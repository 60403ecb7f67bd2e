"""TFA's tests of the CRF layer (tensorflow_addons/layers/tests/crf_test.py), ported to tfx_ext.

Same data, expected values and tolerances. TFA's test model `ModelWithCRFLoss`
overrode `train_step` with a `tf.GradientTape`; here it overrides Keras 3's
`compute_loss` hook with the same loss (backend-neutral). TFA saved SavedModel directories (`model.tf`); Keras 3
saves `.keras` archives, which reload with no `custom_objects`.
"""

import itertools
import math
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.layers import CRF
from tfx_ext.text import crf_log_likelihood, viterbi_decode

# On JAX, eager training compiles every op per call (the shared fit alone took
# 55 s there); tests/text/test_crf_backends.py trains the layer on every backend.
pytestmark = pytest.mark.tf_only(
    "TFA's eager cases; the JAX leg runs tests/text/test_crf_backends.py"
)


def numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def get_test_data():
    x = np.array(
        [
            # O   B-X  I-X  B-Y  I-Y
            [
                [0.0, 1.0, 0.0, 0.0, 0.0],
                [0.0, 0.0, 1.0, 0.0, 0.0],
                [0.0, 0.0, 1.0, 0.0, 0.0],
            ],
            [
                [0.0, 1.0, 0.0, 0.0, 0.0],
                [0.0, 1.0, 0.0, 0.0, 0.0],
                [0.0, 1.0, 0.0, 0.0, 0.0],
            ],
        ]
    )
    y = np.array([[1, 2, 2], [1, 1, 1]])  # B-X I-X I-X / B-X B-X B-X
    return x, y


def get_test_data_extended():
    logits = np.array(
        [
            [[0, 0, 0.5, 0.5, 0.2], [0, 0, 0.3, 0.3, 0.1], [0, 0, 0.9, 10, 1]],
            [[0, 0, 0.2, 0.5, 0.2], [0, 0, 3, 0.3, 0.1], [0, 0, 0.9, 1, 1]],
        ]
    )
    tags = np.array([[2, 3, 4], [3, 2, 2]])
    transitions = np.array(
        [
            [0.1, 0.2, 0.3, 0.4, 0.5],
            [0.8, 0.3, 0.1, 0.7, 0.9],
            [-0.3, 2.1, -5.6, 3.4, 4.0],
            [0.2, 0.4, 0.6, -0.3, -0.4],
            [1.0, 1.0, 1.0, 1.0, 1.0],
        ]
    )
    boundary_values = np.ones((5,))
    crf_layer = CRF(
        units=5,
        use_kernel=False,
        chain_initializer=keras.initializers.Constant(transitions),
        use_boundary=True,
        boundary_initializer=keras.initializers.Constant(boundary_values),
        name="crf_layer",
    )
    return logits, tags, transitions, boundary_values, crf_layer


@keras.saving.register_keras_serializable(package="tests_crf")
class ModelWithCRFLoss(keras.Model):
    """TFA's test wrapper: the CRF negative log-likelihood as the loss."""

    def __init__(self, base_model, **kwargs):
        super().__init__(**kwargs)
        self.base_model = base_model

    def call(self, inputs, training=None):
        return self.base_model(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        _, potentials, sequence_length, chain_kernel = y_pred
        crf_loss = -crf_log_likelihood(potentials, y, sequence_length, chain_kernel)[0]
        if sample_weight is not None:
            crf_loss = crf_loss * sample_weight
        return keras.ops.mean(crf_loss)

    def get_config(self):
        return {
            **super().get_config(),
            "base_model": keras.saving.serialize_keras_object(self.base_model),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        base_model = keras.saving.deserialize_keras_object(config.pop("base_model"))
        return cls(base_model, **config)


def get_some_model(x_np, y_np, sanity_check=True):
    x_input = keras.Input(shape=x_np.shape[1:])
    base_model = keras.Model(x_input, CRF(5, name="L")(x_input))
    model = ModelWithCRFLoss(base_model)
    # Eagerly: on three-step sequences a step is cheaper than tracing one
    # (the graph-mode fit is covered by the CRFModelWrapper tests).
    model.compile("adam", run_eagerly=True)
    if sanity_check:
        model.fit(x=x_np, y=y_np, verbose=0)
        model.evaluate(x_np, y_np, verbose=0)
    model.predict(x_np, verbose=0)
    return model


def score_logits(logits, tags, transitions, boundary_values):
    """The score of `tags`: start and end boundaries, transitions, logits."""
    total = boundary_values[tags[0]] + boundary_values[tags[-1]]
    for tag, next_tag in itertools.pairwise(tags):
        total += transitions[tag, next_tag]
    for logit, tag in zip(logits, tags):
        total += logit[tag]
    return total


def compute_log_likelihood(logits, tags, transitions, boundary_values):
    manual = 0.0
    for logits_i, tags_i in zip(logits, tags):
        numerator = score_logits(logits_i, tags_i, transitions, boundary_values)
        all_scores = [
            score_logits(logits_i, tags_j, transitions, boundary_values)
            for tags_j in itertools.product(range(5), repeat=3)
        ]
        manual += numerator - math.log(sum(math.exp(s) for s in all_scores))
    return manual


def assert_all_equal(array_list1, array_list2):
    for arr1, arr2 in zip(array_list1, array_list2):
        np.testing.assert_equal(np.array(arr1), np.array(arr2))


class TFACRFLayerTest(tf.test.TestCase):
    """Tracing a CRF train step takes seconds, so the cases share one trained
    model (built, fitted and evaluated once) and the models run eagerly."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        cls.x_np, cls.y_np = get_test_data()
        cls.model = get_some_model(cls.x_np, cls.y_np, sanity_check=False)
        cls.untrained_weights = [np.array(w) for w in cls.model.get_weights()]
        cls.history = cls.model.fit(x=cls.x_np, y=cls.y_np, verbose=0)
        cls.evaluated_loss = cls.model.evaluate(cls.x_np, cls.y_np, verbose=0)

    def setUp(self):
        keras.utils.set_random_seed(0)

    def tearDown(self):
        keras.config.set_dtype_policy("float32")

    def test_keras_model_inference(self):
        for policy in ("float32", "mixed_float16"):
            keras.config.set_dtype_policy(policy)
            logits, _, transitions, boundary_values, crf_layer = get_test_data_extended()
            input_tensor = keras.Input(shape=(3, 5))
            decoded_sequence, _, _, _ = crf_layer(input_tensor)
            model = keras.Model(input_tensor, decoded_sequence)
            predicted = numpy(model(logits))
            if policy == "float32":  # one traced predict is enough
                self.assertAllEqual(model.predict(logits, verbose=0), predicted)
            # Independent reference: NumPy Viterbi on the logits plus the boundary energies.
            for row in range(2):
                energies = logits[row].copy()
                energies[0] += boundary_values
                energies[-1] += boundary_values
                self.assertEqual(
                    list(predicted[row]),
                    viterbi_decode(energies, transitions)[0],
                    policy,
                )

    def test_unmasked_viterbi_decode(self):
        for policy in ("float32", "mixed_float16"):
            keras.config.set_dtype_policy(policy)
            x_np, y_np = get_test_data()
            layer = CRF(
                units=5,
                use_kernel=False,
                chain_initializer=keras.initializers.Constant(np.ones([5, 5])),
                use_boundary=True,
                boundary_initializer=keras.initializers.Constant(np.ones(5)),
            )
            decoded_sequence = numpy(layer(x_np)[0])
            np.testing.assert_equal(decoded_sequence, y_np)
            self.assertEqual(decoded_sequence.dtype, np.int32)

    def test_traing(self):
        self.assertTrue(
            np.isfinite(self.history.history["loss"][0]) and np.isfinite(self.evaluated_loss)
        )
        with self.assertRaises(AssertionError):
            assert_all_equal(self.untrained_weights, self.model.get_weights())
        decoded = self.model.predict(self.x_np, verbose=0)[0]
        self.assertEqual(decoded.shape, self.y_np.shape)

    def test_mask_right_padding(self):
        x_np, y_np = get_test_data()
        mask = np.array([[1, 1, 1], [1, 1, 0]])
        x = keras.Input(shape=x_np.shape[1:])
        crf_layer_outputs = CRF(5)(x, mask=keras.ops.convert_to_tensor(mask))
        model = ModelWithCRFLoss(keras.Model(x, crf_layer_outputs))
        model.compile("adam", run_eagerly=True)
        old_weights = model.get_weights()
        model.fit(x_np, y_np, verbose=0)
        # The weights were updated during the training phase.
        with self.assertRaises(AssertionError):
            assert_all_equal(old_weights, model.get_weights())
        outputs = model.predict(x_np, verbose=0)
        self.assertAllEqual(outputs[2], [3, 2])  # sequence lengths from the mask
        self.assertEqual(outputs[0][1, 2], 0)  # nothing decoded past the end

    def test_mask_left_padding(self):
        x_np, _ = get_test_data()
        mask = np.array([[0, 1, 1], [1, 1, 1]])
        x = keras.Input(shape=x_np.shape[1:])
        crf_layer_outputs = CRF(5)(x, mask=keras.ops.convert_to_tensor(mask))
        model = ModelWithCRFLoss(keras.Model(x, crf_layer_outputs))
        model.compile("adam", run_eagerly=True)
        with self.assertRaisesRegex(NotImplementedError, "CRF layer do not support left padding"):
            model(x_np)

    def test_serialization(self):
        model, x_np, y_np = self.model, self.x_np, self.y_np
        with tempfile.TemporaryDirectory() as tmpdir:
            file_path = os.path.join(tmpdir, "my_model.keras")
            model.save(file_path)
            new_model = keras.models.load_model(file_path)
        # inference_only=True
        assert_all_equal(model.predict(x_np, verbose=0), new_model.predict(x_np, verbose=0))
        assert_all_equal(model.get_weights(), new_model.get_weights())
        # inference_only=False: the reloaded base model wrapped again; both
        # take one step from the same weights with a fresh Adam (eagerly:
        # one small step is cheaper than tracing a train function).
        original = ModelWithCRFLoss(model.base_model)
        original.compile(optimizer=keras.optimizers.Adam(), run_eagerly=True)
        clone = ModelWithCRFLoss(new_model.base_model)
        clone.compile(optimizer=keras.optimizers.Adam(), run_eagerly=True)
        original_loss = original.train_on_batch(x_np, y_np, return_dict=True)["loss"]
        clone_loss = clone.train_on_batch(x_np, y_np, return_dict=True)["loss"]
        assert_all_equal(original.get_weights(), clone.get_weights())
        self.assertEqual(original_loss, clone_loss)

    def test_numerical_accuracy(self):
        logits, tags, transitions, boundary_values, crf_layer = get_test_data_extended()
        x_input = keras.Input(shape=logits.shape[1:])
        model = ModelWithCRFLoss(keras.Model(x_input, crf_layer(x_input)))
        model.compile(optimizer="adam", run_eagerly=True)
        log_likelihood = model.train_on_batch(logits, tags, return_dict=True)["loss"]
        expected = compute_log_likelihood(logits, tags, transitions, boundary_values)
        self.assertAllClose(expected, -2 * log_likelihood, rtol=5e-5, atol=1e-6)

    @rejects_bad_input(CRF)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`units`"):
            CRF(0)
        with self.assertRaisesRegex(TypeError, "`units`"):
            CRF(2.5)
        with self.assertRaisesRegex(TypeError, "`use_boundary`"):
            CRF(3, use_boundary="yes")
        with self.assertRaisesRegex(ValueError, "Input mask to CRF must have dim 2"):
            CRF(3)(np.zeros((2, 4, 3), "float32"), mask=np.ones((2, 4, 1), bool))
        with self.assertRaisesRegex(ValueError, "`inputs`"):
            CRF(3, use_kernel=False)(np.zeros((2, 4, 5), "float32"))
        with self.assertRaises(ValueError):  # InputSpec: ndim=3
            CRF(3)(np.zeros((2, 4), "float32"))
