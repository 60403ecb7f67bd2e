import contextlib
import io
import os
import re
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.lite import models
from tests.lite.models import image_digits, ops_and_tensors, run_tflite
from tfx_ext import cli


class TFLiteCommandTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name
        self.model_path = os.path.join(self.tmp, "cnn.keras")
        models.cnn().save(self.model_path)
        _, _, self.x_test, self.y_test = image_digits()

    def run_cli(self, *argv):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            status = cli.main(list(argv))
        self.assertEqual(status, 0)
        return stdout.getvalue()

    def test_int8_with_representative_data_prints_the_parity_table(self):
        data = os.path.join(self.tmp, "data.npz")
        np.savez(data, x=self.x_test, y=self.y_test)
        out = os.path.join(self.tmp, "out", "cnn_int8.tflite")
        text = self.run_cli(
            "tflite", self.model_path, "--mode", "int8", "--representative", data, "--out", out
        )
        with open(out, "rb") as f:
            content = f.read()
        self.assertIn(f"wrote {out} ({len(content):,} bytes, int8, converter)", text)
        self.assertNotIn("ops left in float", text)
        for row in (
            "examples",
            "max abs difference",
            "mean abs difference",
            "top-1 agreement",
            "keras accuracy",
            "tflite accuracy",
            "accuracy drop (points)",
            "size raw / gzip (bytes)",
            "latency mean / p95 (ms)",
        ):
            self.assertRegex(text, rf"(?m)^{re.escape(row)} +\S", row)
        self.assertRegex(text, r"(?m)^examples +450$")
        # The file is a full-integer model that classifies like the Keras model.
        weights = [
            inputs[1]["dtype"]
            for name, inputs, _ in ops_and_tensors(content)
            if name in ("CONV_2D", "FULLY_CONNECTED")
        ]
        self.assertEqual(weights, [np.int8, np.int8])
        expected = models.cnn().predict(self.x_test, verbose=0)
        agreement = np.mean(run_tflite(content, self.x_test).argmax(-1) == expected.argmax(-1))
        self.assertGreaterEqual(agreement, 0.97)
        self.assertRegex(text, rf"(?m)^top-1 agreement +{re.escape(f'{agreement:.2%}')}$")
        self.assertEqual([n for n in os.listdir(os.path.dirname(out))], ["cnn_int8.tflite"])

    def test_other_keys_and_no_labels(self):
        data = os.path.join(self.tmp, "data.npz")
        np.savez(data, images=self.x_test[:100])
        out = os.path.join(self.tmp, "cnn.tflite")
        text = self.run_cli(
            "tflite",
            self.model_path,
            "--mode",
            "dynamic_range",
            "--engine",
            "litert_quantizer",
            "--representative",
            data,
            "--x-key",
            "images",
            "--out",
            out,
        )
        self.assertIn("dynamic_range, litert_quantizer)", text)
        self.assertRegex(text, r"(?m)^examples +100$")
        self.assertIn("top-1 agreement", text)
        self.assertNotIn("accuracy", text.replace("top-1 agreement", ""))
        self.assertTrue(os.path.isfile(out))

    def test_float_mode_without_data_prints_no_table(self):
        out = os.path.join(self.tmp, "cnn_float16.tflite")
        text = self.run_cli("tflite", self.model_path, "--mode", "float16", "--out", out)
        expected_line = f"wrote {out} ({os.path.getsize(out):,} bytes, float16, converter)"
        self.assertEqual(text.strip().splitlines(), [expected_line])
        expected = models.cnn().predict(self.x_test, verbose=0)
        with open(out, "rb") as f:
            content = f.read()
        self.assertLessEqual(np.abs(run_tflite(content, self.x_test) - expected).max(), 1e-2)

    def test_int8_without_data_fails_and_writes_nothing(self):
        out = os.path.join(self.tmp, "never.tflite")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as exit_:
            cli.main(["tflite", self.model_path, "--mode", "int8", "--out", out])
        self.assertEqual(exit_.exception.code, 2)
        self.assertIn(
            "tfx-ext tflite: error: Invalid value received for argument `representative_data`",
            err.getvalue(),
        )
        self.assertFalse(os.path.exists(out))
