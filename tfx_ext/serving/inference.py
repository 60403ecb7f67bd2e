"""Running Predict / Classify / Regress requests against loaded SavedModels.

Shared by the REST and gRPC front ends of the local server; errors carry TF
Serving's status codes and, where it has one, its message text.
"""

import numpy as np

from tfx_ext.serving.errors import invalid_argument
from tfx_ext.tf_serving_methods import CLASSIFY_METHOD, PREDICT_METHOD, REGRESS_METHOD


def _signature(loaded, infos, name, method):
    name = name or "serving_default"
    if name not in infos:
        raise invalid_argument(f"Serving signature name: \"{name}\" not found in signature def")
    info = infos[name]
    if method != PREDICT_METHOD and info.method_name != method:
        kind = "classification" if method == CLASSIFY_METHOD else "regression"
        raise invalid_argument(f"Expected {kind} signature method_name to be {method}. Was: {info.method_name}")
    return loaded.signatures[name], info


def _has_bytes(value):
    if isinstance(value, bytes):
        return True
    return isinstance(value, (list, tuple)) and any(
        isinstance(v, bytes) or (isinstance(v, (list, tuple)) and _has_bytes(v)) for v in value
    )


def as_array(value):
    """`np.asarray(value)`, except that nested lists of bytes become an object array:
    NumPy's fixed-width `S` dtype drops trailing NUL bytes (binary data, e.g. a
    serialized tf.Example, would be truncated). Raises ValueError on ragged lists."""
    if not _has_bytes(value):
        return np.asarray(value)
    array = np.asarray(value, dtype=object)
    if any(isinstance(v, (list, tuple)) for v in array.flat):
        raise ValueError("the nested lists are ragged")
    return array


def _check_inputs(info, inputs):
    expected = {t.name for t in info.inputs}
    got = set(inputs)
    if got != expected:
        raise invalid_argument(
            f"input size does not match signature: {len(got)}!={len(expected)} "
            f"len({{{','.join(sorted(got))}}}) != len({{{','.join(sorted(expected))}}}). "
            f"Sent extra: {{{','.join(sorted(got - expected))}}}. "
            f"Missing but required: {{{','.join(sorted(expected - got))}}}."
        )


def _to_tensor(array, spec, coerce):
    import tensorflow as tf

    dtype = tf.as_dtype(spec.dtype)
    array = np.asarray(array)
    if dtype == tf.string:
        return tf.constant(array.astype(object) if array.dtype.kind in "US" else array, dtype=tf.string)
    if coerce:
        try:
            return tf.constant(array, dtype=dtype)
        except (TypeError, ValueError) as error:
            raise invalid_argument(f"Could not convert input '{spec.name}' to {spec.dtype}: {error}") from None
    if tf.as_dtype(array.dtype) != dtype:
        raise invalid_argument(
            f"Expects arg[{spec.name}] to be {dtype.name} but {tf.as_dtype(array.dtype).name} is provided"
        )
    return tf.constant(array)


def _check_shape(spec, tensor):
    shape = tuple(tensor.shape)
    if spec.shape is not None and (
        len(shape) != len(spec.shape) or any(e is not None and e != s for e, s in zip(spec.shape, shape))
    ):
        dims = ",".join("-1" if d is None else str(d) for d in spec.shape)
        raise invalid_argument(
            f"Input '{spec.name}' has shape [{','.join(map(str, shape))}] but the signature expects [{dims}]"
        )


def predict(registry, model_name, inputs, version=None, label=None, signature_name=None, coerce=False):
    """Runs a Predict request; returns (version, signature name, {output: ndarray})."""
    model = registry.get(model_name)
    version, loaded, infos = model.resolve(version, label)
    signature, info = _signature(loaded, infos, signature_name, PREDICT_METHOD)
    _check_inputs(info, inputs)
    specs = {t.name: t for t in info.inputs}
    tensors = {}
    for name, array in inputs.items():
        tensors[name] = _to_tensor(array, specs[name], coerce)
        _check_shape(specs[name], tensors[name])
    try:
        outputs = signature(**tensors)
    except Exception as error:  # TF errors on bad values or shapes
        raise invalid_argument(str(error).strip().splitlines()[0]) from None
    return version, info.name, {k: v.numpy() for k, v in outputs.items()}


def _run_examples(registry, model_name, serialized_examples, version, label, signature_name, method):
    import tensorflow as tf

    model = registry.get(model_name)
    version, loaded, infos = model.resolve(version, label)
    signature, info = _signature(loaded, infos, signature_name, method)
    try:
        outputs = signature(inputs=tf.constant(serialized_examples, dtype=tf.string))
    except Exception as error:
        raise invalid_argument(str(error).strip().splitlines()[0]) from None
    return version, info.name, outputs


def classify(registry, model_name, serialized_examples, version=None, label=None, signature_name=None):
    """Runs a Classify request; returns (version, signature name, classes, scores)."""
    version, name, outputs = _run_examples(
        registry, model_name, serialized_examples, version, label, signature_name, CLASSIFY_METHOD
    )
    return version, name, outputs["classes"].numpy(), outputs["scores"].numpy()


def regress(registry, model_name, serialized_examples, version=None, label=None, signature_name=None):
    """Runs a Regress request; returns (version, signature name, values)."""
    version, name, outputs = _run_examples(
        registry, model_name, serialized_examples, version, label, signature_name, REGRESS_METHOD
    )
    return version, name, outputs["outputs"].numpy().reshape(-1)


def example_from_features(features):
    """A serialized `tf.train.Example` from `{name: value or list}` (JSON's examples)."""
    import base64

    import tensorflow as tf

    if not isinstance(features, dict):
        raise invalid_argument(f"Each example must be a JSON object of features. Got: {features!r}")
    feature = {}
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        if all(isinstance(v, dict) and "b64" in v for v in values):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[base64.b64decode(v["b64"]) for v in values]))
        elif all(isinstance(v, str) for v in values):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))
        else:
            raise invalid_argument(f"Feature '{name}' must hold numbers, strings or {{\"b64\": ...}}. Got: {value!r}")
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
