import contextlib
import io
import os
import time

import keras
import requests
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.bad_input import rejects_bad_input
from tests.export.models import (
    PIXELS_SPEC,
    digits_classifier,
    digits_test_split,
    free_port,
    predict,
    temp_dir,
)
from tests.serving.server_processes import start_server_process
from tfx_ext import cli
from tfx_ext.export import export_for_serving, inspect_saved_model
from tfx_ext.serving import RestClient


class InspectCommandTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.base = temp_dir(self)

    def test_prints_the_signatures(self):
        path = export_for_serving(
            digits_classifier(epochs=0), self.base, "digits", example_spec=PIXELS_SPEC
        )
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(cli.main(["inspect", path]), 0)
        text = out.getvalue()

        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            proto.ParseFromString(f.read())
        for key, signature in proto.meta_graphs[0].signature_def.items():
            if not key.startswith("__"):
                self.assertIn(f"signature '{key}' ({signature.method_name})", text)
        self.assertIn("signature 'classify' (tensorflow/serving/classify)", text)
        lines = [line.strip() for line in text.splitlines()]
        self.assertIn("input  pixels: float32 [None, 64]", lines)
        self.assertIn("output class_ids: int64 [None]", lines)
        self.assertIn("output probabilities: float32 [None, 10]", lines)
        self.assertIn("input  inputs: string [None]", lines)
        self.assertNotIn("__saved_model_init_op", text)

    @rejects_bad_input(inspect_saved_model)
    def test_not_a_saved_model(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            with self.assertRaises(SystemExit) as caught:
                cli.main(["inspect", self.base])
        self.assertEqual(caught.exception.code, 2)
        self.assertRegex(
            err.getvalue(), r"^tfx-ext inspect: error: .*argument `path`.*saved_model\.pb"
        )
        self.assertEqual(len(err.getvalue().strip().splitlines()), 1)  # one line, no traceback

    def test_serve_needs_a_model_source(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            with self.assertRaises(SystemExit) as caught:
                cli.main(["serve"])
        self.assertEqual(caught.exception.code, 2)
        self.assertIn("BASE_DIR or --model-config-file", err.getvalue())
        missing = os.path.join(self.base, "missing")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            with self.assertRaises(SystemExit) as caught:
                cli.main(["serve", missing, "--rest-port", str(free_port()), "--grpc-port", "0"])
        self.assertEqual(caught.exception.code, 2)
        self.assertIn(missing, err.getvalue())

    def test_inspect_unknown_rank_inputs(self):
        """TF Serving's half_plus_two takes serialized Examples of unknown rank."""
        from tests.serving.conformance.testdata_models import build_testdata

        path = os.path.join(build_testdata()["padded"]["saved_model_half_plus_two_cpu"], "00000123")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(cli.main(["inspect", path]), 0)
        lines = [line.strip() for line in out.getvalue().splitlines()]
        self.assertIn("signature 'classify_x_to_y' (tensorflow/serving/classify)", lines)
        self.assertIn("input  inputs: string (unknown rank)", lines)
        self.assertIn("input  x: float32 [None, 1]", lines)

    def test_busy_port_is_named_on_one_line(self):
        import socket

        export_for_serving(digits_classifier(epochs=0), self.base, "digits")
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            with contextlib.redirect_stderr(io.StringIO()) as err:
                with self.assertRaises(SystemExit) as caught:
                    cli.main(["serve", self.base, "--rest-port", str(port), "--grpc-port", "0"])
        self.assertEqual(caught.exception.code, 2)
        self.assertEqual(
            err.getvalue(),
            f"tfx-ext serve: error: Could not bind the REST port {port} on 127.0.0.1: address already in use\n",
        )


class ServeCommandTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.base = temp_dir(self)

    def test_banner_warns_when_a_model_has_nothing_to_serve(self):
        import unittest.mock

        from tfx_ext.serving import LocalModelServer

        broken = os.path.join(self.base, "broken", "00000001")
        os.makedirs(broken)
        with open(os.path.join(broken, "saved_model.pb"), "wb") as f:
            f.write(b"\x00 half-copied")
        os.makedirs(os.path.join(self.base, "empty"))
        port = free_port()
        with unittest.mock.patch.object(LocalModelServer, "wait", side_effect=KeyboardInterrupt):
            with (
                contextlib.redirect_stdout(io.StringIO()) as out,
                contextlib.redirect_stderr(io.StringIO()) as err,
            ):
                self.assertEqual(
                    cli.main(["serve", self.base, "--rest-port", str(port), "--grpc-port", "0"]), 0
                )
        self.assertIn("serving broken, empty", out.getvalue())
        warnings = err.getvalue().splitlines()
        self.assertEqual(len(warnings), 2, msg=err.getvalue())
        self.assertTrue(
            warnings[0].startswith(
                "warning: model broken has no servable version yet: Failed to load version 1"
            )
        )
        self.assertEqual(
            warnings[1],
            f"warning: model empty has no servable version yet: no version directory under {self.base}/empty",
        )

    def test_serves_a_base_dir_until_terminated(self):
        model = digits_classifier(epochs=0)
        export_for_serving(model, self.base, "digits")
        port = free_port()
        process = start_server_process(
            self,
            "-m tfx_ext.cli",
            ["serve", self.base, "--rest-port", str(port), "--grpc-port", "0"],
            self.base,
        )
        url = f"http://127.0.0.1:{port}/v1/models/digits"
        deadline = time.monotonic() + 90
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        self.assertIsNotNone(
            response, msg=f"no answer from `tfx-ext serve` (exit code {process.poll()})"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json()["model_version_status"],
            [
                {
                    "version": "1",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ],
        )
        x = digits_test_split()[0][:4]
        client = RestClient("127.0.0.1", port, "digits")
        self.addCleanup(client._session.close)
        self.assertAllClose(client.predict(x)["digit"], predict(model, x), atol=1e-5)

        process.terminate()
        process.wait(timeout=20)
        banner = process.stdout.read().decode()
        self.assertIn(f"REST 127.0.0.1:{port}", banner)
        self.assertIn("gRPC 127.0.0.1:off", banner)
        with self.assertRaises(requests.ConnectionError):
            requests.get(url, timeout=2)
