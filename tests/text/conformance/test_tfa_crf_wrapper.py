"""TFA's tests of CRFModelWrapper (tensorflow_addons/text/tests/crf_wrapper_test.py), ported.

Differences, both forced by Keras 3: the base model's identity is
`keras.layers.Identity` instead of `Lambda(lambda x: x)` (Keras 3 refuses to
deserialize a lambda in safe mode), and the model is saved as a `.keras`
archive instead of a SavedModel directory. The wrapper trains with a
`tf.GradientTape` train_step, as TFA's: TensorFlow backend only.
"""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.text import CRFModelWrapper, crf_log_likelihood

pytestmark = pytest.mark.tf_only("CRFModelWrapper trains with a tf.GradientTape train_step")


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


def get_some_model(x_np, y_np, sanity_check=True, run_eagerly=False):
    x_input = keras.Input(shape=x_np.shape[1:])
    y_outputs = keras.layers.Identity()(x_input)
    base_model = keras.Model(x_input, y_outputs)
    model = CRFModelWrapper(base_model, y_np.shape[-1])
    model.compile("adam", run_eagerly=run_eagerly)
    if sanity_check:
        model.fit(x=x_np, y=y_np, verbose=0)
        model.evaluate(x_np, y_np, verbose=0)
    model.predict(x_np, verbose=0)
    return model


def assert_all_equal(array_list1, array_list2):
    for arr1, arr2 in zip(array_list1, array_list2):
        np.testing.assert_equal(np.array(arr1), np.array(arr2))


class TFACRFModelWrapperTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_traing(self):
        x_np, y_np = get_test_data()
        model = get_some_model(x_np, y_np, sanity_check=False)
        before = [np.array(w) for w in model.get_weights()]
        (potentials, lengths, kernel), _ = model(x_np, return_crf_internal=True)
        expected_loss = -float(
            np.mean(
                keras.ops.convert_to_numpy(crf_log_likelihood(potentials, y_np, lengths, kernel)[0])
            )
        )
        logs = model.fit(x=x_np, y=y_np, verbose=0).history  # graph mode: a traced train_step
        model.run_eagerly = True  # tracing evaluate and predict too would add seconds, not coverage
        # The logged loss is the CRF negative log-likelihood before the step.
        self.assertAllClose(logs["crf_loss"][0], expected_loss, rtol=1e-5)
        self.assertAllClose(logs["loss"][0], expected_loss, rtol=1e-5)
        with self.assertRaises(AssertionError):
            assert_all_equal(before, model.get_weights())
        evaluated = model.evaluate(x_np, y_np, verbose=0, return_dict=True)
        self.assertIn("crf_loss", evaluated)
        decoded = model.predict(x_np, verbose=0)
        self.assertEqual(decoded.shape, y_np.shape)
        self.assertEqual(decoded.dtype, np.int32)

    def test_serialization(self):
        x_np, y_np = get_test_data()
        model = get_some_model(x_np, y_np, sanity_check=False, run_eagerly=True)
        with tempfile.TemporaryDirectory() as tmpdir:
            file_path = os.path.join(tmpdir, "model.keras")
            model.save(file_path)
            new_model = keras.models.load_model(file_path)
        self.assertIsInstance(new_model, CRFModelWrapper)
        new_model.run_eagerly = True
        assert_all_equal(model.predict(x_np, verbose=0), new_model.predict(x_np, verbose=0))
        assert_all_equal(model.get_weights(), new_model.get_weights())
        original_loss = model.train_on_batch(x_np, y_np, return_dict=True)["crf_loss"]
        clone_loss = new_model.train_on_batch(x_np, y_np, return_dict=True)["crf_loss"]
        assert_all_equal(model.get_weights(), new_model.get_weights())
        self.assertEqual(original_loss, clone_loss)

    @rejects_bad_input(CRFModelWrapper)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, "`base_model`"):
            CRFModelWrapper("not a model", 3)
        base = keras.Sequential([keras.Input((3, 5)), keras.layers.Identity()])
        with self.assertRaisesRegex(ValueError, "`units`"):
            CRFModelWrapper(base, 0)
