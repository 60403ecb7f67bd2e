"""The tensor dtypes TF Serving's protocols carry: one table, three views.

Each row: the `DataType` enum value, its proto name, the short name TF
Serving's messages use (`types.cc` `DataTypeString`), the NumPy type, and the
typed field of `TensorProto` that holds the values. DT_HALF travels as 16-bit
patterns in `half_val`; strings are kept as an object array of bytes.
"""

import numpy as np

DATA_TYPES = (
    (1, "DT_FLOAT", "float", np.float32, "float_val"),
    (2, "DT_DOUBLE", "double", np.float64, "double_val"),
    (3, "DT_INT32", "int32", np.int32, "int_val"),
    (4, "DT_UINT8", "uint8", np.uint8, "int_val"),
    (5, "DT_INT16", "int16", np.int16, "int_val"),
    (6, "DT_INT8", "int8", np.int8, "int_val"),
    (7, "DT_STRING", "string", object, "string_val"),
    (9, "DT_INT64", "int64", np.int64, "int64_val"),
    (10, "DT_BOOL", "bool", np.bool_, "bool_val"),
    (17, "DT_UINT16", "uint16", np.uint16, "int_val"),
    (19, "DT_HALF", "half", np.float16, "half_val"),
    (22, "DT_UINT32", "uint32", np.uint32, "uint32_val"),
    (23, "DT_UINT64", "uint64", np.uint64, "uint64_val"),
)

# enum -> short name (error messages)
NAME_OF_ENUM = {enum: name for enum, _, name, _, _ in DATA_TYPES}
# proto name -> (short name, NumPy type) (JSON requests and responses)
BY_PROTO_NAME = {proto: (name, numpy_type) for _, proto, name, numpy_type, _ in DATA_TYPES}
# enum -> (NumPy type, TensorProto field) (gRPC tensors)
BY_ENUM = {enum: (numpy_type, field) for enum, _, _, numpy_type, field in DATA_TYPES}
