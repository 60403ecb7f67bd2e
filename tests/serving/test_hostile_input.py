"""Malformed and hostile requests get TF Serving's codes (400 / INVALID_ARGUMENT), never a
hang, a 500 or a Python message; after each one the server still answers REST and gRPC."""

import http.client
import json
import socket

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tests.serving.conformance.harness import ServerTestCase
from tfx_ext.serving.errors import ServingError
from tfx_ext.serving.tensor_protos import array_from_proto

MAX_ELEMENTS = 10_000
MAX_BODY = 200_000
READ_TIMEOUT = 1.0
PYTHON_INTERNALS = (
    "Traceback",
    'File "',
    "KeyError",
    "TypeError",
    "AttributeError",
    "NoneType",
    "object is not",
)


class HostileInputTest(ServerTestCase):
    MODELS = {"default": "saved_model_half_plus_two_cpu", "other": "saved_model_half_plus_three"}
    SERVER_ARGS = {
        "max_tensor_elements": MAX_ELEMENTS,
        "max_body_bytes": MAX_BODY,
        "read_timeout": READ_TIMEOUT,
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.grpc_port}")
        cls.stub = prediction_service_pb2_grpc.PredictionServiceStub(cls.channel)
        cls.models = model_service_pb2_grpc.ModelServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        super().tearDownClass()

    # --- helpers -------------------------------------------------------------------------------

    def raw(self, request_bytes, read_timeout=10.0):
        """Sends raw bytes; `(status, body)` of the answer (the socket timeout bounds a hang)."""
        with socket.create_connection(("127.0.0.1", self.rest_port), timeout=read_timeout) as sock:
            sock.sendall(request_bytes)
            response = http.client.HTTPResponse(sock)
            response.begin()
            return response.status, response.read().decode()

    def post(self, body, path="/v1/models/default:predict", headers=""):
        data = body if isinstance(body, bytes) else body.encode()
        return self.raw(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n{headers}\r\n".encode()
            + data
        )

    def assertRejected(self, answer, status=400, substring=None):
        code, text = answer
        self.assertEqual(code, status, msg=text)
        message = json.loads(text)["error"]
        for internal in PYTHON_INTERNALS:
            self.assertNotIn(internal, message)
        if substring:
            self.assertIn(substring, message)
        self.assertStillServing()

    def assertGrpcRejected(
        self, call, request, substring=None, code=grpc.StatusCode.INVALID_ARGUMENT
    ):
        with self.assertRaises(grpc.RpcError) as caught:
            call(request, timeout=20)
        self.assertEqual(caught.exception.code(), code, msg=caught.exception.details())
        for internal in PYTHON_INTERNALS:
            self.assertNotIn(internal, caught.exception.details())
        if substring:
            self.assertIn(substring, caught.exception.details())
        self.assertStillServing()

    def assertStillServing(self):
        status, text = self.post('{"instances": [2.0]}')
        self.assertEqual((status, json.loads(text)), (200, {"predictions": [3.0]}))
        request = self.predict_request(tf.make_tensor_proto([2.0], dtype=tf.float32))
        self.assertEqual(list(self.stub.Predict(request, timeout=20).outputs["y"].float_val), [3.0])

    def predict_request(self, tensor, name="default"):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.inputs["x"].CopyFrom(tensor)
        return request

    # --- REST ----------------------------------------------------------------------------------

    def test_bad_content_length(self):
        for value in ("-1", "abc", "1e3", "99999999999999999999999", "5, 6"):
            with self.subTest(value=value):
                self.assertRejected(
                    self.raw(
                        f"POST /v1/models/default:predict HTTP/1.1\r\nContent-Length: {value}\r\n\r\n{{}}".encode()
                    )
                )

    def test_body_too_large(self):
        self.assertRejected(self.post(b"[" + b"1," * MAX_BODY + b"1]"), status=413)

    def test_chunked_bodies(self):
        body = b'{"instances": [[0.1]]}'
        chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (5, body[:5], len(body) - 5, body[5:])
        status, text = self.raw(
            b"POST /v1/models/default:predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked
        )
        self.assertEqual((status, json.loads(text)), (200, {"predictions": [[2.05]]}))
        for bad in (b"zz\r\n", b"-5\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n"):
            with self.subTest(chunks=bad):
                self.assertRejected(
                    self.raw(
                        b"POST /v1/models/default:predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + bad
                    )
                )
        self.assertRejected(
            self.raw(b"POST /v1/models/default:predict HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
        )

    def test_slow_bodies_time_out_and_do_not_block(self):
        sockets = []
        try:
            for _ in range(50):  # each declares 100 bytes and sends 10
                sock = socket.create_connection(("127.0.0.1", self.rest_port), timeout=10)
                sock.sendall(
                    b"POST /v1/models/default:predict HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789"
                )
                sockets.append(sock)
            self.assertStillServing()
            for sock in sockets:  # the server closes each once its read timeout passes
                self.assertEqual(sock.recv(1024), b"")
        finally:
            for sock in sockets:
                sock.close()

    def test_hostile_json(self):
        cases = [
            ("[" * 900 + "]" * 900, "JSON"),
            ('{"instances": ' + "[" * 900 + "2.0" + "]" * 900 + "}", "rank"),
            ('{"instances": ' + "[" * 90_000 + "]" * 90_000 + "}", "JSON Parse error"),
            ('{"instances": [' + "9" * 400 + "]}", None),
            ('{"instances": [1e400]}', "Number too big"),
            ('{"instances": [' + "9" * 5000 + "]}", "JSON Parse error"),
            (
                '{"instances": [2.0], "signature_name": ["serving_default"]}',
                "'signature_name' key must be a string",
            ),
            ('{"instances": [true]}', "is not of expected type: float"),
            ('{"instances": ["1.0"]}', "is not of expected type: float"),
            ('{"instances": [null]}', "is not of expected type: float"),
            ('{"instances": [{"b64": "AAAA"}]}', None),
            (
                '{"instances": [[1.0, 2.0], [3.0]]}',
                "Expecting tensor size: 2 but got: 1",
            ),  # TF Serving's text
            ('{"instances": [[1.0], 2.0]}', None),
            (
                '{"instances": [' + ",".join(["1.0"] * (MAX_ELEMENTS + 1)) + "]}",
                "max_tensor_elements",
            ),
            ('{"instances": []}', "No values in 'instances' array"),
            ('{"instances": [1], "inputs": [1]}', "only one of 'inputs' or 'instances'"),
            ('{"inputs": {"y": [1.0]}}', None),
            ("[1, 2]", "Is not object"),
            ('"just a string"', "Is not object"),
            ("{not json", "JSON Parse error"),
            ("", "The document is empty"),
        ]
        for body, substring in cases:
            with self.subTest(body=body[:60]):
                self.assertRejected(self.post(body), substring=substring)
        self.assertRejected(self.post(b'{"instances": ["\xff\xfe"]}'), substring="JSON Parse error")

    def test_hostile_examples(self):
        path = "/v1/models/default:classify"
        cases = [
            '{"signature_name": "classify_x_to_y", "examples": {"x": 1}}',
            '{"signature_name": "classify_x_to_y", "examples": [1, 2]}',
            '{"signature_name": "classify_x_to_y", "examples": [{"x": [true]}]}',
            '{"signature_name": "classify_x_to_y", "examples": [{"x": {"b64": "%%%"}}]}',
            '{"signature_name": "classify_x_to_y", "examples": [{"x": 2}]}',  # int64 into a float feature
            '{"signature_name": "classify_x_to_y", "examples": []}',
            '{"signature_name": "classify_x_to_y", "context": [1], "examples": [{"x": 1.0}]}',
            '{"signature_name": "serving_default", "examples": [{"x": 1.0}]}',  # no "inputs" input
            '{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}',  # no classes / scores
        ]
        for body in cases:
            with self.subTest(body=body):
                self.assertRejected(self.post(body, path=path))

    def test_hostile_paths(self):
        for request in (
            b"GET /v1/models/default/versions/99999999999999999999 HTTP/1.1\r\n\r\n",
            b"PUT /v1/models/default:predict HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            b"GET /v1/models/%ff%fe HTTP/1.1\r\n\r\n",
            b"GET /v1/models/a/labels/%00 HTTP/1.1\r\n\r\n",
        ):
            with self.subTest(request=request):
                status, text = self.raw(request)
                self.assertIn(status, (400, 404), msg=text)
                self.assertRejected((status, text), status=status)

    # --- gRPC ----------------------------------------------------------------------------------

    def test_malformed_tensors(self):
        short = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=b"\x00" * 6)
        short.tensor_shape.dim.add(size=2)
        invalid_dtype = tensor_pb2.TensorProto(dtype=types_pb2.DT_INVALID, float_val=[1.0])
        negative = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0])
        negative.tensor_shape.dim.add(size=-3)
        huge = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0])
        huge.tensor_shape.dim.add(size=2**27)
        huge.tensor_shape.dim.add(size=1)
        overflow = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0])
        for _ in range(8):
            overflow.tensor_shape.dim.add(size=2**62)
        too_many = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0, 2.0, 3.0])
        too_many.tensor_shape.dim.add(size=2)
        unknown_rank = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0])
        unknown_rank.tensor_shape.unknown_rank = True
        string = tf.make_tensor_proto([b"2.0"])
        double = tf.make_tensor_proto(np.array([2.0]))
        cases = [
            short,
            invalid_dtype,
            negative,
            huge,
            overflow,
            too_many,
            unknown_rank,
            string,
            double,
        ]
        for tensor in cases:
            with self.subTest(tensor=str(tensor)[:80]):
                self.assertGrpcRejected(self.stub.Predict, self.predict_request(tensor))

    def test_element_cap_is_checked_before_allocating(self):
        huge = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0])
        huge.tensor_shape.dim.add(size=2**27)
        huge.tensor_shape.dim.add(size=1)
        with self.assertRaisesRegex(ServingError, "max_tensor_elements") as caught:
            array_from_proto("x", huge, 2**24)  # the server's default cap
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
        self.assertEqual(
            array_from_proto("x", tf.make_tensor_proto([[1.0], [2.0]]), 2**24).shape, (2, 1)
        )

    def test_bad_requests(self):
        no_input = classification_pb2.ClassificationRequest()
        no_input.model_spec.name = "default"
        no_input.model_spec.signature_name = "classify_x_to_y"
        self.assertGrpcRejected(self.stub.Classify, no_input, "Input is empty")

        two_models = inference_pb2.MultiInferenceRequest()
        for name in ("default", "other"):
            task = two_models.tasks.add(method_name="tensorflow/serving/regress")
            task.model_spec.name = name
            # A regress signature: TF Serving checks each task's signature before the next
            # task's model name (serving_default would fail that check first).
            task.model_spec.signature_name = "regress_x_to_y"
        two_models.input.example_list.examples.add().features.feature["x"].float_list.value.append(
            1.0
        )
        self.assertGrpcRejected(self.stub.MultiInference, two_models, "same model name")

        bad_method = inference_pb2.MultiInferenceRequest()
        bad_method.CopyFrom(two_models)
        bad_method.tasks[1].model_spec.name = "default"
        bad_method.tasks[1].model_spec.signature_name = "classify_x_to_y"
        bad_method.tasks[1].method_name = "tensorflow/serving/predict"
        self.assertGrpcRejected(
            self.stub.MultiInference,
            bad_method,
            "Unsupported signature method_name",
            code=grpc.StatusCode.UNIMPLEMENTED,
        )

        metadata = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["nope"])
        metadata.model_spec.name = "default"
        self.assertGrpcRejected(self.stub.GetModelMetadata, metadata)
        self.assertGrpcRejected(
            self.models.GetModelStatus,
            get_model_status_pb2.GetModelStatusRequest(),
            "Missing ModelSpec",
        )

        unknown = self.predict_request(tf.make_tensor_proto([2.0], dtype=tf.float32), name="nope")
        self.assertGrpcRejected(
            self.stub.Predict, unknown, "Servable not found", code=grpc.StatusCode.NOT_FOUND
        )
        filtered = self.predict_request(tf.make_tensor_proto([2.0], dtype=tf.float32))
        filtered.output_filter.append("nope")
        self.assertGrpcRejected(self.stub.Predict, filtered, "output tensor alias not found")
