"""TF Serving warmup requests: `assets.extra/tf_serving_warmup_requests`.

A TFRecord file of `PredictionLog` records that TF Serving replays when it
loads a version (so the first real request does not pay for lazy
initialization). At most 1000 records are read, and one failing record makes
the server refuse the whole version: every record is replayed here first.
"""

import os

import numpy as np

from tfx_ext._core.arguments import invalid

WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000


def write_warmup(extra_dir, model_name, input_names, warmup_data, signature_name="serving_default"):
    """Writes one PredictRequest per row of `warmup_data` (a dict for several inputs)."""
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    if isinstance(warmup_data, dict):
        arrays = {name: np.asarray(warmup_data[name]) for name in input_names}
    else:
        if len(input_names) != 1:
            raise invalid(
                "warmup_data", f"a dict with the inputs {input_names}", type(warmup_data).__name__
            )
        arrays = {input_names[0]: np.asarray(warmup_data)}
    rows = {len(a) for a in arrays.values()}
    if len(rows) != 1 or 0 in rows:
        raise invalid(
            "warmup_data",
            "non-empty arrays with the same number of rows",
            {k: v.shape for k, v in arrays.items()},
        )
    count = min(rows.pop(), MAX_RECORDS)
    path = os.path.join(extra_dir, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for i in range(count):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
            )
            for name, array in arrays.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(array[i : i + 1]))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
    return path


def read_warmup(saved_model_dir):
    """The `PredictionLog` records of a version's warmup file.

    Args:
        saved_model_dir: A SavedModel version directory (e.g. `models/digits/1`).

    Returns:
        A list of `tensorflow_serving.apis.PredictionLog`.

    Raises:
        ValueError: `saved_model_dir` is not a directory, or has no
            `assets.extra/tf_serving_warmup_requests` (export with `warmup_data`).

    Example:

    >>> len(read_warmup("models/digits/1"))
    """
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    if not os.path.isdir(str(saved_model_dir)):
        raise invalid("saved_model_dir", "a SavedModel version directory", str(saved_model_dir))
    path = os.path.join(saved_model_dir, "assets.extra", WARMUP_FILE)
    if not os.path.isfile(path):
        raise invalid(
            "saved_model_dir",
            f"a version with warmup requests (assets.extra/{WARMUP_FILE}; export it with `warmup_data`)",
            str(saved_model_dir),
        )
    logs = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs


def replay_warmup(saved_model_dir):
    """Runs every warmup request against the exported signature; raises on the first failure.

    Args:
        saved_model_dir: A SavedModel version directory with warmup requests.

    Returns:
        The number of records replayed.

    Raises:
        ValueError: No SavedModel or no warmup file in `saved_model_dir`,
            more than 1000 records, or a record fails (TF Serving would
            refuse the version).

    Example:

    >>> replay_warmup("models/digits/1")
    """
    import tensorflow as tf

    if not os.path.isfile(os.path.join(str(saved_model_dir), "saved_model.pb")):
        raise invalid(
            "saved_model_dir", "a SavedModel directory (with saved_model.pb)", str(saved_model_dir)
        )
    loaded = tf.saved_model.load(saved_model_dir)
    logs = read_warmup(saved_model_dir)
    if len(logs) > MAX_RECORDS:
        raise ValueError(f"{len(logs)} warmup records: TF Serving reads at most {MAX_RECORDS}.")
    for index, log in enumerate(logs):
        request = log.predict_log.request
        signature = loaded.signatures[request.model_spec.signature_name or "serving_default"]
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        try:
            signature(**{name: tf.constant(value) for name, value in inputs.items()})
        except Exception as error:
            raise ValueError(
                f"Warmup record {index} fails against signature "
                f"'{request.model_spec.signature_name}': TF Serving would refuse this version. {error}"
            ) from error
    return len(logs)
