"""TF Serving's launch lines (`tensorflow_model_server --port=... --model_base_path=...`) and
warmup replay at load, against the local server."""

import contextlib
import io
import os
import time
import unittest.mock

import numpy as np
import requests
import tensorflow as tf

from tests.export.models import free_port, temp_dir
from tests.serving.conformance.testdata_models import half_plus_two_tf2
from tests.serving.server_processes import start_server_process
from tfx_ext import cli
from tfx_ext.export.warmup import write_warmup
from tfx_ext.serving import GrpcClient, LocalModelServer

_BUILT = {}


def models_root():
    """`root/my_model/1`: TF2 half_plus_two (`y = 0.5 x + 2`, input `x` of shape [1]), built once."""
    if not _BUILT:
        import atexit
        import shutil
        import tempfile

        root = tempfile.mkdtemp(prefix="tfx_ext_tfs_flags_")
        atexit.register(shutil.rmtree, root, True)
        half_plus_two_tf2(os.path.join(root, "my_model", "1"))
        _BUILT["root"] = root
    return _BUILT["root"]


def with_warmup(test, x, input_name="x"):
    """A copy of my_model whose version 1 has warmup records feeding `x` to `input_name`."""
    import shutil

    base = os.path.join(temp_dir(test), "my_model")
    shutil.copytree(os.path.join(models_root(), "my_model"), base)
    extra = os.path.join(base, "1", "assets.extra")
    os.makedirs(extra)
    write_warmup(extra, "my_model", [input_name], np.asarray(x, np.float32))
    return base


def start_tensorflow_model_server(test, *flags):
    """`tensorflow_model_server FLAGS` as a subprocess (the console script's entry point)."""
    return start_server_process(
        test,
        "from tfx_ext.cli import tensorflow_model_server; tensorflow_model_server()",
        flags,
        temp_dir(test),
    )


def wait_for(test, process, url):
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
    test.fail(f"no answer at {url} (exit code {process.poll()})")


def run_in_process(argv, entry=cli.tensorflow_model_server):
    """`(exit code, stdout, stderr)` of a command whose server is stopped as soon as it serves."""
    with unittest.mock.patch.object(LocalModelServer, "wait", side_effect=KeyboardInterrupt):
        with (
            contextlib.redirect_stdout(io.StringIO()) as out,
            contextlib.redirect_stderr(io.StringIO()) as err,
        ):
            try:
                code = entry(argv)
            except SystemExit as exit_:
                code = exit_.code
    return code, out.getvalue(), err.getvalue()


class LaunchLineTest(tf.test.TestCase):
    def test_the_books_launch_line(self):
        """`--port --rest_api_port --model_name --model_base_path`: both APIs answer y = 0.5 x + 2."""
        grpc_port, rest_port = free_port(), free_port()
        base = os.path.join(models_root(), "my_model")
        process = start_tensorflow_model_server(
            self,
            f"--port={grpc_port}",
            f"--rest_api_port={rest_port}",
            "--model_name=my_model",
            "--model_base_path",
            base,  # TF Serving takes `--name value` too
        )
        url = f"http://127.0.0.1:{rest_port}/v1/models/my_model"
        status = wait_for(self, process, url)
        self.assertEqual(status.status_code, 200)
        self.assertEqual(
            status.json()["model_version_status"],
            [
                {
                    "version": "1",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ],
        )
        answer = requests.post(f"{url}:predict", json={"instances": [3.0]}, timeout=10)
        self.assertEqual(answer.status_code, 200, msg=answer.text)
        self.assertAllClose(answer.json()["predictions"], [0.5 * 3.0 + 2.0])
        with GrpcClient("127.0.0.1", grpc_port, "my_model") as client:
            self.assertAllClose(
                client.predict({"x": np.array([4.0], np.float32)}), [0.5 * 4.0 + 2.0]
            )
        process.terminate()
        process.wait(timeout=20)
        banner = process.stdout.read().decode()
        self.assertIn(
            f"serving my_model: REST 127.0.0.1:{rest_port}, gRPC 127.0.0.1:{grpc_port}", banner
        )

    def test_the_docs_model_config_line(self):
        """`--model_config_file --model_config_file_poll_wait_seconds=60 --monitoring_config_file`."""
        here = temp_dir(self)
        config = os.path.join(here, "models.config")
        with open(config, "w") as f:
            f.write(
                'model_config_list { config { name: "half" base_path: "%s" model_platform: "tensorflow" } }'
                % os.path.join(models_root(), "my_model")
            )
        monitoring = os.path.join(here, "monitoring.config")
        with open(monitoring, "w") as f:
            f.write('prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }')
        rest_port = free_port()
        process = start_tensorflow_model_server(
            self,
            f"--port={free_port()}",
            f"--rest_api_port={rest_port}",
            f"--model_config_file={config}",
            "--model_config_file_poll_wait_seconds=60",
            f"--monitoring_config_file={monitoring}",
        )
        url = f"http://127.0.0.1:{rest_port}/v1/models/half"
        self.assertEqual(wait_for(self, process, url).status_code, 200)
        answer = requests.post(f"{url}:predict", json={"instances": [1.0]}, timeout=10)
        self.assertAllClose(answer.json()["predictions"], [2.5])
        metrics = requests.get(
            f"http://127.0.0.1:{rest_port}/monitoring/prometheus/metrics", timeout=10
        )
        self.assertEqual(metrics.status_code, 200)
        self.assertIn('model_name="half"', metrics.text)

    def test_rest_is_off_unless_rest_api_port_is_given(self):
        """TF Serving's --rest_api_port defaults to 0 (REST off); `tfx-ext serve` keeps REST on 8501."""
        base = os.path.join(models_root(), "my_model")
        grpc_port = free_port()
        code, out, _ = run_in_process([f"--port={grpc_port}", f"--model_base_path={base}"])
        self.assertEqual(code, 0)
        self.assertIn(f"serving default: REST 127.0.0.1:off, gRPC 127.0.0.1:{grpc_port}", out)

    def test_serve_takes_tf_serving_spellings_with_its_own_defaults(self):
        base = os.path.join(models_root(), "my_model")
        seen = {}

        class Recorder:
            def __init__(self, **kwargs):
                seen.update(kwargs)
                raise ValueError("recorded")

        with unittest.mock.patch("tfx_ext.serving.LocalModelServer", Recorder):
            code, _, err = run_in_process(
                [
                    "serve",
                    "--model_name=my_model",
                    f"--model_base_path={base}",
                    "--file_system_poll_wait_seconds=3",
                    "--rest_api_timeout_in_ms=2500",
                    "--enable_model_warmup=false",
                    "--grpc_max_threads",
                    "3",
                ],
                entry=cli.main,
            )
        self.assertEqual((code, err), (2, "tfx-ext serve: error: recorded\n"))
        self.assertEqual(seen["model_name"], "my_model")
        self.assertEqual(seen["model_base_path"], base)
        self.assertEqual(seen["rest_port"], 8501)  # tfx-ext serve's default, not TF Serving's 0
        self.assertEqual(seen["grpc_port"], 8500)
        self.assertEqual(seen["poll_seconds"], 3.0)
        self.assertEqual(seen["read_timeout"], 2.5)
        self.assertIs(seen["enable_model_warmup"], False)
        self.assertEqual(seen["grpc_max_threads"], 3)
        self.assertNotIn("base_dir", seen)

    def test_model_config_file_wins_over_model_base_path(self):
        """TF Serving: with --model_config_file, --model_name and --model_base_path are ignored."""
        seen = {}

        class Recorder:
            def __init__(self, **kwargs):
                seen.update(kwargs)
                raise ValueError("recorded")

        with unittest.mock.patch("tfx_ext.serving.LocalModelServer", Recorder):
            run_in_process(["--model_config_file=models.config", "--model_base_path=/somewhere"])
        self.assertEqual(seen.get("model_config_file"), "models.config")
        self.assertNotIn("model_base_path", seen)


class BadFlagTest(tf.test.TestCase):
    def refused(self, argv, entry=cli.tensorflow_model_server, prog="tensorflow_model_server"):
        code, _, err = run_in_process(argv, entry)
        self.assertEqual(code, 2, msg=err)
        lines = err.strip().splitlines()
        self.assertTrue(lines and lines[-1].startswith(f"{prog}: error: "), msg=err)
        self.assertNotIn("Traceback", err)
        return lines[-1]

    def test_unknown_flag(self):
        self.assertEqual(
            self.refused(["--model_base_path=/m", "--no_such_flag=1"]),
            "tensorflow_model_server: error: unknown argument: --no_such_flag=1",
        )
        self.assertEqual(
            self.refused(["serve", "/m", "--no_such_flag"], cli.main, "tfx-ext serve"),
            "tfx-ext serve: error: unknown argument: --no_such_flag",
        )

    def test_tf_serving_flag_we_do_not_honour_is_named(self):
        for flag in (
            "--rest_api_enable_cors_support",
            "--ssl_config_file=ssl.config",
            "--rest_api_num_threads=4",
        ):
            name = flag.split("=")[0]
            self.assertEqual(
                self.refused(["--model_base_path=/m", flag]),
                f"tensorflow_model_server: error: TF Serving's flag {name} is not supported by the local model "
                "server (a test double, not TF Serving)",
            )

    def test_bad_batching_parameters_file(self):
        base = os.path.join(models_root(), "my_model")
        config = os.path.join(temp_dir(self), "batching.config")
        with open(config, "w") as f:
            f.write(
                "max_batch_size { value: 8 }\nallowed_batch_sizes: 4\npad_variable_length_inputs: true\n"
            )
        line = self.refused(
            [
                f"--model_base_path={base}",
                "--enable_batching",
                f"--batching_parameters_file={config}",
            ]
        )
        self.assertEqual(
            line,
            "tensorflow_model_server: error: Last entry in allowed_batch_sizes must match "
            "max_batch_size; last entry was 4; expected 8",
        )
        with open(config, "w") as f:
            f.write("max_batch_size: 8\n")
        line = self.refused(
            [
                f"--model_base_path={base}",
                "--enable_batching",
                f"--batching_parameters_file={config}",
            ]
        )
        self.assertIn("Error parsing text-format tensorflow.serving.BatchingParameters in", line)

    def test_no_model_source(self):
        """TF Serving's own text (server.cc)."""
        self.assertEqual(
            self.refused([f"--port={free_port()}"]),
            "tensorflow_model_server: error: Both server_options.model_base_path and "
            "server_options.model_config_file are empty!",
        )

    def test_missing_model_base_path(self):
        missing = os.path.join(temp_dir(self), "missing")
        line = self.refused(
            ["--model_name=my_model", f"--model_base_path={missing}", f"--port={free_port()}"]
        )
        self.assertEqual(
            line,
            "tensorflow_model_server: error: Invalid value received for argument `model_base_path`. Expected the "
            f"directory of model my_model's versions. Received: model_base_path={missing!r}",
        )

    def test_bad_values(self):
        base = os.path.join(models_root(), "my_model")
        self.assertIn(
            "argument --enable_model_warmup: expected true or false, received 'maybe'",
            self.refused([f"--model_base_path={base}", "--enable_model_warmup=maybe"]),
        )
        self.assertIn(
            "argument --port: invalid int value: 'x'",
            self.refused([f"--model_base_path={base}", "--port=x"]),
        )
        self.assertIn(
            "`rest_api_timeout_in_ms`",
            self.refused([f"--model_base_path={base}", "--rest_api_timeout_in_ms=0"]),
        )
        self.assertIn(
            "`poll_seconds`",
            self.refused([f"--model_base_path={base}", "--file_system_poll_wait_seconds=0"]),
        )


class SingleModelServerTest(tf.test.TestCase):
    def test_model_base_path_serves_one_model_under_its_name(self):
        base = os.path.join(models_root(), "my_model")
        with LocalModelServer(
            model_base_path=base, model_name="m", rest_port=0, grpc_port=free_port()
        ) as server:
            self.assertEqual(list(server.registry.models), ["m"])
            served = server.registry.get("m").resolve()
            self.assertEqual(served.version, 1)

    def test_bad_arguments(self):
        base = os.path.join(models_root(), "my_model")
        with self.assertRaisesRegex(
            ValueError, "exactly one of `base_dir`, `model_config_file` or `model_base_path`"
        ):
            LocalModelServer(base_dir=models_root(), model_base_path=base)
        with self.assertRaisesRegex(
            ValueError, "argument `model_name`. Expected a non-empty string"
        ):
            LocalModelServer(model_base_path=base, model_name="")
        with self.assertRaisesRegex(ValueError, "argument `grpc_max_threads`"):
            LocalModelServer(model_base_path=base, grpc_max_threads=0)


class WarmupReplayTest(tf.test.TestCase):
    def states(self, base, **kwargs):
        with LocalModelServer(
            model_base_path=base,
            model_name="my_model",
            rest_port=0,
            grpc_port=free_port(),
            **kwargs,
        ) as server:
            model = server.registry.get("my_model")
            return dict(model.states), sorted(model.versions)

    def test_good_records_replay_and_the_version_serves(self):
        states, versions = self.states(with_warmup(self, [1.0, 2.0, 3.0]))
        self.assertEqual(versions, [1])
        self.assertEqual(states[1].state, "AVAILABLE")

    def test_a_failing_record_fails_the_load(self):
        """TF Serving refuses a version whose warmup fails (here a wrong input name)."""
        states, versions = self.states(with_warmup(self, [1.0], input_name="not_x"))
        self.assertEqual(versions, [])
        self.assertEqual(states[1].state, "END")
        self.assertEqual(states[1].error_code, "INVALID_ARGUMENT")
        self.assertIn(
            "Failed to load version 1: INVALID_ARGUMENT: input size does not match signature",
            states[1].error_message,
        )
        self.assertIn("Missing but required: {x}", states[1].error_message)

    def test_enable_model_warmup_false_skips_the_records(self):
        states, versions = self.states(
            with_warmup(self, [1.0], input_name="not_x"), enable_model_warmup=False
        )
        self.assertEqual(versions, [1])
        self.assertEqual(states[1].state, "AVAILABLE")

    def test_more_than_1000_records_fail_the_load(self):
        """TF Serving's kMaxNumRecords and its message (saved_model_warmup_util.cc)."""
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

        base = with_warmup(self, [1.0])
        path = os.path.join(base, "1", "assets.extra", "tf_serving_warmup_requests")
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name="my_model"))
        request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([1.0], np.float32)))
        record = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)
        )
        with tf.io.TFRecordWriter(path) as writer:
            for _ in range(1001):
                writer.write(record.SerializeToString())
        states, versions = self.states(base)
        self.assertEqual(versions, [])
        self.assertIn(
            f"Number of warmup records exceeds the maximum (1000) at {path}",
            states[1].error_message,
        )

    def test_session_run_records_are_unimplemented(self):
        """TF Serving: `Unsupported log_type for warmup: 5` (SessionRunLog)."""
        from tensorflow_serving.apis import prediction_log_pb2

        base = with_warmup(self, [1.0])
        path = os.path.join(base, "1", "assets.extra", "tf_serving_warmup_requests")
        record = prediction_log_pb2.PredictionLog(
            session_run_log=prediction_log_pb2.SessionRunLog()
        )
        with tf.io.TFRecordWriter(path) as writer:
            writer.write(record.SerializeToString())
        states, _ = self.states(base)
        self.assertEqual(states[1].error_code, "UNIMPLEMENTED")
        self.assertIn("Unsupported log_type for warmup: 5", states[1].error_message)
