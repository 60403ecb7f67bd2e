"""TF Serving's `model_servers/http_rest_api_handler_test.cc`, ported.

TF Serving calls its handler in-process (`ProcessRequest(method, path, body)`);
we send the same method, path and body over HTTP and check the same status
(absl InvalidArgument -> 400, NotFound -> 404, as TF Serving's HTTP server maps
them), the same error substrings, the same JSON answers (compared as
documents, as its `CompareJson`) and the same `Content-Type` header.
"""

import http.client
import json

from tests.serving.conformance.expected_metadata import half_plus_two_model_metadata
from tests.serving.conformance.harness import ServerTestCase

MODEL = "saved_model_half_plus_two_2_versions"
VERSION = 123
LABEL = "Version_Label"
NONEXISTENT_LABEL = "Version_Nonexistent"
INVALID_ARGUMENT, NOT_FOUND, OK = 400, 404, 200


class HttpRestApiHandlerTest(ServerTestCase):
    LAYOUT = "padded"
    MODELS = {MODEL: MODEL}
    VERSIONS = {MODEL: [VERSION]}
    LABELS = {MODEL: {LABEL: VERSION}}

    def process(self, method, path, body=""):
        """`(status, body text, headers)` of one request, sent byte for byte."""
        connection = http.client.HTTPConnection("127.0.0.1", self.rest_port, timeout=20)
        self.addCleanup(connection.close)
        connection.request(method, path, body=body.encode() if body else None)
        response = connection.getresponse()
        return response.status, response.read().decode(), response.getheader("Content-Type")

    def assertStatus(self, expected_status, substring, method, path, body=""):
        status, text, content_type = self.process(method, path, body)
        self.assertEqual(status, expected_status, msg=(method, path, text))
        self.assertEqual(content_type, "application/json")
        if substring is not None:
            self.assertIn(substring, json.loads(text)["error"])

    def assertJson(self, expected, method, path, body=""):
        status, text, content_type = self.process(method, path, body)
        self.assertEqual(status, OK, msg=text)
        self.assertEqual(content_type, "application/json")
        self.assertEqual(
            json.loads(text), json.loads(expected) if isinstance(expected, str) else expected
        )

    def test_kPathRegex(self):
        # Paths under /v1/ reach the handler (here: a 400 naming what is missing); others do not.
        self.assertStatus(INVALID_ARGUMENT, "Missing model name", "GET", "/v1/models")
        self.assertStatus(NOT_FOUND, None, "GET", "/statuspage")
        self.assertStatus(NOT_FOUND, None, "GET", "/index")

    def test_UnsupportedApiCalls(self):
        cases = [
            ("GET", "/v1/foo", "Malformed request"),
            ("POST", "/v1/foo", "Malformed request"),
            ("GET", "/v1/models", "Missing model name"),
            ("GET", "/v1/models/debug/model_name", "Malformed request"),
            ("POST", "/v1/models", "Malformed request"),
            ("GET", "/v1/models/foo:predict", "Malformed request"),
            ("GET", "/v1/models/foo/version/50:predict", "Malformed request"),
            ("POST", "/v1/models/foo/version/50:regress", "Malformed request"),
            ("POST", "/v1/models/foo/versions/HELLO:regress", "Malformed request"),
            ("POST", f"/v1/models/foo/versions/{2**64 - 1}:regress", "Failed to convert version"),
            ("POST", "/v1/models/foo/metadata", "Malformed request"),
            ("POST", "/v1/models/foo/label/some_label:regress", "Malformed request"),
            ("POST", "/v1/models/foo/versions/50/labels/some_label:regress", "Malformed request"),
            ("POST", "/v1/models/foo/versions/some_label:regress", "Malformed request"),
        ]
        for method, path, substring in cases:
            with self.subTest(method=method, path=path):
                self.assertStatus(INVALID_ARGUMENT, substring, method, path)

    def test_PredictModelNameVersionErrors(self):
        body = '{ "instances": [1] }'
        self.assertStatus(NOT_FOUND, None, "POST", "/v1/models/foo:predict", body)
        self.assertStatus(NOT_FOUND, None, "POST", "/v1/models/foo/versions/50:predict", body)
        self.assertStatus(NOT_FOUND, None, "POST", f"/v1/models/{MODEL}99:predict", body)

    def test_PredictRequestErrors(self):
        path = f"/v1/models/{MODEL}:predict"
        self.assertStatus(
            INVALID_ARGUMENT, "JSON Parse error: The document is empty", "POST", path, ""
        )
        self.assertStatus(
            INVALID_ARGUMENT, "JSON Parse error: Invalid value", "POST", path, "instances = [1, 2]"
        )
        self.assertStatus(
            INVALID_ARGUMENT,
            "not of expected type: float",
            "POST",
            path,
            '{ "instances": ["x", "y"] }',
        )
        self.assertStatus(
            INVALID_ARGUMENT,
            "Unrecognized servable version label",
            "POST",
            f"/v1/models/{MODEL}/labels/{NONEXISTENT_LABEL}:predict",
            '{ "instances": ["x", "y"] }',
        )
        self.assertStatus(
            INVALID_ARGUMENT,
            "'signature_name' key must be a string value.",
            "POST",
            path,
            '{ "signature_name": 100 }',
        )

    def test_Predict(self):
        self.assertJson(
            '{ "predictions": [[2.5, 3.0], [3.5, 4.0]] }',
            "POST",
            f"/v1/models/{MODEL}:predict",
            '{"instances": [[1.0, 2.0], [3.0, 4.0]]}',
        )
        self.assertJson(
            '{ "predictions": [2.5, 3.0] }',
            "POST",
            f"/v1/models/{MODEL}/versions/{VERSION}:predict",
            '{"instances": [1.0, 2.0]}',
        )
        self.assertJson(
            '{ "predictions": [2.5, 3.0] }',
            "POST",
            f"/v1/models/{MODEL}/labels/{LABEL}:predict",
            '{"instances": [1.0, 2.0]}',
        )
        self.assertJson(
            '{ "predictions": [3.5, 4.0] }',
            "POST",
            f"/v1/models/{MODEL}/versions/{VERSION}:predict",
            '{"signature_name": "serving_default", "instances": [3.0, 4.0]}',
        )
        self.assertJson(
            '{ "outputs": [3.5, 4.0] }',
            "POST",
            f"/v1/models/{MODEL}/versions/{VERSION}:predict",
            '{"signature_name": "serving_default", "inputs": [3.0, 4.0]}',
        )

    def test_Regress(self):
        body = '{"signature_name": "regress_x_to_y", "examples": [ { "x": 80.0 } ] }'
        for path in (
            f"/v1/models/{MODEL}:regress",
            f"/v1/models/{MODEL}/versions/{VERSION}:regress",
            f"/v1/models/{MODEL}/labels/{LABEL}:regress",
        ):
            self.assertJson('{ "results": [42] }', "POST", path, body)

    def test_Classify(self):
        self.assertJson(
            '{ "results": [[["", 12]]] }',
            "POST",
            f"/v1/models/{MODEL}:classify",
            '{"signature_name": "classify_x_to_y", "examples": [ { "x": 20.0 } ] }',
        )
        self.assertJson(
            '{ "results": [[["", 7]]] }',
            "POST",
            f"/v1/models/{MODEL}/labels/{LABEL}:classify",
            '{"signature_name": "classify_x_to_y", "examples": [ { "x": 10.0 } ] }',
        )

    def test_GetStatus(self):
        expected = {
            "model_version_status": [
                {
                    "version": "123",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }
        self.assertJson(expected, "GET", f"/v1/models/{MODEL}")
        self.assertJson(expected, "GET", f"/v1/models/{MODEL}/versions/{VERSION}")
        self.assertJson(expected, "GET", f"/v1/models/{MODEL}/labels/{LABEL}")

    def test_GetModelMetadata(self):
        # saved_model_half_plus_two_2_versions_metadata.json
        self.assertJson(
            half_plus_two_model_metadata(MODEL, classify_x2=True),
            "GET",
            f"/v1/models/{MODEL}/metadata",
        )


class HttpRestApiHandlerPlainLayoutTest(HttpRestApiHandlerTest):
    LAYOUT = "plain"
