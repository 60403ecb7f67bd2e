"""`TensorProto` <-> NumPy for the gRPC front end, as TF Serving reads and writes them.

Reading checks everything a hostile client controls before memory is
allocated: the dtype, every dimension, the element count against a cap, and
that `tensor_content` or the typed values fit the shape. Writing fills the
typed fields (`float_val`, `int64_val`, ...) as TF Serving's
`Tensor::AsProtoField` does, not `tensor_content`.
"""

import math

import numpy as np

from tfx_ext.serving.dtypes import BY_ENUM
from tfx_ext.serving.errors import invalid_argument

# DataType enum -> (NumPy dtype, typed field of TensorProto).
DTYPES = BY_ENUM
_ENUM_OF = {np.dtype(t): e for e, (t, _) in DTYPES.items() if t is not object}


def _parse_error(name, why):
    return invalid_argument(f"tensor parsing error: {name} ({why})")


def check_shape(name, dims, max_elements):
    """The element count of `dims`, refusing negative sizes and counts above `max_elements`
    (checked as the product grows, so no huge number is ever built)."""
    count = 1
    for size in dims:
        if size < 0:
            raise _parse_error(name, f"negative dimension {size}")
        count *= size
        if count > max_elements:
            raise invalid_argument(
                f"Input '{name}' has {'x'.join(map(str, dims))} elements, more than the server's "
                f"limit of {max_elements} (max_tensor_elements)"
            )
    return count


def array_from_proto(name, proto, max_elements):
    """A NumPy array from a request's `TensorProto`, or an INVALID_ARGUMENT error."""
    if proto.dtype not in DTYPES:
        raise _parse_error(name, f"unsupported dtype {proto.dtype}")
    numpy_type, field = DTYPES[proto.dtype]
    if proto.tensor_shape.unknown_rank:
        raise _parse_error(name, "unknown rank")
    dims = [d.size for d in proto.tensor_shape.dim]
    if len(dims) > 64:
        raise _parse_error(name, f"rank {len(dims)} above 64")
    count = check_shape(name, dims, max_elements)
    if numpy_type is object:
        values = list(proto.string_val)
        if len(values) > count:
            raise _parse_error(name, f"{len(values)} values for {count} elements")
        array = np.empty(count, dtype=object)
        if values:
            array[: len(values)] = values
            array[len(values) :] = values[-1]  # as TensorFlow: the last value fills the rest
        else:
            array[:] = b""
        return array.reshape(dims)
    dtype = np.dtype(numpy_type)
    if proto.tensor_content:
        if len(proto.tensor_content) != count * dtype.itemsize:
            raise _parse_error(
                name,
                f"tensor_content has {len(proto.tensor_content)} bytes, {count * dtype.itemsize} expected",
            )
        return np.frombuffer(proto.tensor_content, dtype=dtype).reshape(dims).copy()
    values = getattr(proto, field)
    if len(values) > count:
        raise _parse_error(name, f"{len(values)} values for {count} elements")
    if field == "half_val":
        raw = np.asarray(values, dtype=np.uint16).view(np.float16)
    else:
        raw = np.asarray(values, dtype=dtype)
    array = np.zeros(count, dtype=dtype)
    if len(raw):
        array[: len(raw)] = raw
        array[len(raw) :] = raw[-1]  # as TensorFlow: the last value fills the rest
    return array.reshape(dims)


def array_to_proto(array):
    """A `TensorProto` with typed fields (TF Serving's `AsProtoField`)."""
    from tensorflow.core.framework import tensor_pb2

    array = np.asarray(array)
    proto = tensor_pb2.TensorProto()
    proto.tensor_shape.SetInParent()  # a scalar still has a (dimensionless) shape, as TF writes it
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    if array.dtype.kind in "OSU":
        proto.dtype = 7
        proto.string_val.extend(
            v if isinstance(v, bytes) else str(v).encode() for v in array.reshape(-1)
        )
        return proto
    if array.dtype not in _ENUM_OF:
        import tensorflow as tf

        proto.CopyFrom(tf.make_tensor_proto(array))  # complex, bfloat16: rare, TF knows them
        return proto
    proto.dtype = _ENUM_OF[array.dtype]
    field = DTYPES[proto.dtype][1]
    flat = array.reshape(-1)
    if field == "half_val":
        flat = flat.view(np.uint16)
    getattr(proto, field).extend(flat.tolist())
    return proto


def array_to_request_proto(array):
    """A `TensorProto` as a client sends it: numbers as `tensor_content` bytes, as
    `tf.make_tensor_proto` writes NumPy arrays (one copy of the buffer, no per-element
    fields; 3 us for a 64-float row where `tf.make_tensor_proto` takes ~150 us), strings in
    `string_val` whole. Types outside the table go through `tf.make_tensor_proto`."""
    array = np.asarray(array)
    if array.dtype.kind in "OSU" or array.dtype not in _ENUM_OF:
        return array_to_proto(array)
    from tensorflow.core.framework import tensor_pb2

    proto = tensor_pb2.TensorProto(dtype=_ENUM_OF[array.dtype])
    proto.tensor_shape.SetInParent()
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    proto.tensor_content = np.ascontiguousarray(
        array, dtype=array.dtype.newbyteorder("<")
    ).tobytes()
    return proto


def array_from_response_proto(name, proto):
    """A NumPy array from a server's `TensorProto` (typed fields or `tensor_content`), with
    `array_from_proto`'s checks and no element cap; types outside the table through
    `tf.make_ndarray`."""
    if proto.dtype not in DTYPES:
        import tensorflow as tf

        return tf.make_ndarray(proto)
    return array_from_proto(name, proto, max_elements=math.inf)
