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

from tfx_ext._core.serving_methods import (  # noqa: F401  (the servers read inference.PREDICT_METHOD)
    CLASSIFY_METHOD,
    PREDICT_METHOD,
    REGRESS_METHOD,
)
from tfx_ext.serving.dtypes import NAME_OF_ENUM
from tfx_ext.serving.errors import ServingError, code_of, invalid_argument
from tfx_ext.serving.json_tensors import is_b64, json_type

DEFAULT_SIGNATURE = "serving_default"

_DTYPE_NAMES = NAME_OF_ENUM


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
    """`(key, SignatureDef)` of a served version, or TF Serving's INVALID_ARGUMENT.

    As TF Serving, Classify and Regress look the signature up with their own text
    (classifier.cc / regressor.cc) and check its inputs and outputs before any
    example is parsed; with the method-name check on, the method name first."""
    key = name or DEFAULT_SIGNATURE
    sig = version.signature_defs.get(key)
    if sig is None or key not in version.servable.signature_keys:
        if method in (CLASSIFY_METHOD, REGRESS_METHOD):
            raise invalid_argument(f"No signature was found with the name: {key}")
        raise invalid_argument(f'Serving signature name: "{key}" not found in signature def')
    if method_check and method and sig.method_name != method:
        kind = {CLASSIFY_METHOD: "classification", REGRESS_METHOD: "regression"}.get(
            method, "predict"
        )
        raise invalid_argument(
            f"Expected {kind} signature method_name to be {method}. Was: {sig.method_name}"
        )
    if method == CLASSIFY_METHOD:
        _check_classification_signature(sig)
    elif method == REGRESS_METHOD:
        _check_regression_signature(sig)
    return key, sig


def _debug_string(sig):
    """A SignatureDef as C++'s `DebugString` writes it (protobuf text format)."""
    return str(sig)


def _check_classification_signature(sig):
    """TF Serving's `PreProcessClassification` checks, in its order and words."""
    if len(sig.inputs) != 1:
        raise invalid_argument("Expected one input Tensor.")
    if len(sig.outputs) not in (1, 2):
        raise invalid_argument(f"Expected one or two output Tensors, found {len(sig.outputs)}")
    if "inputs" not in sig.inputs:
        raise invalid_argument(
            f"No classification inputs found in SignatureDef: {_debug_string(sig)}"
        )
    if "classes" not in sig.outputs and "scores" not in sig.outputs:
        raise invalid_argument(
            'Expected classification signature outputs to contain at least one of "classes" or "scores". '
            f"Signature was: {_debug_string(sig)}"
        )


def _check_regression_signature(sig):
    """TF Serving's `PreProcessRegression` checks, in its order and words."""
    if len(sig.inputs) != 1:
        raise invalid_argument("Expected one input Tensor.")
    if len(sig.outputs) != 1:
        raise invalid_argument("Expected one output Tensor.")
    if "inputs" not in sig.inputs:
        raise invalid_argument(f"No regression inputs found in SignatureDef: {_debug_string(sig)}")
    if "outputs" not in sig.outputs:
        raise invalid_argument(f"No regression outputs found in SignatureDef: {_debug_string(sig)}")


def _model_error(error):
    """A TensorFlow runtime error as TF Serving reports it (its canonical code, first line)."""
    import tensorflow as tf

    if isinstance(error, tf.errors.OpError):
        message = (error.message or "").strip().splitlines()
        return ServingError(code_of(error), message[0] if message else "model error")
    if isinstance(error, (TypeError, ValueError)):
        return invalid_argument(
            f"Could not run the model on the inputs: {str(error).strip().splitlines()[0]}"
        )
    return ServingError("INTERNAL", "Internal error while running the model")


def _run(version, key, feeds, fetch=None):
    """Runs signature `key` of a served version on `{input: ndarray}` (fed whatever their
    shape, as TF Serving feeds a session); returns `{output: ndarray}`."""
    try:
        return version.servable.run(key, feeds, fetch)
    except ServingError:
        raise
    except Exception as error:  # TF errors on values or shapes become TF Serving's codes
        raise _model_error(error) from None


def run_signature(version, key, feeds, fetch=None):
    """Runs signature `key` of a loaded version on `{input: ndarray}` (checked already); returns
    `{output: ndarray}` (what a batch of Predict calls runs)."""
    return _run(version, key, feeds, fetch)


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
    """Runs a Predict request: `inputs` is `{name: ndarray}`; returns `{output: ndarray}`
    (only the outputs of `output_filter` when given: only those are computed, as TF
    Serving fetches them, which matters to stateful signatures)."""
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
    feeds = {}
    for index, name in enumerate(sorted(inputs)):
        array = inputs[name]
        want = sig.inputs[name].dtype
        expected = _numpy_dtype(want)
        got_kind = "string" if array.dtype.kind in "OSU" else None
        if expected is object:
            if got_kind != "string":
                raise invalid_argument(
                    f"Expects arg[{index}] to be string but {_name_of(array)} is provided"
                )
            feeds[name] = array.astype(object)
        elif expected is None or array.dtype != np.dtype(expected):
            raise invalid_argument(
                f"Expects arg[{index}] to be {dtype_name(want)} but {_name_of(array)} is provided"
            )
        else:
            feeds[name] = array
    fetch = list(output_filter) or None
    if version.batcher is not None:  # --enable_batching: concurrent calls run as one batch
        return version.batcher.run(key, feeds, fetch)
    return _run(version, key, feeds, fetch)


def _name_of(array):
    if array.dtype.kind in "OSU":
        return "string"
    return {np.dtype(np.float16): "half", np.dtype(np.bool_): "bool"}.get(
        array.dtype, array.dtype.name
    )


def serialized_examples(request_input):
    """The serialized tf.Examples of a gRPC `Input` (TF Serving's
    `InputToSerializedExampleTensor`): an example list as it is; a list with a context as
    the context's bytes followed by each example's (a feature in both takes the example's
    value), as the REST front end builds them."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        return [e.SerializeToString() for e in request_input.example_list.examples]
    if kind == "example_list_with_context":
        context = request_input.example_list_with_context.context.SerializeToString()
        return [
            context + e.SerializeToString()
            for e in request_input.example_list_with_context.examples
        ]
    raise invalid_argument("Input is empty")


def _run_examples(version, key, sig, serialized_examples):
    if sig.inputs["inputs"].dtype != 7:
        raise invalid_argument(
            f"Signature {key} takes {dtype_name(sig.inputs['inputs'].dtype)} inputs, not tf.Examples"
        )
    if not serialized_examples:
        raise invalid_argument("Input is empty")
    return _run(version, key, {"inputs": np.array(serialized_examples, dtype=object)})


def classify(version, key, sig, serialized_examples):
    """Runs a Classify request (on a signature `signature()` checked); returns
    `[[(label, score), ...], ...]` per example."""
    outputs = _run_examples(version, key, sig, serialized_examples)
    batch = len(serialized_examples)
    classes = outputs.get("classes")
    scores = outputs.get("scores")
    for name, tensor in (("classes", classes), ("scores", scores)):
        if tensor is None:
            continue
        if tensor.ndim != 2:
            raise invalid_argument(
                f"Expected Tensor shape: [batch_size num_classes] but got {list(tensor.shape)}"
            )
        if tensor.shape[0] != batch:
            raise invalid_argument(
                f"Expected {name} output batch size of {batch}, got {tensor.shape[0]}"
            )
    if classes is not None and scores is not None and classes.shape != scores.shape:
        raise invalid_argument(
            f"Tensors class and score should match in shape: {list(classes.shape)} vs {list(scores.shape)}"
        )
    if scores is not None and scores.dtype.kind != "f":
        raise invalid_argument(f"Expected scores Tensor of DT_FLOAT. Got: {scores.dtype.name}")
    width = (classes if classes is not None else scores).shape[1]
    results = []
    for row in range(batch):
        results.append(
            [
                (
                    _label(classes[row, i]) if classes is not None else "",
                    scores[row, i] if scores is not None else np.float32(0.0),
                )
                for i in range(width)
            ]
        )
    return results


def _label(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def regress(version, key, sig, serialized_examples):
    """Runs a Regress request (on a signature `signature()` checked); returns a float per example."""
    values = _run_examples(version, key, sig, serialized_examples)["outputs"]
    batch = len(serialized_examples)
    if not (values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)):
        raise invalid_argument(
            f"Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got {list(values.shape)}"
        )
    if values.shape[0] != batch:
        raise invalid_argument(
            f"Input batch size did not match output batch size: {batch} vs. {values.shape[0]}"
        )
    if values.dtype.kind != "f":
        raise invalid_argument(f"Expected output Tensor of DT_FLOAT. Got: {values.dtype.name}")
    return list(values.reshape(-1))


def _add_feature_value(feature, name, value):
    """One JSON value into a `Feature`, as TF Serving's `AddValueToFeature`: its kind is set
    by the first value (strings and `{"b64": ...}` bytes, numbers with a fraction or
    exponent float, whole numbers and booleans int64) and every other value must match."""
    import base64
    import binascii

    if isinstance(value, bool) or (isinstance(value, int) and not isinstance(value, bool)):
        kind = "int64_list"
    elif isinstance(value, float):
        kind = "float_list"
    elif isinstance(value, str) or (is_b64(value) and isinstance(value["b64"], str)):
        kind = "bytes_list"
    else:
        raise invalid_argument(
            f"Feature: {name} has element with unexpected JSON type: {json_type(value)}"
        )
    current = feature.WhichOneof("kind")
    if current is not None and current != kind:
        expecting = {"bytes_list": "bytes", "float_list": "float", "int64_list": "int64"}[current]
        raise invalid_argument(
            f"Unexpected element type in feature: {name} expecting type: {expecting}"
        )
    if kind == "int64_list":
        if not isinstance(value, bool) and value >= 2**63:
            raise invalid_argument(
                f"Feature: {name} has uint64_t element. Only int64_t is supported."
            )
        feature.int64_list.value.append(int(value))
    elif kind == "float_list":
        feature.float_list.value.append(value)
    elif isinstance(value, str):
        feature.bytes_list.value.append(value.encode())
    else:
        try:
            feature.bytes_list.value.append(base64.b64decode(value["b64"], validate=True))
        except (binascii.Error, ValueError):
            raise invalid_argument("Unable to base64 decode") from None


def example_message(features):
    """A `tf.train.Example` from a JSON object of features (`{name: value or list}`), by TF
    Serving's rules (`MakeExampleFromJsonObject`); an empty list is a feature of no kind."""
    from tensorflow.core.example import example_pb2

    if not isinstance(features, dict):
        raise invalid_argument(f"Example must be JSON object but got JSON {json_type(features)}")
    example = example_pb2.Example()
    for name, content in features.items():
        feature = example.features.feature[name]
        for value in content if isinstance(content, list) else [content]:
            _add_feature_value(feature, name, value)
    return example


def example_from_features(features):
    """A serialized `tf.train.Example` from `{name: value or list}` (JSON's examples), as TF
    Serving converts them: see `example_message`."""
    return example_message(features).SerializeToString()
