"""TF Serving's `saved_model_counter`: predict signatures with no inputs, and state kept
between requests (our rebuild of the model, see `conformance/testdata_models.py`)."""

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from tests.serving.conformance.harness import RPC_TIMEOUT, ServerTestCase


class CounterModelTest(ServerTestCase):
    MODELS = {"counter": "saved_model_counter"}

    def predict(self, signature_name, **inputs):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "counter"
        request.model_spec.signature_name = signature_name
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value, dtype=tf.float32))
        with grpc.insecure_channel(self.grpc_address) as channel:
            response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
                request, RPC_TIMEOUT
            )
        self.assertEqual(response.model_spec.version.value, 123)
        output = response.outputs["output"]
        self.assertEqual(list(output.tensor_shape.dim), [])  # a scalar, in float_val
        return list(output.float_val)

    def test_counter(self):
        self.assertEqual(self.predict("reset_counter"), [0.0])
        self.assertEqual(self.predict("get_counter"), [0.0])
        self.assertEqual(self.predict("incr_counter"), [1.0])
        self.assertEqual(self.predict("incr_counter"), [2.0])
        self.assertEqual(self.predict("incr_counter_by", delta=3.0), [5.0])
        self.assertEqual(self.predict("get_counter"), [5.0])
        self.assertEqual(self.predict("reset_counter"), [0.0])
        self.assertEqual(self.predict("get_counter"), [0.0])
