"""TFA's tests of SpatialPyramidPooling2D (tensorflow_addons/layers/tests/spatial_pyramid_pooling_test.py), ported.

Deliberate difference: TFA's `test_keras` saved to `.h5`; Keras 3 saves `.keras`.
"""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.conformance.layer_harness import run_layer_test
from tfx_ext.layers import SpatialPyramidPooling2D

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)


class TFASpatialPyramidPoolingTest(tf.test.TestCase):
    def test_spp_shape_2d(self):
        spp = SpatialPyramidPooling2D([1, 3, 5])
        self.assertEqual(list(spp.compute_output_shape([256, None, None, 64])), [256, 35, 64])
        spp = SpatialPyramidPooling2D([1, 3, 5], data_format="channels_first")
        self.assertEqual(list(spp.compute_output_shape([256, 64, None, None])), [256, 64, 35])

    def test_spp_output_2d(self):
        keras.utils.set_random_seed(0)
        inputs = np.reshape(
            np.arange(start=0.0, stop=16.0, step=1.0).astype(np.float32), (1, 4, 4, 1)
        )
        output = np.array([[[7.5], [2.5], [4.5], [10.5], [12.5]]]).astype(np.float32)
        run_layer_test(
            self,
            SpatialPyramidPooling2D,
            {"bins": [[1, 1], [2, 2]], "data_format": "channels_last"},
            input_data=inputs,
            expected_output=output,
        )
        inputs = np.reshape(
            np.arange(start=0.0, stop=16.0, step=1.0).astype(np.float32), (1, 1, 4, 4)
        )
        output = np.array([[[7.5, 2.5, 4.5, 10.5, 12.5]]]).astype(np.float32)
        run_layer_test(
            self,
            SpatialPyramidPooling2D,
            {"bins": [[1, 1], [2, 2]], "data_format": "channels_first"},
            input_data=inputs,
            expected_output=output,
        )

    def test_serialization(self):
        layer = SpatialPyramidPooling2D([[1, 1], [3, 3]])
        new_layer = keras.layers.deserialize(keras.layers.serialize(layer))
        self.assertEqual(layer.get_config(), new_layer.get_config())

    def test_keras(self):
        test_inputs = np.reshape(
            np.arange(start=0.0, stop=16.0, step=1.0).astype(np.float32), (1, 4, 4, 1)
        )
        test_output = [[[7.5], [2.5], [4.5], [10.5], [12.5]]]
        inputs = keras.layers.Input((None, None, 1))
        model = keras.Model(inputs=[inputs], outputs=[SpatialPyramidPooling2D([1, 2])(inputs)])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "spp_model.keras")
            model.save(path)
            model = keras.models.load_model(path)
        self.assertEqual(model.predict(test_inputs, verbose=0).tolist(), test_output)
