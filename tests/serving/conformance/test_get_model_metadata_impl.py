"""TF Serving's `servables/tensorflow/get_model_metadata_impl_test.cc` (its SavedModel
variant), ported over gRPC. Not ported: `ModelSpecOverride` (an in-process C++ entry
point with no RPC)."""

import os

import grpc
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, prediction_service_pb2_grpc

from tests.serving.conformance.harness import RPC_TIMEOUT, ServerTestCase

MODEL = "test_model"
VERSION = 123


class GetModelMetadataImplTest(ServerTestCase):
    LAYOUT = "padded"
    MODELS = {MODEL: "saved_model_half_plus_two_cpu"}

    def metadata(self, request):
        with grpc.insecure_channel(self.grpc_address) as channel:
            return prediction_service_pb2_grpc.PredictionServiceStub(channel).GetModelMetadata(
                request, RPC_TIMEOUT
            )

    def assertCode(self, code, request):
        with self.assertRaises(grpc.RpcError) as caught:
            self.metadata(request)
        self.assertEqual(caught.exception.code(), code, msg=caught.exception.details())

    def test_EmptyOrInvalidMetadataFieldList(self):
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)
        request.metadata_field.append("some_stuff")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)

    def test_MissingOrEmptyModelSpec(self):
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)
        request.model_spec.SetInParent()  # no name
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, request)
        request.model_spec.name = "test"
        self.assertCode(grpc.StatusCode.NOT_FOUND, request)

    def test_ReturnsSignaturesForValidModel(self):
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = MODEL
        request.model_spec.version.value = VERSION
        response = self.metadata(request)
        self.assertProtoEquals(request.model_spec, response.model_spec)
        self.assertLen(response.metadata, 1)
        received = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(received)

        saved_model = saved_model_pb2.SavedModel()
        version_dir = sorted(os.listdir(self.model_path(MODEL)))[0]
        with open(os.path.join(self.model_path(MODEL), version_dir, "saved_model.pb"), "rb") as f:
            saved_model.ParseFromString(f.read())
        expected = saved_model.meta_graphs[0].signature_def
        self.assertEqual(len(expected), len(received.signature_def))
        self.assertProtoEquals(expected["regress_x_to_y"], received.signature_def["regress_x_to_y"])
        self.assertProtoEquals(
            expected["serving_default"], received.signature_def["serving_default"]
        )


class GetModelMetadataImplPlainLayoutTest(GetModelMetadataImplTest):
    LAYOUT = "plain"
