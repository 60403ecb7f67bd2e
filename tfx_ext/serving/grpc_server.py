"""TF Serving's gRPC API (port 8500) for the local server: PredictionService and ModelService."""

import grpc

from tfx_ext.serving import inference
from tfx_ext.serving.errors import ServingError
from tfx_ext.serving.model_registry import signature_def_map

_GRPC_CODES = {
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "RESOURCE_EXHAUSTED": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "INTERNAL": grpc.StatusCode.INTERNAL,
}


def _spec(model_spec):
    choice = model_spec.WhichOneof("version_choice")
    version = model_spec.version.value if choice == "version" else None
    label = model_spec.version_label if choice == "version_label" else None
    return model_spec.name, version, label


def _guard(method):
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except ServingError as error:
            context.abort(_GRPC_CODES.get(error.code, grpc.StatusCode.INTERNAL), error.message)

    return wrapper


def add_services(server, registry):
    """Registers PredictionService and ModelService on a `grpc.Server`."""
    import tensorflow as tf
    from google.protobuf import any_pb2
    from tensorflow_serving.apis import (
        classification_pb2,
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
        regression_pb2,
    )

    def model_spec(response, name, version, signature_name):
        response.model_spec.name = name
        response.model_spec.version.value = version
        response.model_spec.signature_name = signature_name

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        @_guard
        def Predict(self, request, context):
            name, version, label = _spec(request.model_spec)
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            version, signature, outputs = inference.predict(
                registry, name, inputs, version, label, request.model_spec.signature_name or None
            )
            wanted = set(request.output_filter) or set(outputs)
            response = predict_pb2.PredictResponse()
            model_spec(response, name, version, signature)
            for key, value in outputs.items():
                if key in wanted:
                    response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

        def _examples(self, request):
            kind = request.input.WhichOneof("kind")
            if kind == "example_list":
                return [e.SerializeToString() for e in request.input.example_list.examples]
            if kind == "example_list_with_context":
                context = request.input.example_list_with_context.context
                merged = []
                for example in request.input.example_list_with_context.examples:
                    combined = tf.train.Example()
                    combined.CopyFrom(context)
                    combined.MergeFrom(example)
                    merged.append(combined.SerializeToString())
                return merged
            raise ServingError("INVALID_ARGUMENT", "Input is empty")

        @_guard
        def Classify(self, request, context):
            name, version, label = _spec(request.model_spec)
            version, signature, classes, scores = inference.classify(
                registry, name, self._examples(request), version, label, request.model_spec.signature_name or "classify"
            )
            response = classification_pb2.ClassificationResponse()
            model_spec(response, name, version, signature)
            for row_c, row_s in zip(classes, scores):
                result = response.result.classifications.add()
                for c, s in zip(row_c, row_s):
                    result.classes.add(label=c.decode() if isinstance(c, bytes) else str(c), score=float(s))
            return response

        @_guard
        def Regress(self, request, context):
            name, version, label = _spec(request.model_spec)
            version, signature, values = inference.regress(
                registry, name, self._examples(request), version, label, request.model_spec.signature_name or "regress"
            )
            response = regression_pb2.RegressionResponse()
            model_spec(response, name, version, signature)
            for value in values:
                response.result.regressions.add(value=float(value))
            return response

        @_guard
        def GetModelMetadata(self, request, context):
            name, version, label = _spec(request.model_spec)
            if list(request.metadata_field) != ["signature_def"]:
                raise ServingError("INVALID_ARGUMENT", "Metadata field signature_def must be requested (and only it)")
            model = registry.get(name)
            version, _, _ = model.resolve(version, label)
            signature_map = signature_def_map(model, version)
            packed = any_pb2.Any()
            packed.Pack(signature_map)
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = name
            response.model_spec.version.value = version
            response.metadata["signature_def"].CopyFrom(packed)
            return response

    class ModelService(model_service_pb2_grpc.ModelServiceServicer):
        @_guard
        def GetModelStatus(self, request, context):
            name, version, label = _spec(request.model_spec)
            model = registry.get(name)
            versions = sorted(model.loaded) if version is None and label is None else [model.resolve(version, label)[0]]
            if not versions:
                raise ServingError("NOT_FOUND", f"Could not find any versions of model {name}")
            response = get_model_status_pb2.GetModelStatusResponse()
            for v in versions:
                status = response.model_version_status.add()
                status.version = v
                status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
            return response

    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(), server)
