"""Error texts that scripts and dashboards match on, as TF Serving writes them
(`classifier.cc`, `regressor.cc`, `util/json_tensor.cc`), over REST and gRPC, on the TF1
`half_plus_two` in both version layouts. Codes and texts are TF Serving's; the exact
texts are its source's string constants."""

import json

import grpc
from tensorflow_serving.apis import classification_pb2, prediction_service_pb2_grpc, regression_pb2

from tests.serving.conformance.harness import RPC_TIMEOUT, ServerTestCase, call_rest

MODEL = "half_plus_two"


class ErrorTextsTest(ServerTestCase):
    LAYOUT = "padded"
    MODELS = {MODEL: "saved_model_half_plus_two_cpu"}

    def rest_error(self, verb, request):
        status, _, body = call_rest(f"http://{self.rest_address}/v1/models/{MODEL}:{verb}", request)
        self.assertEqual(status, 400, msg=body)
        return json.loads(body)["error"]

    def grpc_error(self, method, request):
        request.model_spec.name = MODEL
        with grpc.insecure_channel(self.grpc_address) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            with self.assertRaises(grpc.RpcError) as caught:
                getattr(stub, method)(request, timeout=RPC_TIMEOUT)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        return caught.exception.details()

    def test_classify_with_an_unknown_signature(self):
        expected = "No signature was found with the name: nope"
        self.assertEqual(
            self.rest_error("classify", {"signature_name": "nope", "examples": [{"x": 1.0}]}),
            expected,
        )
        self.assertEqual(
            self.rest_error("regress", {"signature_name": "nope", "examples": [{"x": 1.0}]}),
            expected,
        )
        request = classification_pb2.ClassificationRequest()
        request.model_spec.signature_name = "nope"
        request.input.example_list.examples.add().features.feature["x"].float_list.value.append(1.0)
        self.assertEqual(self.grpc_error("Classify", request), expected)

    def test_classify_on_a_signature_without_classification_inputs(self):
        # serving_default takes `x`, not `inputs`: PreProcessClassification's third check.
        message = self.rest_error("classify", {"examples": [{"x": 1.0}]})
        self.assertTrue(
            message.startswith("No classification inputs found in SignatureDef: inputs {"),
            msg=message,
        )
        self.assertIn('method_name: "tensorflow/serving/predict"', message)
        regress = self.rest_error("regress", {"examples": [{"x": 1.0}]})
        self.assertTrue(
            regress.startswith("No regression inputs found in SignatureDef: inputs {"), msg=regress
        )
        request = regression_pb2.RegressionRequest()
        request.input.example_list.examples.add().features.feature["x"].float_list.value.append(1.0)
        self.assertEqual(self.grpc_error("Regress", request), regress)

    def test_predict_without_inputs_or_instances(self):
        self.assertEqual(self.rest_error("predict", {}), "Missing 'inputs' or 'instances' key")

    def test_ragged_instances(self):
        message = self.rest_error(
            "predict", {"signature_name": "serving_default", "instances": [[1.0], [1.0, 2.0]]}
        )
        self.assertEqual(message, "Expecting tensor size: 1 but got: 2")

    def test_regress_without_examples(self):
        for verb in ("regress", "classify"):  # one parser, one text (it names classify)
            with self.subTest(verb=verb):
                self.assertEqual(
                    self.rest_error(verb, {"signature_name": "regress_x_to_y"}),
                    'JSON Value: {"signature_name":"regress_x_to_y"} When method is classify, key \'examples\' '
                    "is expected and was not found",
                )

    def test_body_errors_come_before_the_model_lookup(self):
        """TF Serving parses a classify / regress body before it resolves the model."""
        status, _, body = call_rest(
            f"http://{self.rest_address}/v1/models/missing:regress", {"examples": []}
        )
        self.assertEqual(status, 400)
        self.assertEqual(
            json.loads(body)["error"],
            "JSON Value: {\"examples\":[]} 'examples' value is an empty array",
        )


class ErrorTextsPlainLayoutTest(ErrorTextsTest):
    LAYOUT = "plain"
