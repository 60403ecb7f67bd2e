"""A local server that speaks TF Serving's REST and gRPC protocols.

It is a test double for tests and local development, not a production
server: production runs the real `tensorflow/serving` image (see `serving/`).
It serves the models of a base directory (or a `models.config`), loads new
integer versions as they appear (zero-padded names too), honours version
labels and the latest-version policy, and binds 127.0.0.1 unless told
otherwise. Its answers follow TF Serving's own tests
(`tests/serving/conformance/`); the README lists the deliberate differences.
"""

import errno
import http.server
import os
import socket
import threading
from concurrent import futures

from tfx_ext._core.arguments import check_int, check_name, check_number, check_port, invalid
from tfx_ext.serving.model_registry import ModelRegistry


class LocalModelServer:
    """Serves SavedModel versions over TF Serving's REST (8501) and gRPC (8500) APIs.

    Args:
        base_dir: A models directory (each subdirectory a model, latest
            version served). Give this or `model_config_file`.
        model_config_file: A `models.config` (versions and labels honoured).
        rest_port: REST port; `0` turns REST off.
        grpc_port: gRPC port; `0` turns gRPC off.
        host: Address to bind. Defaults to `127.0.0.1`.
        poll_seconds: How often to look for new versions (> 0). A version
            that fails to load is retried after `poll_seconds`, then twice as
            long each time, at most 5 times; then only when its files change.
        max_body_bytes: Largest REST request body (413 above).
        max_message_bytes: Largest gRPC message (the 4 MB default is raised).
        model_config_poll_seconds: How often to re-read `model_config_file`
            (TF Serving's `--model_config_file_poll_wait_seconds`); 0 never.
        monitoring_config_file: A TF Serving `MonitoringConfig` text file; when
            it enables `prometheus_config`, request counts and latencies per
            model are served at its `path` on the REST port.
        max_tensor_elements: Largest number of elements of one request tensor,
            checked before anything is allocated (INVALID_ARGUMENT above).
        read_timeout: Seconds a REST client may take to send its request.
        enable_signature_method_name_check: Refuse Classify / Regress on
            signatures not saved with that method name (TF Serving's flag,
            off by default as there).
        model_base_path: One model's directory (its version subdirectories
            inside), served as `model_name`: TF Serving's `--model_base_path`.
            Give this, `base_dir` or `model_config_file`.
        model_name: The name `model_base_path` is served under (TF Serving's
            `--model_name`, default `"default"`).
        enable_model_warmup: Replay a version's
            `assets.extra/tf_serving_warmup_requests` before it is AVAILABLE;
            a failing record fails the load (TF Serving's flag, on by default).
        grpc_max_threads: Threads answering gRPC requests (TF Serving's
            `--grpc_max_threads`).
        batching_parameters: A `tfx_ext.serving.batching.BatchingParameters`
            to batch concurrent Predict calls (TF Serving's `--enable_batching`);
            None runs each call on its own.

    Example:

    >>> with LocalModelServer("models", rest_port=8501, grpc_port=8500) as server:
    ...     RestClient("127.0.0.1", 8501, "digits").predict(x)
    """

    def __init__(
        self,
        base_dir=None,
        model_config_file=None,
        rest_port=8501,
        grpc_port=8500,
        host="127.0.0.1",
        poll_seconds=1.0,
        max_body_bytes=64 * 1024 * 1024,
        max_message_bytes=64 * 1024 * 1024,
        model_config_poll_seconds=0,
        monitoring_config_file=None,
        max_tensor_elements=2**24,
        read_timeout=30.0,
        enable_signature_method_name_check=False,
        model_base_path=None,
        model_name="default",
        enable_model_warmup=True,
        grpc_max_threads=8,
        batching_parameters=None,
    ):
        sources = [base_dir, model_config_file, model_base_path]
        if sum(source is not None for source in sources) != 1:
            raise ValueError(
                "Invalid arguments: expected exactly one of `base_dir`, `model_config_file` or `model_base_path`. "
                f"Received: base_dir={base_dir!r}, model_config_file={model_config_file!r}, "
                f"model_base_path={model_base_path!r}"
            )
        if model_base_path is not None:
            check_name("model_name", model_name)
            if not os.path.isdir(model_base_path):
                raise invalid(
                    "model_base_path",
                    f"the directory of model {model_name}'s versions",
                    model_base_path,
                )
        self.grpc_max_threads = check_int("grpc_max_threads", grpc_max_threads, minimum=1)
        self.rest_port = check_port("rest_port", rest_port, allow_zero=True)
        self.grpc_port = check_port("grpc_port", grpc_port, allow_zero=True)
        if not self.rest_port and not self.grpc_port:
            raise ValueError(
                "Invalid arguments: at least one of `rest_port` or `grpc_port` must be non-zero."
            )
        self.host = host
        self.max_body_bytes = check_int("max_body_bytes", max_body_bytes, minimum=1)
        self.max_message_bytes = check_int("max_message_bytes", max_message_bytes, minimum=1)
        self.poll_seconds = check_number("poll_seconds", poll_seconds, low=0.0, low_open=True)
        self.model_config_poll_seconds = check_number(
            "model_config_poll_seconds", model_config_poll_seconds, low=0.0
        )
        if self.model_config_poll_seconds and model_config_file is None:
            raise ValueError(
                "Invalid arguments: `model_config_poll_seconds` needs a `model_config_file`. "
                f"Received: model_config_poll_seconds={model_config_poll_seconds!r}, model_config_file=None"
            )
        self.max_tensor_elements = check_int("max_tensor_elements", max_tensor_elements, minimum=1)
        self.read_timeout = check_number("read_timeout", read_timeout, low=0.0, low_open=True)
        self.method_check = bool(enable_signature_method_name_check)
        self.metrics = None
        self.metrics_path = None
        if monitoring_config_file is not None:
            from tfx_ext.serving.metrics import Metrics, read_monitoring_config

            self.metrics_path = read_monitoring_config(monitoring_config_file)
            if self.metrics_path is not None:
                if not self.rest_port:
                    raise ValueError(
                        "Invalid arguments: Prometheus metrics are served on the REST port; "
                        "`rest_port` must be non-zero. Received: rest_port=0"
                    )
                self.metrics = Metrics()
        warmup = bool(enable_model_warmup)
        if batching_parameters is not None:
            from tfx_ext.serving.batching import BatchingParameters

            if not isinstance(batching_parameters, BatchingParameters):
                raise invalid(
                    "batching_parameters", "a BatchingParameters", batching_parameters, TypeError
                )
        load = {"warmup": warmup, "batching": batching_parameters}
        if base_dir is not None:
            self.registry = ModelRegistry.from_base_dir(base_dir, self.poll_seconds, **load)
        elif model_base_path is not None:
            self.registry = ModelRegistry.from_model_base_path(
                model_name, model_base_path, self.poll_seconds, **load
            )
        else:
            self.registry = ModelRegistry.from_model_config(
                model_config_file, self.poll_seconds, self.model_config_poll_seconds, **load
            )
        self._http = None
        self._grpc = None

    def start(self):
        from tfx_ext.serving.rest_server import make_handler

        self.registry.start()
        try:
            if self.rest_port:
                handler = make_handler(
                    self.registry,
                    self.max_body_bytes,
                    self.max_tensor_elements,
                    self.read_timeout,
                    self.metrics,
                    self.metrics_path,
                    self.method_check,
                )
                try:
                    self._http = _RestServer((self.host, self.rest_port), handler)
                except OSError as error:
                    raise _bind_error("REST", self.host, self.rest_port, error) from None
                self._http.daemon_threads = True
                threading.Thread(
                    target=self._http.serve_forever, name="rest-server", daemon=True
                ).start()
            if self.grpc_port:
                import grpc

                from tfx_ext.serving.grpc_server import add_services

                options = [
                    ("grpc.max_send_message_length", self.max_message_bytes),
                    ("grpc.max_receive_message_length", self.max_message_bytes),
                    ("grpc.so_reuseport", 0),  # a busy port must fail, not be shared
                ]
                self._grpc = grpc.server(
                    futures.ThreadPoolExecutor(max_workers=self.grpc_max_threads), options=options
                )
                add_services(
                    self._grpc,
                    self.registry,
                    self.max_tensor_elements,
                    self.metrics,
                    self.method_check,
                )
                try:
                    bound = self._grpc.add_insecure_port(f"{self.host}:{self.grpc_port}")
                except RuntimeError as error:
                    raise _bind_error("gRPC", self.host, self.grpc_port, error) from None
                if bound == 0:
                    raise _bind_error("gRPC", self.host, self.grpc_port, None)
                self._grpc.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._grpc is not None:
            self._grpc.stop(grace=1).wait()
            self._grpc = None
        self.registry.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait(self):
        """Blocks until interrupted (for `tfx-ext serve`)."""
        threading.Event().wait()


class _RestServer(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops connections of a burst of clients
    daemon_threads = True

    def get_request(self):
        # TCP_NODELAY: an answer's last small segment leaves at once instead of waiting
        # (Nagle) for the client's delayed ACK of the previous one, ~40 ms a request.
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


def _bind_error(api, host, port, error):
    reason = (
        "address already in use"
        if error is None or getattr(error, "errno", None) == errno.EADDRINUSE
        else str(error)
    )
    return OSError(f"Could not bind the {api} port {port} on {host}: {reason}")
