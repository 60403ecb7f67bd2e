"""Version folders as TF Serving reads them, failed loads reported and retried with
backoff, and the server's own argument checks."""

import os
import shutil
import unittest.mock

import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.export.models import free_port, temp_dir
from tests.serving.conformance.testdata_models import build_testdata
from tfx_ext.export import existing_versions, next_version, read_model_config, remove_stale_staging
from tfx_ext.export.versions import parse_version, version_directories
from tfx_ext.serving import LocalModelServer, ServingError, model_registry
from tfx_ext.serving.model_registry import MAX_LOAD_RETRIES, ServedModel


class VersionFoldersTest(tf.test.TestCase):
    def setUp(self):
        self.base = temp_dir(self)

    def make(self, *names):
        for name in names:
            os.makedirs(os.path.join(self.base, name))

    def test_zero_padded_names_are_versions(self):
        self.make("00000123", "124", "0", "abc", ".tmp-5-x", "12a", "²")  # "²".isdigit() is True
        open(os.path.join(self.base, "99"), "w").close()  # a file, not a version
        self.assertEqual(version_directories(self.base), {123: "00000123", 124: "124"})
        self.assertEqual(existing_versions(self.base), [123, 124])
        self.assertEqual(next_version(self.base), 125)
        self.assertEqual(parse_version("00000123"), 123)
        self.assertIsNone(parse_version(str(2**63)))  # beyond TF Serving's int64 versions

    def test_two_spellings_of_one_number(self):
        self.make("007", "7")
        self.assertEqual(version_directories(self.base), {7: "7"})

    def test_padded_version_is_loaded_from_its_own_folder(self):
        padded = build_testdata()["padded"]["saved_model_half_plus_two_cpu"]
        model = ServedModel("default", padded)
        model.refresh()
        self.assertEqual(list(model.versions), [123])
        self.assertEqual(model.versions[123].path, os.path.join(padded, "00000123"))
        self.assertEqual(model.status(), [(123, model.states[123])])
        self.assertEqual(model.states[123].state, "AVAILABLE")

    @rejects_bad_input(next_version, existing_versions, remove_stale_staging)
    def test_bad_model_dir(self):
        path = os.path.join(self.base, "a_file")
        open(path, "w").close()
        with self.assertRaisesRegex(
            ValueError, r"argument `model_dir`. Expected a directory .* Received: model_dir="
        ):
            next_version(path)
        self.assertEqual(existing_versions(path), [])  # not a directory: no versions, as TF Serving
        self.assertEqual(remove_stale_staging(path), [])


class FailedVersionTest(tf.test.TestCase):
    """A version that cannot load: reported, retried with backoff a bounded number of times,
    retried again at once when its files change; the good version keeps serving."""

    def setUp(self):
        self.root = temp_dir(self)
        self.base = os.path.join(self.root, "m")
        shutil.copytree(
            os.path.join(build_testdata()["padded"]["saved_model_half_plus_two_cpu"], "00000123"),
            os.path.join(self.base, "1"),
        )
        self.broken = os.path.join(self.base, "2")
        os.makedirs(self.broken)
        with open(os.path.join(self.broken, "saved_model.pb"), "wb") as f:
            f.write(b"\x00 not a SavedModel")

    def test_backoff_then_reload_when_fixed(self):
        model = ServedModel("m", self.base, versions=[1, 2], retry_seconds=1.0)
        # Count load attempts at the registry's loader (TF1 and TF2 SavedModels alike).
        real_load = model_registry.load_servable
        with unittest.mock.patch.object(
            model_registry, "load_servable", side_effect=real_load
        ) as load:
            model.refresh(now=0.0)
            self.assertEqual(list(model.versions), [1])
            self.assertEqual(model.states[2].state, "END")
            self.assertNotEqual(model.states[2].error_code, "OK")
            self.assertIn("Failed to load version 2", model.states[2].error_message)
            load.reset_mock()
            attempts = []
            for tick in range(2000):  # 1000 simulated seconds of polls every 0.5 s
                model.refresh(now=tick * 0.5)
                if load.call_count > len(attempts):
                    attempts.append(tick * 0.5)
            # MAX_LOAD_RETRIES more attempts, each after twice the previous wait, then none.
            self.assertLen(attempts, MAX_LOAD_RETRIES)
            gaps = [b - a for a, b in zip([0.0] + attempts, attempts)]
            self.assertEqual(gaps, [2.0**i for i in range(MAX_LOAD_RETRIES)])

            shutil.rmtree(self.broken)  # fixed: the files change
            shutil.copytree(os.path.join(self.base, "1"), self.broken)
            model.refresh(now=2000.0)
        self.assertEqual(sorted(model.versions), [1, 2])
        self.assertEqual(model.states[2].state, "AVAILABLE")
        self.assertEqual(model.states[2].error_code, "OK")

    def test_status_over_grpc_reports_the_failure(self):
        from tensorflow_serving.apis import get_model_status_pb2

        from tfx_ext.serving import GrpcClient

        port = free_port()
        with LocalModelServer(self.root, rest_port=0, grpc_port=port):
            with GrpcClient("127.0.0.1", port, "m") as client:
                request = get_model_status_pb2.GetModelStatusRequest()
                request.model_spec.name = client.model_name
                response = client._models.GetModelStatus(request, timeout=10)
        states = {s.version: s for s in response.model_version_status}
        # The latest policy wants only version 2 (as TF Serving, version 1 is not loaded): it failed.
        self.assertEqual(list(states), [2])
        self.assertEqual(states[2].state, get_model_status_pb2.ModelVersionStatus.END)
        self.assertNotEqual(states[2].status.error_code, 0)
        self.assertIn("Failed to load version 2", states[2].status.error_message)


class ServerArgumentsTest(tf.test.TestCase):
    @rejects_bad_input(LocalModelServer)
    def test_bad_arguments(self):
        base = temp_dir(self)
        with self.assertRaisesRegex(
            ValueError,
            r"argument `poll_seconds`. Expected a number > 0.0. Received: poll_seconds=0",
        ):
            LocalModelServer(base, poll_seconds=0)
        with self.assertRaisesRegex(ValueError, r"argument `rest_port`.*Received: rest_port=70000"):
            LocalModelServer(base, rest_port=70000)
        with self.assertRaisesRegex(
            ValueError, r"exactly one of `base_dir`, `model_config_file` or `model_base_path`"
        ):
            LocalModelServer()
        with self.assertRaisesRegex(ValueError, r"argument `max_tensor_elements`"):
            LocalModelServer(base, max_tensor_elements=0)
        with self.assertRaisesRegex(
            ValueError, r"`model_config_poll_seconds` needs a `model_config_file`"
        ):
            LocalModelServer(base, model_config_poll_seconds=1)
        with self.assertRaisesRegex(ValueError, r"argument `read_timeout`"):
            LocalModelServer(base, read_timeout=0)
        monitoring = os.path.join(base, "monitoring.txt")
        with open(monitoring, "w") as f:
            f.write("prometheus_config { enable: yes }")
        with self.assertRaisesRegex(
            ValueError,
            r"Error parsing text-format tensorflow.serving.MonitoringConfig in .*monitoring.txt",
        ):
            LocalModelServer(base, monitoring_config_file=monitoring)

    @rejects_bad_input(read_model_config)
    def test_malformed_model_config_names_the_file(self):
        path = os.path.join(temp_dir(self), "models.config")
        with open(path, "w") as f:
            f.write("improperly formatted file")  # TF Serving's testdata/bad_model_config.txt
        with self.assertRaisesRegex(
            ValueError,
            rf"^Error parsing text-format tensorflow.serving.ModelServerConfig in {path}: 1:1 :",
        ):
            read_model_config(path)

    @rejects_bad_input(ServingError)
    def test_serving_error_needs_a_canonical_code(self):
        with self.assertRaisesRegex(ValueError, r"argument `code`.*Received: code='NOPE'"):
            ServingError("NOPE", "message")
        error = ServingError("NOT_FOUND", "gone")
        self.assertEqual(
            (error.code, error.http_status, str(error)), ("NOT_FOUND", 404, "NOT_FOUND: gone")
        )

    def test_busy_port_is_named(self):
        import socket

        base = temp_dir(self)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            with self.assertRaisesRegex(
                OSError,
                rf"^Could not bind the REST port {port} on 127.0.0.1: address already in use$",
            ):
                LocalModelServer(base, rest_port=port, grpc_port=0).start()
            with self.assertRaisesRegex(
                OSError, rf"^Could not bind the gRPC port {port} on 127.0.0.1"
            ):
                LocalModelServer(base, rest_port=0, grpc_port=port).start()
