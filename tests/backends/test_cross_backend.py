"""A `.keras` file written on one backend loads and predicts the same on the other.

The test process runs on its own backend; one subprocess runs on the other
backend, loads the file written here, and writes a file of its own that is
loaded here. Both directions are covered from either side, so scripts/test
runs it in its TensorFlow leg only (tests/backends is not a backend-neutral
directory).
"""

import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.backends.every_layer_model import build_model, outputs, sample_inputs
from tfx_ext import layers

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_OTHER = {"tensorflow": "jax", "jax": "tensorflow"}


class CrossBackendTest(tf.test.TestCase):
    def test_every_layer_model_loads_on_the_other_backend_with_the_same_outputs(self):
        here = keras.backend.backend()
        other = _OTHER[here]
        self.assertEqual(
            {name for name in layers.__all__},
            {type(layer).__name__ for layer in build_model().layers} & set(layers.__all__),
            msg="the model must use every tfx_ext layer",
        )
        x = sample_inputs()
        model = build_model(seed=0)
        with tempfile.TemporaryDirectory() as tmp:
            ours, theirs, result = (
                os.path.join(tmp, name) for name in ("ours.keras", "theirs.keras", "out.npz")
            )
            model.save(ours)
            env = {**os.environ, "KERAS_BACKEND": other, "PYTHONPATH": _ROOT}
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tests.backends.every_layer_model",
                    "--load",
                    ours,
                    "--save",
                    theirs,
                    "--outputs",
                    result,
                ],
                check=True,
                cwd=_ROOT,
                env=env,
                timeout=300,
            )
            with np.load(result) as other_run:
                self.assertEqual(str(other_run["backend"]), other)
                self.assertEqual(
                    list(other_run["classes"]), [type(layer).__name__ for layer in model.layers]
                )
                # written here, predicted there
                self.assertAllClose(other_run["loaded"], outputs(model, x), atol=1e-5, rtol=0)
                # written there, predicted here
                loaded = keras.models.load_model(theirs)
                self.assertAllClose(outputs(loaded, x), other_run["saved"], atol=1e-5, rtol=0)
        # the two models differ (other seed): the comparisons above are not vacuous
        self.assertGreater(np.max(np.abs(outputs(loaded, x) - outputs(model, x))), 1e-3)
        decoder, encoder = loaded.get_layer("decoder"), loaded.get_layer("encoder")
        self.assertIs(decoder.dense, encoder)
