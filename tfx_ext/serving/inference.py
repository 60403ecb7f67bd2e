"""Running Predict / Classify / Regress / MultiInference against loaded SavedModels.

Shared by the REST and gRPC front ends of the local server, with TF Serving's
semantics and, where it has one, its message text:

- inputs are fed whatever their shape, as TF Serving feeds a session (`x` of
  shape `[1]` runs in a `[-1, 1]` signature); dtypes must match exactly;
- the method-name check on signatures is off (TF Serving's
  `--enable_signature_method_name_check` default): Classify runs any signature
  with one input `inputs` and a `classes` and/or `scores` output, so TF2
  exports (all saved as predict) classify and regress;
- a classification without `classes` has empty labels.
"""

import numpy as np

from tfx_ext.serving.errors import ServingError, code_of, invalid_argument
from tfx_ext.tf_serving_methods import CLASSIFY_METHOD, PREDICT_METHOD, REGRESS_METHOD

DEFAULT_SIGNATURE = "serving_default"

_DTYPE_NAMES = {
    1: "float", 2: "double", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string", 9: "int64",
    10: "bool", 17: "uint16", 19: "half", 22: "uint32", 23: "uint64",
}


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


def dtype_name(enum):
    return _DTYPE_NAMES.get(enum, f"dtype {enum}")


def signature(version, name, method=None, method_check=False):
    """`(key, SignatureDef)` of a served version, or TF Serving's INVALID_ARGUMENT."""
    key = name or DEFAULT_SIGNATURE
    sig = version.signature_defs.get(key)
    if sig is None or key not in version.loaded.signatures:
        raise invalid_argument(f'Serving signature name: "{key}" not found in signature def')
    if method_check and method and sig.method_name != method:
        kind = {CLASSIFY_METHOD: "classification", REGRESS_METHOD: "regression"}.get(method, "predict")
        raise invalid_argument(f"Expected {kind} signature method_name to be {method}. Was: {sig.method_name}")
    return key, sig


def _model_error(error):
    """A TensorFlow runtime error as TF Serving reports it (its canonical code, first line)."""
    import tensorflow as tf

    if isinstance(error, tf.errors.OpError):
        message = (error.message or "").strip().splitlines()
        return ServingError(code_of(error), message[0] if message else "model error")
    if isinstance(error, (TypeError, ValueError)):
        return invalid_argument(f"Could not run the model on the inputs: {str(error).strip().splitlines()[0]}")
    return ServingError("INTERNAL", "Internal error while running the model")


def _run(version, key, tensors):
    """Calls signature `key` with `{input: tf.Tensor}` without the Python shape check (TF
    Serving feeds a session, which has none); returns `{output: ndarray}`."""
    function = version.loaded.signatures[key]
    try:
        names = list(getattr(function, "_arg_keywords", None) or sorted(tensors))
        outputs = function._call_flat([tensors[n] for n in names], function.captured_inputs)
    except Exception as error:  # TF errors on values or shapes become TF Serving's codes
        raise _model_error(error) from None
    if not isinstance(outputs, dict):
        raise ServingError("INTERNAL", f"Signature {key} returned no named outputs")
    return {name: np.asarray(value.numpy() if hasattr(value, "numpy") else value) for name, value in outputs.items()}


def run_signature(version, key, feeds):
    """Runs signature `key` of a loaded version on `{input: ndarray}` (checked already); returns
    `{output: ndarray}` (what a batch of Predict calls runs)."""
    import tensorflow as tf

    return _run(version, key, {name: tf.constant(value) for name, value in feeds.items()})


def _check_inputs(sig, inputs):
    expected = set(sig.inputs)
    got = set(inputs)
    if got != expected:
        raise invalid_argument(
            f"input size does not match signature: {len(got)}!={len(expected)} "
            f"len({{{','.join(sorted(got))}}}) != len({{{','.join(sorted(expected))}}}). "
            f"Sent extra: {{{','.join(sorted(got - expected))}}}. "
            f"Missing but required: {{{','.join(sorted(expected - got))}}}."
        )


def _numpy_dtype(enum):
    from tfx_ext.serving.tensor_protos import DTYPES

    return None if enum not in DTYPES else DTYPES[enum][0]


def predict(version, key, sig, inputs, output_filter=()):
    """Runs a Predict request: `inputs` is `{name: ndarray}`; returns `{output: ndarray}`."""
    import tensorflow as tf

    _check_inputs(sig, inputs)
    seen = set()
    for alias in output_filter:
        if alias not in sig.outputs:
            raise invalid_argument(
                f"output tensor alias not found in signature: {alias} Outputs expected to be in the set "
                f"{{{','.join(sorted(sig.outputs))}}}."
            )
        if alias in seen:
            raise invalid_argument(f"duplicate output tensor alias: {alias}")
        seen.add(alias)
    tensors = {}
    for index, name in enumerate(sorted(inputs)):
        array = inputs[name]
        want = sig.inputs[name].dtype
        expected = _numpy_dtype(want)
        got_kind = "string" if array.dtype.kind in "OSU" else None
        if expected is object:
            if got_kind != "string":
                raise invalid_argument(f"Expects arg[{index}] to be string but {_name_of(array)} is provided")
            tensors[name] = tf.constant(array.astype(object), dtype=tf.string)
        elif expected is None or array.dtype != np.dtype(expected):
            raise invalid_argument(
                f"Expects arg[{index}] to be {dtype_name(want)} but {_name_of(array)} is provided"
            )
        else:
            tensors[name] = tf.constant(array)
    if version.batcher is not None:  # --enable_batching: concurrent calls run as one batch
        outputs = version.batcher.run(key, {name: tensor.numpy() for name, tensor in tensors.items()}, None)
    else:
        outputs = _run(version, key, tensors)
    if output_filter:
        outputs = {k: v for k, v in outputs.items() if k in set(output_filter)}
    return outputs


def _name_of(array):
    if array.dtype.kind in "OSU":
        return "string"
    return {np.dtype(np.float16): "half", np.dtype(np.bool_): "bool"}.get(array.dtype, array.dtype.name)


def _run_examples(version, key, sig, serialized_examples):
    import tensorflow as tf

    if list(sig.inputs) != ["inputs"]:
        raise invalid_argument(f"Expected one input Tensor named 'inputs'. Signature {key} has: {sorted(sig.inputs)}")
    if sig.inputs["inputs"].dtype != 7:
        raise invalid_argument(f"Signature {key} takes {dtype_name(sig.inputs['inputs'].dtype)} inputs, not tf.Examples")
    if not serialized_examples:
        raise invalid_argument("Input is empty")
    return _run(version, key, {"inputs": tf.constant(serialized_examples, dtype=tf.string)})


def classify(version, key, sig, serialized_examples):
    """Runs a Classify request; returns `[[(label, score), ...], ...]` per example."""
    if "classes" not in sig.outputs and "scores" not in sig.outputs:
        raise invalid_argument(
            f"Expected classification signature outputs to contain at least one of classes or scores. Signature {key} has: "
            f"{sorted(sig.outputs)}"
        )
    outputs = _run_examples(version, key, sig, serialized_examples)
    batch = len(serialized_examples)
    classes = outputs.get("classes")
    scores = outputs.get("scores")
    for name, tensor in (("classes", classes), ("scores", scores)):
        if tensor is None:
            continue
        if tensor.ndim != 2:
            raise invalid_argument(f"Expected Tensor shape: [batch_size num_classes] but got {list(tensor.shape)}")
        if tensor.shape[0] != batch:
            raise invalid_argument(f"Expected {name} output batch size of {batch}, got {tensor.shape[0]}")
    if classes is not None and scores is not None and classes.shape != scores.shape:
        raise invalid_argument(f"Tensors class and score should match in shape: {list(classes.shape)} vs {list(scores.shape)}")
    if scores is not None and scores.dtype.kind != "f":
        raise invalid_argument(f"Expected scores Tensor of DT_FLOAT. Got: {scores.dtype.name}")
    width = (classes if classes is not None else scores).shape[1]
    results = []
    for row in range(batch):
        results.append([
            (
                _label(classes[row, i]) if classes is not None else "",
                scores[row, i] if scores is not None else np.float32(0.0),
            )
            for i in range(width)
        ])
    return results


def _label(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def regress(version, key, sig, serialized_examples):
    """Runs a Regress request; returns a float per example."""
    if "outputs" not in sig.outputs:
        raise invalid_argument(f"No output Tensor named 'outputs' in signature {key}. It has: {sorted(sig.outputs)}")
    values = _run_examples(version, key, sig, serialized_examples)["outputs"]
    batch = len(serialized_examples)
    if not (values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)):
        raise invalid_argument(
            f"Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got {list(values.shape)}"
        )
    if values.shape[0] != batch:
        raise invalid_argument(f"Input batch size did not match output batch size: {batch} vs. {values.shape[0]}")
    if values.dtype.kind != "f":
        raise invalid_argument(f"Expected output Tensor of DT_FLOAT. Got: {values.dtype.name}")
    return list(values.reshape(-1))


def example_from_features(features):
    """A serialized `tf.train.Example` from `{name: value or list}` (JSON's examples): whole
    numbers go to `int64_list`, others to `float_list`, strings and `{"b64": ...}` to
    `bytes_list`, as TF Serving converts them."""
    import base64
    import binascii

    from tensorflow.core.example import example_pb2

    from tfx_ext.serving.json_tensors import debug_string

    if not isinstance(features, dict):
        raise invalid_argument(f"Each example must be a JSON object of features. Got: {debug_string(features)}")
    example = example_pb2.Example()
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        feature = example.features.feature[name]
        if all(isinstance(v, dict) and set(v) == {"b64"} and isinstance(v["b64"], str) for v in values) and values:
            try:
                feature.bytes_list.value.extend(base64.b64decode(v["b64"], validate=True) for v in values)
            except (binascii.Error, ValueError):
                raise invalid_argument("Unable to base64 decode") from None
        elif all(isinstance(v, str) for v in values):
            feature.bytes_list.value.extend(v.encode() for v in values)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values) and all(
            -(2**63) <= v < 2**63 for v in values
        ):
            feature.int64_list.value.extend(values)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            feature.float_list.value.extend(float(v) for v in values)
        else:
            raise invalid_argument(
                f"Feature '{name}' must hold numbers, strings or {{\"b64\": ...}}. Got: {debug_string(value)}"
            )
    return example.SerializeToString()
