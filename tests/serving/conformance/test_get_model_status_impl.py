"""TF Serving's `model_servers/get_model_status_impl_test.cc`, ported over gRPC."""

import grpc
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

from tests.serving.conformance.harness import RPC_TIMEOUT, ServerTestCase

MODEL = "saved_model_half_plus_two_2_versions"
VERSION_1, VERSION_2 = 123, 124
NONEXISTENT_MODEL, NONEXISTENT_VERSION = "nonexistent_model", 0


class GetModelStatusImplTest(ServerTestCase):
    LAYOUT = "padded"
    MODELS = {MODEL: MODEL}
    VERSIONS = {MODEL: [VERSION_1, VERSION_2]}

    def status(self, request):
        with grpc.insecure_channel(self.grpc_address) as channel:
            return model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
                request, RPC_TIMEOUT
            )

    def assertCode(self, code, request):
        with self.assertRaises(grpc.RpcError) as caught:
            self.status(request)
        self.assertEqual(caught.exception.code(), code, msg=caught.exception.details())

    def test_MissingOrEmptyModelSpecFailure(self):
        self.assertCode(
            grpc.StatusCode.INVALID_ARGUMENT, get_model_status_pb2.GetModelStatusRequest()
        )

    def test_InvalidModelNameFailure(self):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = NONEXISTENT_MODEL
        self.assertCode(grpc.StatusCode.NOT_FOUND, request)

    def test_InvalidModelVersionFailure(self):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = MODEL
        request.model_spec.version.value = NONEXISTENT_VERSION
        self.assertCode(grpc.StatusCode.NOT_FOUND, request)

    def test_AllVersionsSuccess(self):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = MODEL
        response = self.status(request)
        self.assertLen(response.model_version_status, 2)
        self.assertEqual({s.version for s in response.model_version_status}, {VERSION_1, VERSION_2})
        for status in response.model_version_status:
            self.assertEqual(status.status.error_code, 0)  # tensorflow::error::OK
            self.assertEqual(status.status.error_message, "")

    def test_SingleVersionSuccess(self):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = MODEL
        request.model_spec.version.value = VERSION_1
        response = self.status(request)
        self.assertLen(response.model_version_status, 1)
        self.assertEqual(response.model_version_status[0].version, VERSION_1)
        self.assertEqual(response.model_version_status[0].status.error_code, 0)
        self.assertEqual(response.model_version_status[0].status.error_message, "")


class GetModelStatusImplPlainLayoutTest(GetModelStatusImplTest):
    LAYOUT = "plain"
