"""Client for TF Serving's gRPC API (port 8500)."""

import time

import numpy as np

from tfx_ext._core.arguments import check_int, check_name, check_number, check_port
from tfx_ext.serving.errors import ServingError


class GrpcClient:
    """Predict / classify / regress / metadata / status over TF Serving's gRPC API.

    NumPy in, NumPy out. Message limits are raised above gRPC's 4 MB default
    (`max_message_bytes`). Retries with exponential backoff on UNAVAILABLE
    only; other errors raise `ServingError` with the server's code and
    message.

    Example:

    >>> with GrpcClient("localhost", 8500, "digits", label="canary") as client:
    ...     client.predict(x_test[:5])["digit"]
    """

    def __init__(
        self,
        host,
        port,
        model_name,
        version=None,
        label=None,
        timeout=10.0,
        retries=3,
        backoff=0.2,
        max_message_bytes=64 * 1024 * 1024,
    ):
        import grpc
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        if version is not None and label is not None:
            raise ValueError(
                f"Invalid arguments: give `version` or `label`, not both. Received: version={version!r}, label={label!r}"
            )
        self.model_name = check_name("model_name", model_name)
        port = check_port("port", port)
        self.version = None if version is None else check_int("version", version, minimum=1)
        self.label = label
        self._input_names_cache = {}  # signature name -> sorted input names (predict of an array)
        self.timeout = check_number("timeout", timeout, low=0.0, low_open=True)
        self.retries = check_int("retries", retries, minimum=0)
        self.backoff = check_number("backoff", backoff, low=0.0)
        limit = check_int("max_message_bytes", max_message_bytes, minimum=1)
        self._channel = grpc.insecure_channel(
            f"{host}:{port}",
            options=[
                ("grpc.max_send_message_length", limit),
                ("grpc.max_receive_message_length", limit),
            ],
        )
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _spec(self, spec, signature_name=None):
        spec.name = self.model_name
        if self.version is not None:
            spec.version.value = self.version
        elif self.label is not None:
            spec.version_label = self.label
        if signature_name:
            spec.signature_name = signature_name

    def _call(self, method, request):
        import grpc

        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return method(request, timeout=self.timeout)
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.UNAVAILABLE and attempt < self.retries:
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise ServingError(error.code().name, error.details()) from None

    def predict(self, inputs, signature_name=None, output_filter=None):
        """An array when the signature has one output, else `{name: array}`.

        `inputs` is an array (the signature's only input, whose name is looked
        up in the metadata) or `{name: array}`.
        """
        from tensorflow_serving.apis import predict_pb2

        from tfx_ext.serving.inference import as_array
        from tfx_ext.serving.tensor_protos import array_from_response_proto, array_to_request_proto

        key = signature_name or "serving_default"
        by_name = isinstance(inputs, dict)
        for attempt in (0, 1):
            if not by_name:
                # The signature's input name, looked up once per signature (one metadata RPC
                # per predict would double its latency); looked up again if a new version
                # refuses it.
                if attempt or key not in self._input_names_cache:
                    self._input_names_cache[key] = self._input_names(key)
                names = self._input_names_cache[key]
                if len(names) != 1:
                    raise ValueError(f"The signature has inputs {names}: pass a dict of arrays.")
                named = {names[0]: inputs}
            else:
                named = inputs
            request = predict_pb2.PredictRequest()
            self._spec(request.model_spec, signature_name)
            for name, value in named.items():
                request.inputs[name].CopyFrom(
                    array_to_request_proto(as_array(value))
                )  # bytes stay whole
            request.output_filter.extend(output_filter or [])
            try:
                response = self._call(self._predictions.Predict, request)
                break
            except ServingError as error:
                if by_name or attempt or error.code != "INVALID_ARGUMENT":
                    raise
        outputs = {k: array_from_response_proto(k, v) for k, v in response.outputs.items()}
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs

    def _examples(self, request, examples):
        import tensorflow as tf

        from tfx_ext.serving.inference import example_from_features
        from tfx_ext.serving.json_values import example_features as _features

        for features in examples:
            example = request.input.example_list.examples.add()
            example.CopyFrom(
                tf.train.Example.FromString(example_from_features(_features(features)))
            )

    def classify(self, examples, signature_name="classify"):
        """`examples`: a list of `{feature: value}`; returns `[[(class, score), ...], ...]`."""
        from tensorflow_serving.apis import classification_pb2

        request = classification_pb2.ClassificationRequest()
        self._spec(request.model_spec, signature_name)
        self._examples(request, examples)
        response = self._call(self._predictions.Classify, request)
        return [
            [(c.label, c.score) for c in result.classes]
            for result in response.result.classifications
        ]

    def regress(self, examples, signature_name="regress"):
        from tensorflow_serving.apis import regression_pb2

        request = regression_pb2.RegressionRequest()
        self._spec(request.model_spec, signature_name)
        self._examples(request, examples)
        response = self._call(self._predictions.Regress, request)
        return np.asarray([r.value for r in response.result.regressions], dtype=np.float32)

    def metadata(self):
        """`{signature name: SignatureDef}` of the served version."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._spec(request.model_spec)
        response = self._call(self._predictions.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return dict(signature_map.signature_def)

    def _input_names(self, signature_name):
        signature = self.metadata().get(signature_name)
        if signature is None:
            raise ServingError(
                "INVALID_ARGUMENT", f'Serving signature name: "{signature_name}" not found'
            )
        return sorted(signature.inputs)

    def status(self):
        """`[(version, state name), ...]` of the model (or of the requested version / label).

        TF Serving's GetModelStatus ignores a label (it lists every version), so
        with a label the version it points at is looked up in the metadata first.
        """
        from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

        request = get_model_status_pb2.GetModelStatusRequest()
        self._spec(request.model_spec)
        if self.label is not None:
            lookup = get_model_metadata_pb2.GetModelMetadataRequest(
                metadata_field=["signature_def"]
            )
            self._spec(lookup.model_spec)
            request.model_spec.version.value = self._call(
                self._predictions.GetModelMetadata, lookup
            ).model_spec.version.value
        response = self._call(self._models.GetModelStatus, request)
        return [
            (s.version, get_model_status_pb2.ModelVersionStatus.State.Name(s.state))
            for s in response.model_version_status
        ]
