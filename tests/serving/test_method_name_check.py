"""`enable_signature_method_name_check` (TF Serving's flag, off by default): when on,
Classify / Regress refuse signatures saved with another method name, such as a TF2
export's (all its signatures are saved as predict)."""

import json

from tests.serving.conformance.harness import ServerTestCase, call_rest

BODY = {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}


class MethodNameCheckTest(ServerTestCase):
    MODELS = {"tf1": "saved_model_half_plus_two_cpu", "tf2": "saved_model_half_plus_two_tf2_cpu"}
    SERVER_ARGS = {"enable_signature_method_name_check": True}

    def classify(self, model):
        status, _, body = call_rest(f"http://{self.rest_address}/v1/models/{model}:classify", BODY)
        return status, json.loads(body)

    def test_checked_when_enabled(self):
        self.assertEqual(self.classify("tf1"), (200, {"results": [[["", 3.0]]]}))
        status, body = self.classify("tf2")
        self.assertEqual(status, 400)
        self.assertEqual(
            body["error"],
            "Expected classification signature method_name to be tensorflow/serving/classify. "
            "Was: tensorflow/serving/predict",
        )
