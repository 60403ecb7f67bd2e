import http.server
import json
import threading
import time
from concurrent import futures

import grpc
import keras
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from tests.bad_input import rejects_bad_input
from tests.export.models import free_port, predict, temp_dir
from tfx_ext.export import export_for_serving
from tfx_ext.serving import GrpcClient, LocalModelServer, RestClient, ServingError


class ScriptedHttpServer:
    """Answers each request with the next (status, body) of a script, counting requests."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                owner.requests.append((self.path, json.loads(self.rfile.read(length))))
                status, body = owner.script.pop(0) if len(owner.script) > 1 else owner.script[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


UNAVAILABLE = (503, {"error": "Service unavailable"})
OK = (200, {"predictions": [[1.5, 2.5]]})


class RestClientRetryTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_retries_503_with_backoff(self):
        with ScriptedHttpServer([UNAVAILABLE, UNAVAILABLE, OK]) as server:
            client = RestClient("127.0.0.1", server.port, "m", retries=3, backoff=0.05)
            start = time.monotonic()
            result = client.predict(np.zeros((1, 2), "float32"))
            elapsed = time.monotonic() - start
        self.assertAllClose(result, [[1.5, 2.5]])
        self.assertLen(server.requests, 3)
        self.assertGreaterEqual(elapsed, 0.05 + 0.1)  # 0.05 s, then twice that
        self.assertEqual(server.requests[0], ("/v1/models/m:predict", {"instances": [[0.0, 0.0]]}))
        self.assertEqual(server.requests[0], server.requests[2])

    def test_gives_up_after_the_retries(self):
        with ScriptedHttpServer([UNAVAILABLE]) as server:
            with self.assertRaises(ServingError) as caught:
                RestClient("127.0.0.1", server.port, "m", retries=2, backoff=0.01).predict([[0.0]])
        self.assertLen(server.requests, 3)
        self.assertEqual(
            (caught.exception.code, caught.exception.http_status), ("UNAVAILABLE", 503)
        )

    def test_other_errors_are_not_retried(self):
        for status, code in [(400, "INVALID_ARGUMENT"), (404, "NOT_FOUND"), (500, "UNKNOWN")]:
            with ScriptedHttpServer([(status, {"error": "nope"}), OK]) as server:
                with self.assertRaises(ServingError) as caught:
                    RestClient("127.0.0.1", server.port, "m", retries=3, backoff=0.01).predict(
                        [[0.0]]
                    )
            self.assertLen(server.requests, 1, msg=status)
            self.assertEqual((caught.exception.code, caught.exception.http_status), (code, status))
            self.assertEqual(caught.exception.message, "nope")

    def test_urls_for_version_and_label(self):
        with ScriptedHttpServer([OK]) as server:
            RestClient("127.0.0.1", server.port, "m", version=3).predict([[0.0]])
            RestClient("127.0.0.1", server.port, "m", label="canary").predict(
                [[0.0]], signature_name="s"
            )
        self.assertEqual(
            [path for path, _ in server.requests],
            ["/v1/models/m/versions/3:predict", "/v1/models/m/labels/canary:predict"],
        )
        self.assertEqual(server.requests[1][1]["signature_name"], "s")

    @rejects_bad_input(RestClient)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"`version` or `label`, not both"):
            RestClient("127.0.0.1", 8501, "m", version=1, label="canary")
        with self.assertRaisesRegex(ValueError, r"argument `port`"):
            RestClient("127.0.0.1", 0, "m")
        with self.assertRaisesRegex(
            ValueError, r"argument `port`.*between 1 and 65535.*port=70000"
        ):
            RestClient("127.0.0.1", 70000, "m")
        with self.assertRaisesRegex(
            ValueError,
            r"argument `model_name`. Expected a non-empty string. Received: model_name=''",
        ):
            RestClient("127.0.0.1", 8501, "")
        with self.assertRaisesRegex(TypeError, r"argument `model_name`"):
            RestClient("127.0.0.1", 8501, None)
        with self.assertRaisesRegex(ValueError, r"argument `timeout`"):
            RestClient("127.0.0.1", 8501, "m", timeout=0)
        with self.assertRaisesRegex(ValueError, r"argument `version`"):
            RestClient("127.0.0.1", 8501, "m", version=0)


class FlakyPredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Aborts the first `failures` Predict calls with `code`, then answers y = 2 * x."""

    def __init__(self, failures, code=grpc.StatusCode.UNAVAILABLE):
        self.failures = failures
        self.code = code
        self.calls = 0

    def Predict(self, request, context):
        self.calls += 1
        if self.calls <= self.failures:
            context.abort(self.code, "try again")
        response = predict_pb2.PredictResponse()
        response.outputs["y"].CopyFrom(
            tf.make_tensor_proto(2 * tf.make_ndarray(request.inputs["x"]))
        )
        return response


class GrpcClientTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def _serve(self, servicer):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self.addCleanup(lambda: server.stop(grace=None).wait())
        return port

    def test_retries_unavailable(self):
        servicer = FlakyPredictionService(failures=2)
        port = self._serve(servicer)
        with GrpcClient("127.0.0.1", port, "m", retries=3, backoff=0.01) as client:
            result = client.predict({"x": np.array([[1.0, 2.0]], "float32")})
        self.assertAllClose(result, [[2.0, 4.0]])
        self.assertEqual(servicer.calls, 3)

    def test_gives_up_after_the_retries(self):
        servicer = FlakyPredictionService(failures=10)
        port = self._serve(servicer)
        with GrpcClient("127.0.0.1", port, "m", retries=2, backoff=0.01) as client:
            with self.assertRaises(ServingError) as caught:
                client.predict({"x": np.zeros((1, 1), "float32")})
        self.assertEqual(servicer.calls, 3)
        self.assertEqual(
            (caught.exception.code, caught.exception.message), ("UNAVAILABLE", "try again")
        )
        self.assertEqual(caught.exception.http_status, 503)

    def test_other_errors_are_not_retried(self):
        servicer = FlakyPredictionService(failures=1, code=grpc.StatusCode.INVALID_ARGUMENT)
        port = self._serve(servicer)
        with GrpcClient("127.0.0.1", port, "m", retries=3, backoff=0.01) as client:
            with self.assertRaises(ServingError) as caught:
                client.predict({"x": np.zeros((1, 1), "float32")})
        self.assertEqual(servicer.calls, 1)
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_retries_until_the_server_is_up(self):
        port = free_port()
        servicer = FlakyPredictionService(failures=0)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
        self.addCleanup(lambda: server.stop(grace=None).wait())

        def start_later():
            time.sleep(0.3)
            server.add_insecure_port(f"127.0.0.1:{port}")
            server.start()

        starter = threading.Thread(target=start_later)
        starter.start()
        self.addCleanup(starter.join)
        with GrpcClient("127.0.0.1", port, "m", retries=6, backoff=0.2, timeout=5) as client:
            result = client.predict({"x": np.ones((2, 1), "float32")})
        self.assertAllClose(result, [[2.0], [2.0]])

    @rejects_bad_input(GrpcClient)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"`version` or `label`, not both"):
            GrpcClient("127.0.0.1", 8500, "m", version=2, label="stable")
        with self.assertRaisesRegex(
            ValueError,
            r"argument `port`. Expected an integer port number between 1 and 65535. Received: port=70000",
        ):
            GrpcClient("127.0.0.1", 70000, "m")
        with self.assertRaisesRegex(ValueError, r"argument `model_name`"):
            GrpcClient("127.0.0.1", 8500, "")
        with self.assertRaisesRegex(ValueError, r"argument `retries`"):
            GrpcClient("127.0.0.1", 8500, "m", retries=-1)

    def test_message_over_4mb(self):
        inputs = keras.Input((1024,), name="wide")
        model = keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs))
        base = temp_dir(self)
        export_for_serving(model, base, "wide")
        x = np.random.default_rng(0).standard_normal((1100, 1024)).astype("float32")
        request = predict_pb2.PredictRequest()
        request.inputs["wide"].CopyFrom(tf.make_tensor_proto(x))
        self.assertGreater(request.ByteSize(), 4 * 1024 * 1024)  # over gRPC's default limit

        port = free_port()
        with LocalModelServer(base, rest_port=0, grpc_port=port):
            with GrpcClient("127.0.0.1", port, "wide") as client:
                result = client.predict(x)
        self.assertEqual(result.shape, (1100, 2))
        self.assertAllClose(result, predict(model, x), atol=1e-4)

    def test_array_predict_looks_the_input_name_up_once_and_again_when_refused(self):
        inputs = keras.Input((3,), name="pixels")
        model = keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs))
        base = temp_dir(self)
        export_for_serving(model, base, "small")
        x = np.random.default_rng(1).standard_normal((4, 3)).astype("float32")
        port = free_port()
        with LocalModelServer(base, rest_port=0, grpc_port=port):
            with GrpcClient("127.0.0.1", port, "small") as client:
                lookups = []
                original = client._input_names

                def counting(signature_name):
                    lookups.append(signature_name)
                    return original(signature_name)

                client._input_names = counting
                for _ in range(3):
                    self.assertAllClose(client.predict(x), predict(model, x), atol=1e-5)
                self.assertEqual(lookups, ["serving_default"])
                # A cached name the served version refuses (a new version renamed its input):
                # looked up again, and the predict answers.
                client._input_names_cache["serving_default"] = ["renamed"]
                self.assertAllClose(client.predict(x), predict(model, x), atol=1e-5)
                self.assertEqual(lookups, ["serving_default"] * 2)
                self.assertEqual(client._input_names_cache["serving_default"], ["pixels"])
