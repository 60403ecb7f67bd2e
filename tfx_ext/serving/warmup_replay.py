"""Replaying a version's warmup requests when the local server loads it.

As TF Serving (`saved_model_warmup_util.cc`, `--enable_model_warmup`, on by
default): when `assets.extra/tf_serving_warmup_requests` exists, each of its
`PredictionLog` records (Predict, Classify, Regress or MultiInference) is run
against the freshly loaded version before it becomes AVAILABLE; a missing file
is fine, a record that does not parse or fails, or more than 1000 records,
fails the load. The requests go through the same `inference` functions as real
requests, so a warmup record fails exactly where a client's request would.
"""

import os

from tfx_ext.export.warmup import MAX_RECORDS, WARMUP_FILE
from tfx_ext.serving import inference
from tfx_ext.serving.errors import ServingError, invalid_argument

_MAX_TENSOR_ELEMENTS = 2**24


def warmup_path(version_dir):
    return os.path.join(version_dir, "assets.extra", WARMUP_FILE)


def replay_warmup(served_version, method_check=False):
    """Runs the warmup records of a loaded version; returns how many were read.

    Args:
        served_version: A `LoadedVersion` (its `path` holds the SavedModel).
        method_check: TF Serving's `--enable_signature_method_name_check`.

    Raises:
        ServingError: a record does not parse, fails, or there are more than
            1000 records (TF Serving's texts); the version must not be served.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = warmup_path(served_version.path)
    if not os.path.isfile(path):
        return 0  # warmup data is optional
    count = 0
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog()
        try:
            log.ParseFromString(record)
        except Exception:  # protobuf's DecodeError
            raise invalid_argument(
                f"Failed to parse warmup record: {record!r} from {path}"
            ) from None
        _run_record(served_version, log, method_check)
        count += 1
        if count > MAX_RECORDS:
            raise invalid_argument(
                f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}"
            )
    return count


def _run_record(version, log, method_check):
    from tfx_ext.serving.tensor_protos import array_from_proto

    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        key, sig = inference.signature(
            version, request.model_spec.signature_name, inference.PREDICT_METHOD, method_check
        )
        inputs = {
            name: array_from_proto(name, proto, _MAX_TENSOR_ELEMENTS)
            for name, proto in request.inputs.items()
        }
        inference.predict(version, key, sig, inputs, list(request.output_filter))
    elif kind == "classify_log":
        request = log.classify_log.request
        key, sig = inference.signature(
            version, request.model_spec.signature_name, inference.CLASSIFY_METHOD, method_check
        )
        inference.classify(version, key, sig, inference.serialized_examples(request.input))
    elif kind == "regress_log":
        request = log.regress_log.request
        key, sig = inference.signature(
            version, request.model_spec.signature_name, inference.REGRESS_METHOD, method_check
        )
        inference.regress(version, key, sig, inference.serialized_examples(request.input))
    elif kind == "multi_inference_log":
        request = log.multi_inference_log.request
        examples = inference.serialized_examples(request.input)
        for task in request.tasks:
            key, sig = inference.signature(
                version, task.model_spec.signature_name, task.method_name, method_check
            )
            run = (
                inference.classify
                if task.method_name == inference.CLASSIFY_METHOD
                else inference.regress
            )
            run(version, key, sig, examples)
    elif kind in ("session_run_log", "predict_streamed_log"):
        number = log.DESCRIPTOR.fields_by_name[kind].number
        raise ServingError("UNIMPLEMENTED", f"Unsupported log_type for warmup: {number}")
