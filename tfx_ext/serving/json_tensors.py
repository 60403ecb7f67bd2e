"""JSON <-> tensors for the REST front end, with TF Serving's rules and messages.

- Parsing: NaN / Infinity accepted, numbers too big for a double refused, as
  rapidjson (TF Serving's parser) does; errors read "JSON Parse error: ...".
- Values are converted by the signature's dtype and strictly typed: `true` or
  `"1.0"` is not a float, `1.5` is not an int32.
- Shapes come from the nesting, which must be rectangular; the element count
  is checked against a cap before any array is built.
- Writing: floats in their shortest round-trip form (`2.05`, not
  `2.049999952316284`), NaN / Infinity tokens, outputs whose name ends in
  `_bytes` as `{"b64": ...}`.

Speed: documents are parsed by orjson first; only when it refuses one (NaN /
Infinity tokens, a number beyond a double, nesting deeper than 1024, a lone
surrogate, a syntax error) does the exact parser below decide, so results and
messages are the same. Rectangular numeric tensors are built by one
`np.array` call after a check of the leaves' Python types; anything else takes
the element-by-element walk that writes TF Serving's messages. Finite float32 /
float64, integer and bool outputs are written by orjson (the same shortest
digits as NumPy's and Python's repr).
"""

import base64
import binascii
import itertools
import json
import math

import numpy as np
import orjson

from tfx_ext.serving.dtypes import BY_PROTO_NAME
from tfx_ext.serving.errors import ServingError, invalid_argument
from tfx_ext.serving.tensor_protos import check_shape

_DTYPE_NAMES = BY_PROTO_NAME
_MAX_RANK = 64


class _TooBig(ValueError):
    pass


def _parse_int(text):
    value = int(text)
    if -(2**63) <= value < 2**64:
        return value
    return _parse_float(text)  # rapidjson keeps big integers as doubles


def _parse_float(text):
    value = float(text)
    if math.isinf(value):
        raise _TooBig("Number too big to be stored in double.")
    return value


def loads(raw):
    """The JSON document of a request body, or INVALID_ARGUMENT "JSON Parse error: ..."."""
    if not raw.strip():
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # the exact parser accepts NaN / Infinity and writes rapidjson's messages
    return _loads_exact(raw)


def _loads_exact(raw):
    """`loads` by Python's parser, NaN / Infinity accepted (the reference the fast path matches)."""
    if not raw.strip():
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise invalid_argument(
            f"JSON Parse error: Invalid encoding in string. at offset: {error.start}"
        ) from None
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as error:
        reason = "Invalid value." if error.msg.startswith("Expecting value") else error.msg + "."
        raise invalid_argument(f"JSON Parse error: {reason} at offset: {error.pos}") from None
    except _TooBig as error:
        raise invalid_argument(f"JSON Parse error: {error}") from None
    except RecursionError:
        raise invalid_argument("JSON Parse error: The document is nested too deeply.") from None
    except ValueError as error:  # e.g. Python's limit on the digits of an integer
        raise invalid_argument(
            f"JSON Parse error: Invalid number ({str(error).split(':')[0]})."
        ) from None


def debug_string(value):
    """The value as compact JSON, for messages (long values cut)."""
    try:
        text = json.dumps(value, separators=(",", ":"))
    except (ValueError, RecursionError):
        text = "..."
    return text if len(text) <= 200 else text[:200] + "..."


def json_type(value):
    """rapidjson's type name of a parsed JSON value (TF Serving's `JsonTypeString`)."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def is_b64(value):
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def _type_error(value, dtype_name):
    return invalid_argument(
        f"JSON Value: {debug_string(value)} Type: {json_type(value)} is not of expected type: {dtype_name}"
    )


def _converter(dtype_enum_name):
    """A function checking and converting one JSON leaf for the dtype."""
    if dtype_enum_name not in _DTYPE_NAMES:  # TF Serving: Unimplemented (HTTP 501)
        raise ServingError(
            "UNIMPLEMENTED",
            f"Conversion of JSON values to type: {dtype_enum_name} is not supported",
        )
    name, numpy_type = _DTYPE_NAMES[dtype_enum_name]

    if numpy_type is object:

        def convert(value):
            if isinstance(value, str):
                return value.encode("utf-8")
            if is_b64(value) and isinstance(value["b64"], str):
                try:
                    return base64.b64decode(value["b64"], validate=True)
                except (binascii.Error, ValueError):
                    raise invalid_argument("Unable to base64 decode") from None
            if isinstance(value, dict):
                raise invalid_argument(
                    f"JSON Value: {debug_string(value)} not formatted correctly for base64 data"
                )
            raise _type_error(value, name)
    elif numpy_type is np.bool_:

        def convert(value):
            if isinstance(value, bool):
                return value
            raise _type_error(value, name)
    elif np.issubdtype(numpy_type, np.floating):

        def convert(value):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            raise _type_error(value, name)
    else:
        info = np.iinfo(numpy_type)
        # rapidjson's IsInt / IsInt64 / IsUint / IsUint64: 32-bit kinds accept the int32 range
        low, high = (info.min, info.max) if info.bits >= 32 else (-(2**31), 2**31 - 1)

        def convert(value):
            if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
                return value
            raise _type_error(value, name)

    return convert, numpy_type


def _shape_of(value):
    dims = []
    while isinstance(value, list):
        dims.append(len(value))
        if len(dims) > _MAX_RANK:
            raise invalid_argument(f"JSON Value nested deeper than the largest rank ({_MAX_RANK})")
        if not value:
            break
        value = value[0]
    return dims


def _leaf_types(numpy_type):
    """The Python types of JSON leaves a numeric / bool dtype takes as they are."""
    if numpy_type is np.bool_:
        return {bool}
    if np.issubdtype(numpy_type, np.floating):
        return {int, float}
    if np.issubdtype(numpy_type, np.integer):
        return {int}
    return set()


def _fast_array(value, dims, numpy_type):
    """The tensor by one `np.array` call, or None when the element walk must decide.

    None unless every leaf at depth `len(dims)` has a type the dtype takes as it is
    (bool is not an int here), NumPy converts without overflow, and the array has the
    shape read from the first elements (so the nesting is rectangular).
    """
    allowed = _leaf_types(numpy_type)
    if not dims or 0 in dims or not allowed:
        return None
    leaves = value
    for _ in range(len(dims) - 1):
        leaves = itertools.chain.from_iterable(leaves)
    try:
        if not set(map(type, leaves)) <= allowed:
            return None
        with np.errstate(over="ignore"):  # a double beyond float32 is inf, as TF Serving's cast
            array = np.array(value, dtype=numpy_type)
    except (
        TypeError,
        ValueError,
        OverflowError,
    ):  # a leaf above the last level, ragged, out of range
        return None
    return array if array.shape == tuple(dims) else None


def tensor_from_json(value, dtype_enum_name, max_elements, name="input"):
    """An ndarray from a JSON value (nested lists of leaves) for a signature input."""
    convert, numpy_type = _converter(dtype_enum_name)
    dims = _shape_of(value)
    check_shape(name, dims, max_elements)
    fast = _fast_array(value, dims, numpy_type)
    if fast is not None:
        return fast
    return _tensor_by_elements(value, convert, numpy_type, dims, name)


def _tensor_by_elements(value, convert, numpy_type, dims, name):
    """Each leaf checked in order: the first bad one gets TF Serving's message."""
    rank = len(dims)
    leaves = []
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if level < rank:
            if not isinstance(item, list):
                raise invalid_argument(
                    f"JSON Value: {debug_string(item)} found at incorrect level: {level + 1} "
                    f"in the JSON DOM. Expected at level: {rank}"
                )
            if len(item) != dims[level]:
                raise invalid_argument(
                    f"Encountered list at unexpected size: {len(item)} at level: {level} "
                    f"expected size: {dims[level]}"
                )
            stack.extend((child, level + 1) for child in reversed(item))
        else:
            if isinstance(item, list):
                raise invalid_argument(
                    f"Encountered list at unexpected level: {level} expected < {rank}"
                )
            leaves.append(convert(item))
    if numpy_type is object:
        array = np.empty(len(leaves), dtype=object)
        array[:] = leaves
    else:
        try:
            with np.errstate(over="ignore"):  # a double beyond float32 is inf, as TF Serving's cast
                array = np.array(leaves, dtype=numpy_type)
        except OverflowError:
            raise invalid_argument(
                f"Input '{name}' holds a number out of range for its type"
            ) from None
    return array.reshape(dims)


# --- writing ----------------------------------------------------------------------------------


def _float_token(text):
    return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(text, text)


def _leaf_strings(array, binary):
    """Each element of `array` as JSON text, flat."""
    kind = array.dtype.kind
    flat = array.reshape(-1)
    if kind == "f":
        if array.dtype == np.float64:
            return [_float_token(repr(float(v))) for v in flat]
        return [_float_token(str(v)) for v in flat]  # NumPy prints float32 / float16 shortest
    if kind == "b":
        return ["true" if v else "false" for v in flat]
    if kind in "iu":
        return [str(int(v)) for v in flat]
    if kind in "OSU":
        out = []
        for v in flat:
            data = v if isinstance(v, bytes) else str(v).encode("utf-8")
            if binary:
                out.append('{"b64": "' + base64.b64encode(data).decode("ascii") + '"}')
                continue
            try:
                out.append(json.dumps(data.decode("utf-8")))
            except UnicodeDecodeError:
                out.append('{"b64": "' + base64.b64encode(data).decode("ascii") + '"}')
        return out
    return [json.dumps(v) for v in flat.tolist()]


def _nest(leaves, shape):
    if not shape:
        return leaves[0]
    if shape[0] == 0:
        return "[]"
    step = len(leaves) // shape[0] if shape[0] else 0
    return (
        "["
        + ", ".join(_nest(leaves[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0]))
        + "]"
    )


class Tensor:
    """An output to write as JSON (binary when its name ends in `_bytes`, as TF Serving)."""

    def __init__(self, array, name=""):
        self.array = np.asarray(array)
        self.binary = name.endswith("_bytes")

    def json(self):
        return _nest(_leaf_strings(self.array, self.binary), list(self.array.shape))

    def orjson_value(self):
        """The array for orjson when orjson writes it as `json()` does, else its text as a Fragment.

        orjson writes float32 / float64 in the same shortest digits as NumPy's / Python's
        repr (exponents as `1e-5`, not `1e-05`); it writes NaN / Infinity as null and
        float16 with float32's digits, so those keep the text writer.
        """
        array = self.array
        kind = array.dtype.kind
        native = array.dtype in (np.float32, np.float64) or kind in "biu"
        if array.ndim and native and (kind != "f" or np.isfinite(array).all()):
            if not array.dtype.isnative or not array.flags.c_contiguous:
                array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
            return array
        return orjson.Fragment(self.json())


class Rows:
    """Row-format predictions of several outputs: `[{name: row, ...}, ...]`, one object per
    batch row (TF Serving's `predictions` list), from arrays sharing their first dimension.

    Written column by column: each output is written once, as a whole array, and its text cut
    at the separators between its top-level elements (numbers hold no brackets or commas), so
    a 20,000-row answer costs a few writer calls, not 20,000 x outputs small documents. An
    output the fast writer does not take (strings, float16, NaN / Infinity, empty inner
    dimensions) is written row by row by `Tensor`.
    """

    def __init__(self, outputs):
        self.tensors = {name: Tensor(array, name) for name, array in outputs.items()}
        sizes = {
            tensor.array.shape[0] if tensor.array.ndim else None for tensor in self.tensors.values()
        }
        if len(sizes) != 1 or None in sizes:
            raise ValueError(
                f"Rows needs outputs sharing a first dimension, got shapes "
                f"{ {k: t.array.shape for k, t in self.tensors.items()} }"
            )
        self.batch = sizes.pop()

    def json(self):
        rows = []
        for i in range(self.batch):
            cells = ", ".join(
                f"{json.dumps(name)}: {Tensor(t.array[i], name).json()}"
                for name, t in self.tensors.items()
            )
            rows.append("{" + cells + "}")
        return "[" + ", ".join(rows) + "]"

    def _column(self, name, tensor):
        value = tensor.orjson_value()
        if isinstance(value, np.ndarray) and 0 not in value.shape[1:]:
            text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
            depth = value.ndim
            separator = "]" * (depth - 1) + "," + "[" * (depth - 1)
            cells = text[depth:-depth].split(separator)  # "[]" (no rows) falls through
            if len(cells) == self.batch:
                if depth == 1:
                    return cells
                opening, closing = "[" * (depth - 1), "]" * (depth - 1)
                return [opening + cell + closing for cell in cells]
        return [dumps(Tensor(row, name)) for row in tensor.array]

    def orjson_value(self):
        prefixes = []
        for i, name in enumerate(self.tensors):
            prefixes.append(("{" if i == 0 else ",") + orjson.dumps(name).decode() + ":")
        columns = [self._column(name, tensor) for name, tensor in self.tensors.items()]
        rows = ["".join(p + c for p, c in zip(prefixes, cells)) + "}" for cells in zip(*columns)]
        return orjson.Fragment("[" + ",".join(rows) + "]")


def _orjson_tree(value):
    if isinstance(value, (Tensor, Rows)):
        return value.orjson_value()
    if isinstance(value, dict):
        return {str(k): _orjson_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_orjson_tree(v) for v in value]
    if isinstance(value, (float, np.floating)):  # np.float64 is a float
        if isinstance(value, (float, np.float32)) and math.isfinite(value):
            return value
        return orjson.Fragment(_dumps_text(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def dumps(value):
    """JSON text of dicts / lists / scalars / `Tensor`s, floats in shortest form."""
    try:
        return orjson.dumps(_orjson_tree(value), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except orjson.JSONEncodeError:  # e.g. a str holding a lone surrogate: Python escapes it
        return _dumps_text(value)


def _dumps_text(value):
    """`dumps` by Python alone (the reference the orjson writer matches after parsing)."""
    if isinstance(value, (Tensor, Rows)):
        return value.json()
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))}: {_dumps_text(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_dumps_text(v) for v in value) + "]"
    if isinstance(value, (float, np.floating)):
        if isinstance(value, np.float32):
            return _float_token(str(value))
        return _float_token(repr(float(value)))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return json.dumps(value)
