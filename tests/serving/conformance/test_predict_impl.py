"""TF Serving's `servables/tensorflow/predict_impl_test.cc`, ported over gRPC.

`test_model` is half_plus_two with both classify signatures (TF Serving's
`cc/saved_model/testdata/half_plus_two`: our `2_versions` build, version 123
requested explicitly), `counter_model` the counter. Not ported: `ModelSpecOverride`
and `ThreadPoolFactory` (in-process C++ entry points with no RPC).
"""

import grpc
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from tests.serving.conformance.harness import RPC_TIMEOUT, ServerTestCase

MODEL = "test_model"
VERSION = 123


def float_tensor(value):
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT)
    tensor.float_val.append(value)
    return tensor


class PredictImplTest(ServerTestCase):
    LAYOUT = "padded"
    MODELS = {MODEL: "saved_model_half_plus_two_2_versions", "counter_model": "saved_model_counter"}
    VERSIONS = {MODEL: [123, 124]}

    def predict(self, request):
        with grpc.insecure_channel(self.grpc_address) as channel:
            return prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
                request, RPC_TIMEOUT
            )

    def assertCode(self, code, request):
        with self.assertRaises(grpc.RpcError) as caught:
            self.predict(request)
        self.assertEqual(caught.exception.code(), code, msg=caught.exception.details())

    def request(self, name=MODEL, signature_name=None):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.model_spec.version.value = VERSION
        if signature_name:
            request.model_spec.signature_name = signature_name
        return request

    def expected(self, request, outputs, signature_name=None):
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        if signature_name:
            response.model_spec.signature_name = signature_name
        for alias, value in outputs.items():
            tensor = response.outputs[alias]
            tensor.dtype = types_pb2.DT_FLOAT
            tensor.float_val.append(value)
            tensor.tensor_shape.SetInParent()
        return response

    def test_MissingOrEmptyModelSpec(self):
        request = predict_pb2.PredictRequest()
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)  # empty request
        request.model_spec.SetInParent()
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)  # no model name
        request.model_spec.name = "test"
        self.assertCode(grpc.StatusCode.NOT_FOUND, request)

    def test_EmptyInputList(self):
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.request())

    def test_InputTensorsDontMatchModelSpecInputs(self):
        request = self.request()
        tensor = request.inputs["key"]
        tensor.dtype = types_pb2.DT_STRING
        tensor.string_val.append(b"any_key")
        tensor.tensor_shape.dim.add(size=1)
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)

    def test_OutputFiltersDontMatchModelSpecOutputs(self):
        request = self.request()
        request.inputs["x"].CopyFrom(float_tensor(2.0))
        request.output_filter.append("output_filter")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)
        del request.output_filter[:]
        request.output_filter.append("y")
        self.predict(request)
        request.output_filter.append("y")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)  # duplicate output filter

    def test_InputTensorsHaveWrongType(self):
        request = self.request()
        tensor = request.inputs["x"]
        tensor.dtype = types_pb2.DT_STRING
        tensor.string_val.append(b"any_key")
        tensor.tensor_shape.dim.add(size=1)
        request.output_filter.append("y")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)

    def test_PredictionSuccess(self):
        request = self.request()
        request.inputs["x"].CopyFrom(float_tensor(2.0))
        self.assertProtoEquals(
            self.expected(request, {"y": 3.0}, "serving_default"), self.predict(request)
        )

    def test_PredictionWithNamedRegressionSignature(self):
        request = self.request(signature_name="regress_x2_to_y3")
        request.inputs["inputs"].CopyFrom(float_tensor(2.0))
        self.assertProtoEquals(self.expected(request, {"outputs": 4.0}), self.predict(request))

    def test_PredictionWithNamedClassificationSignature(self):
        request = self.request(signature_name="classify_x2_to_y3")
        request.inputs["inputs"].CopyFrom(float_tensor(2.0))
        self.assertProtoEquals(self.expected(request, {"scores": 4.0}), self.predict(request))

    def test_PredictionWithCustomizedSignatures(self):
        request = self.request(
            name="counter_model"
        )  # each class has its own server: a fresh counter
        for signature_name, value, output_filter in [
            ("get_counter", 0.0, False),
            ("incr_counter", 1.0, False),
            ("reset_counter", 0.0, False),
            ("incr_counter", 1.0, True),
        ]:
            request.model_spec.signature_name = signature_name
            del request.output_filter[:]
            if output_filter:
                request.output_filter.append("output")
            self.assertProtoEquals(self.expected(request, {"output": value}), self.predict(request))
        del request.output_filter[:]
        request.model_spec.signature_name = "incr_counter_by"
        request.inputs["delta"].CopyFrom(float_tensor(3.0))
        self.assertProtoEquals(self.expected(request, {"output": 4.0}), self.predict(request))


class PredictImplPlainLayoutTest(PredictImplTest):
    LAYOUT = "plain"
