"""TF Serving's gRPC API (port 8500) for the local server: PredictionService and ModelService.

Request tensors are parsed by `tensor_protos` (dtype, dimensions, element cap
and content length checked before anything is allocated); answers fill the
typed fields (`float_val`, ...) as TF Serving does.
"""

import time

import grpc

from tfx_ext.serving import inference
from tfx_ext.serving.errors import CODES, ServingError, invalid_argument
from tfx_ext.serving.model_registry import signature_def_map
from tfx_ext.serving.tensor_protos import array_from_proto, array_to_proto

_TASK_METHODS = (inference.CLASSIFY_METHOD, inference.REGRESS_METHOD)


def _spec(model_spec):
    choice = model_spec.WhichOneof("version_choice")
    version = model_spec.version.value if choice == "version" else None
    label = model_spec.version_label if choice == "version_label" else None
    return model_spec.name, version, label


def _guard(api, metrics):
    def decorate(method):
        def wrapper(self, request, context):
            start = time.monotonic()
            name = getattr(getattr(request, "model_spec", None), "name", "") or _first_task_model(
                request
            )
            try:
                response = method(self, request, context)
            except ServingError as error:
                _record(metrics, name, api, error.code, start)
                context.abort(
                    getattr(grpc.StatusCode, error.code, grpc.StatusCode.INTERNAL), error.message
                )
            except Exception:  # no Python internals on the wire
                _record(metrics, name, api, "INTERNAL", start)
                context.abort(grpc.StatusCode.INTERNAL, "Internal error while handling the request")
            _record(metrics, name, api, "OK", start)
            return response

        return wrapper

    return decorate


def _first_task_model(request):
    tasks = getattr(request, "tasks", None)
    return tasks[0].model_spec.name if tasks else ""


def _record(metrics, name, api, status, start):
    if metrics is not None and name:
        metrics.record(name, api, "GRPC", status, time.monotonic() - start)


def add_services(server, registry, max_tensor_elements=2**24, metrics=None, method_check=False):
    """Registers PredictionService and ModelService on a `grpc.Server`."""
    from google.protobuf import any_pb2
    from tensorflow_serving.apis import (
        classification_pb2,
        get_model_metadata_pb2,
        get_model_status_pb2,
        inference_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
        regression_pb2,
    )

    def fill_spec(spec, name, version, signature_name):
        spec.name = name
        spec.version.value = version
        spec.signature_name = signature_name

    def resolve(request, method):
        if not request.HasField("model_spec"):
            raise invalid_argument("Missing ModelSpec")
        model_spec = request.model_spec
        name, version, label = _spec(model_spec)
        if not name:
            raise invalid_argument("Missing model name in request.")
        served = registry.get(name).resolve(version, label)
        key = model_spec.signature_name or inference.DEFAULT_SIGNATURE
        if method == inference.PREDICT_METHOD and key not in served.signature_defs:
            # TF Serving's gRPC Predict (predict_util.cc); REST says INVALID_ARGUMENT
            raise ServingError("FAILED_PRECONDITION", f'Serving signature key "{key}" not found.')
        key, sig = inference.signature(served, key, method, method_check)
        return name, served, key, sig

    def classification_result(result, rows):
        for row in rows:
            classifications = result.classifications.add()
            for label, score in row:
                classifications.classes.add(label=label, score=score)

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        @_guard("predict", metrics)
        def Predict(self, request, context):
            name, served, key, sig = resolve(request, inference.PREDICT_METHOD)
            inputs = {
                k: array_from_proto(k, v, max_tensor_elements) for k, v in request.inputs.items()
            }
            outputs = inference.predict(served, key, sig, inputs, list(request.output_filter))
            response = predict_pb2.PredictResponse()
            fill_spec(response.model_spec, name, served.version, key)
            for alias, value in outputs.items():
                response.outputs[alias].CopyFrom(array_to_proto(value))
            return response

        @_guard("classify", metrics)
        def Classify(self, request, context):
            name, served, key, sig = resolve(request, inference.CLASSIFY_METHOD)
            rows = inference.classify(
                served, key, sig, inference.serialized_examples(request.input)
            )
            response = classification_pb2.ClassificationResponse()
            fill_spec(response.model_spec, name, served.version, key)
            classification_result(response.result, rows)
            return response

        @_guard("regress", metrics)
        def Regress(self, request, context):
            name, served, key, sig = resolve(request, inference.REGRESS_METHOD)
            values = inference.regress(
                served, key, sig, inference.serialized_examples(request.input)
            )
            response = regression_pb2.RegressionResponse()
            fill_spec(response.model_spec, name, served.version, key)
            for value in values:
                response.result.regressions.add(value=value)
            return response

        @_guard("multi_inference", metrics)
        def MultiInference(self, request, context):
            # TF Serving's order: the model of the first task, then each task's model name,
            # duplicate signature, signature lookup and method; then the shared input.
            if not request.tasks:
                raise invalid_argument("Expected at least one task")
            first = request.tasks[0].model_spec
            name, version, label = _spec(first)
            served = registry.get(name).resolve(version, label)
            seen, plan = set(), []
            for task in request.tasks:
                if not task.model_spec.name:
                    raise invalid_argument("Found ModelSpec with an empty model name.")
                if task.model_spec.name != name:
                    raise invalid_argument(
                        "All ModelSpecs in a MultiInferenceRequest must access the same model name."
                    )
                key = task.model_spec.signature_name or inference.DEFAULT_SIGNATURE
                if key in seen:
                    raise invalid_argument(f"Duplicate evaluation of signature: {key}")
                seen.add(key)
                if key not in served.signature_defs or key not in served.servable.signature_keys:
                    raise invalid_argument(f"Requested signature not found in model graph: {key}")
                if task.method_name not in _TASK_METHODS:
                    raise ServingError(
                        "UNIMPLEMENTED", f"Unsupported signature method_name: {task.method_name}"
                    )
                plan.append(
                    (task, key, inference.signature(served, key, task.method_name, method_check)[1])
                )
            examples = inference.serialized_examples(request.input)
            response = inference_pb2.MultiInferenceResponse()
            for task, key, sig in plan:
                result = response.results.add()
                result.model_spec.name = name
                result.model_spec.signature_name = task.model_spec.signature_name
                result.model_spec.version.value = served.version
                if task.method_name == inference.CLASSIFY_METHOD:
                    classification_result(
                        result.classification_result, inference.classify(served, key, sig, examples)
                    )
                else:
                    for value in inference.regress(served, key, sig, examples):
                        result.regression_result.regressions.add(value=value)
            return response

        @_guard("metadata", metrics)
        def GetModelMetadata(self, request, context):
            if not request.HasField("model_spec"):
                raise invalid_argument("Missing ModelSpec")
            name, version, label = _spec(request.model_spec)
            if not name:
                raise invalid_argument("Missing model name in request.")
            if not request.metadata_field:
                raise invalid_argument(
                    "GetModelMetadataRequest must specify at least one metadata_field"
                )
            for field in request.metadata_field:
                if field != "signature_def":
                    raise invalid_argument(f"Metadata field {field} is not supported")
            model = registry.get(name)
            served = model.resolve(version, label)
            packed = any_pb2.Any()
            packed.Pack(signature_def_map(model, served.version))
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = name
            response.model_spec.version.value = served.version
            response.metadata["signature_def"].CopyFrom(packed)
            return response

    class ModelService(model_service_pb2_grpc.ModelServiceServicer):
        @_guard("status", metrics)
        def GetModelStatus(self, request, context):
            if not request.HasField("model_spec"):
                raise invalid_argument("Missing ModelSpec")
            name, version, _ = _spec(request.model_spec)  # TF Serving ignores a label here
            model = registry.models.get(name)
            if model is None:
                raise ServingError("NOT_FOUND", f"Could not find any versions of model {name}")
            response = get_model_status_pb2.GetModelStatusResponse()
            for v, state in model.status(version):
                status = response.model_version_status.add()
                status.version = v
                status.state = get_model_status_pb2.ModelVersionStatus.State.Value(state.state)
                status.status.error_code = _code_number(state.error_code)
                status.status.error_message = state.error_message
            return response

    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(), server)


def _code_number(name):
    return CODES.index(name) if name in CODES else CODES.index("UNKNOWN")
