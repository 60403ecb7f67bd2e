"""TF Serving's `servables/tensorflow/multi_inference_helper_test.cc`, ported over gRPC.

Its typed suite runs each case on a TF1 and a TF2 half_plus_two; so do we (as the
models `tf1` and `tf2` of one server), in both version-folder layouts. Not ported:
`ModelSpecOverride` and `ThreadPoolOptions`, which call in-process C++ entry points
(a model-spec override argument, caller-owned thread pools) that have no RPC.
"""

import grpc
from tensorflow_serving.apis import inference_pb2, prediction_service_pb2_grpc

from tests.serving.conformance.harness import RPC_TIMEOUT, ServerTestCase

REGRESS = "tensorflow/serving/regress"
CLASSIFY = "tensorflow/serving/classify"
PREDICT = "tensorflow/serving/predict"
VERSION = 123


class MultiInferenceHelperTest(ServerTestCase):
    LAYOUT = "padded"
    MODELS = {"tf1": "saved_model_half_plus_two_cpu", "tf2": "saved_model_half_plus_two_tf2_cpu"}

    def run_request(self, request):
        with grpc.insecure_channel(self.grpc_address) as channel:
            return prediction_service_pb2_grpc.PredictionServiceStub(channel).MultiInference(
                request, RPC_TIMEOUT
            )

    @staticmethod
    def add_input(request, **features):
        example = request.input.example_list.examples.add()
        for name, value in features.items():
            example.features.feature[name].float_list.value.append(value)

    @staticmethod
    def populate_task(request, model, signature_name, method_name, version=-1):
        task = request.tasks.add(method_name=method_name)
        task.model_spec.name = model
        task.model_spec.signature_name = signature_name
        if version > 0:
            task.model_spec.version.value = version
        return task

    def expect_status_error(self, request, code, substring):
        with self.assertRaises(grpc.RpcError) as caught:
            self.run_request(request)
        self.assertEqual(caught.exception.code(), code, msg=caught.exception.details())
        self.assertIn(substring, caught.exception.details())

    def expected(self, request, results):
        response = inference_pb2.MultiInferenceResponse()
        for task, fill in zip(request.tasks, results):
            result = response.results.add()
            result.model_spec.CopyFrom(task.model_spec)
            result.model_spec.version.value = VERSION
            fill(result)
        return response

    def for_each_model(self, case):
        for model in self.MODELS:
            with self.subTest(model=model):
                case(model)

    def test_MissingInputTest(self):
        def case(model):
            request = inference_pb2.MultiInferenceRequest()
            self.populate_task(request, model, "regress_x_to_y", REGRESS)
            self.expect_status_error(request, grpc.StatusCode.INVALID_ARGUMENT, "Input is empty")

        self.for_each_model(case)

    def test_UndefinedSignatureTest(self):
        def case(model):
            request = inference_pb2.MultiInferenceRequest()
            self.add_input(request, x=2)
            self.populate_task(request, model, "ThisSignatureDoesNotExist", REGRESS)
            self.expect_status_error(
                request, grpc.StatusCode.INVALID_ARGUMENT, "signature not found"
            )

        self.for_each_model(case)

    def test_InconsistentModelSpecsInRequestTest(self):
        def case(model):
            request = inference_pb2.MultiInferenceRequest()
            self.add_input(request, x=2)
            self.populate_task(request, model, "regress_x_to_y", REGRESS)
            self.populate_task(request, "ModelDoesNotExist", "regress_x_to_y", REGRESS)
            self.expect_status_error(
                request, grpc.StatusCode.INVALID_ARGUMENT, "must access the same model name"
            )

        self.for_each_model(case)

    def test_EvaluateDuplicateSignaturesTest(self):
        def case(model):
            request = inference_pb2.MultiInferenceRequest()
            self.add_input(request, x=2)
            self.populate_task(request, model, "regress_x_to_y", REGRESS)
            self.populate_task(request, model, "regress_x_to_y", REGRESS)
            self.expect_status_error(
                request,
                grpc.StatusCode.INVALID_ARGUMENT,
                "Duplicate evaluation of signature: regress_x_to_y",
            )

        self.for_each_model(case)

    def test_UsupportedSignatureTypeTest(self):
        def case(model):
            request = inference_pb2.MultiInferenceRequest()
            self.add_input(request, x=2)
            self.populate_task(request, model, "serving_default", PREDICT)
            self.expect_status_error(
                request, grpc.StatusCode.UNIMPLEMENTED, "Unsupported signature"
            )

        self.for_each_model(case)

    def test_ValidSingleSignatureTest(self):
        def case(model):
            request = inference_pb2.MultiInferenceRequest()
            self.add_input(request, x=2)
            self.populate_task(request, model, "regress_x_to_y", REGRESS, VERSION)
            expected = self.expected(
                request, [lambda r: r.regression_result.regressions.add(value=3.0)]
            )
            self.assertProtoEquals(expected, self.run_request(request))

        self.for_each_model(case)

    def test_MultipleValidRegressSignaturesTest(self):
        def case(model):
            request = inference_pb2.MultiInferenceRequest()
            self.add_input(request, x=2)
            self.populate_task(request, model, "regress_x_to_y", REGRESS, VERSION)
            self.populate_task(request, model, "regress_x_to_y2", REGRESS, VERSION)
            expected = self.expected(
                request,
                [
                    lambda r: r.regression_result.regressions.add(value=3.0),  # y = 0.5x + 2
                    lambda r: r.regression_result.regressions.add(value=4.0),  # y2 = 0.5x + 3
                ],
            )
            self.assertProtoEquals(expected, self.run_request(request))

        self.for_each_model(case)

    def test_RegressAndClassifySignaturesTest(self):
        def case(model):
            request = inference_pb2.MultiInferenceRequest()
            self.add_input(request, x=2)
            self.populate_task(request, model, "regress_x_to_y", REGRESS, VERSION)
            self.populate_task(request, model, "classify_x_to_y", CLASSIFY, VERSION)
            expected = self.expected(
                request,
                [
                    lambda r: r.regression_result.regressions.add(value=3.0),
                    lambda r: r.classification_result.classifications.add().classes.add(score=3.0),
                ],
            )
            self.assertProtoEquals(expected, self.run_request(request))

        self.for_each_model(case)


class MultiInferenceHelperPlainLayoutTest(MultiInferenceHelperTest):
    LAYOUT = "plain"
