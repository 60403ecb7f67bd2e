"""A local server that speaks TF Serving's REST and gRPC protocols.

It is a test double for tests and local development, not a production
server: production runs the real `tensorflow/serving` image (see `serving/`).
It serves the models of a base directory (or a `models.config`), loads new
integer versions as they appear, honours version labels and the
latest-version policy, and binds 127.0.0.1 unless told otherwise.
"""

import http.server
import threading
from concurrent import futures

from tfx_ext.arguments import check_int
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
        poll_seconds: How often to look for new versions.
        max_body_bytes: Largest REST request body (413 above).
        max_message_bytes: Largest gRPC message (the 4 MB default is raised).

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
    ):
        if (base_dir is None) == (model_config_file is None):
            raise ValueError(
                "Invalid arguments: expected exactly one of `base_dir` or `model_config_file`. "
                f"Received: base_dir={base_dir!r}, model_config_file={model_config_file!r}"
            )
        self.rest_port = check_int("rest_port", rest_port, minimum=0)
        self.grpc_port = check_int("grpc_port", grpc_port, minimum=0)
        if not self.rest_port and not self.grpc_port:
            raise ValueError("Invalid arguments: at least one of `rest_port` or `grpc_port` must be non-zero.")
        self.host = host
        self.max_body_bytes = check_int("max_body_bytes", max_body_bytes, minimum=1)
        self.max_message_bytes = check_int("max_message_bytes", max_message_bytes, minimum=1)
        self.registry = (
            ModelRegistry.from_base_dir(base_dir, poll_seconds)
            if base_dir is not None
            else ModelRegistry.from_model_config(model_config_file, poll_seconds)
        )
        self._http = None
        self._grpc = None

    def start(self):
        from tfx_ext.serving.rest_server import make_handler

        self.registry.start()
        if self.rest_port:
            handler = make_handler(self.registry, self.max_body_bytes)
            self._http = http.server.ThreadingHTTPServer((self.host, self.rest_port), handler)
            self._http.daemon_threads = True
            threading.Thread(target=self._http.serve_forever, name="rest-server", daemon=True).start()
        if self.grpc_port:
            import grpc

            from tfx_ext.serving.grpc_server import add_services

            options = [
                ("grpc.max_send_message_length", self.max_message_bytes),
                ("grpc.max_receive_message_length", self.max_message_bytes),
            ]
            self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
            add_services(self._grpc, self.registry)
            if self._grpc.add_insecure_port(f"{self.host}:{self.grpc_port}") == 0:
                raise OSError(f"Could not bind gRPC to {self.host}:{self.grpc_port}")
            self._grpc.start()
        return self

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=1).wait()
        self.registry.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait(self):
        """Blocks until interrupted (for `tfx-ext serve`)."""
        threading.Event().wait()
