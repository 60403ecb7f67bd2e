"""What a SavedModel offers to TF Serving (what `saved_model_cli show --all` prints)."""

import dataclasses
import os

from tfx_ext._core.arguments import invalid
from tfx_ext.export.meta_graphs import serving_meta_graph


@dataclasses.dataclass
class TensorInfo:
    """One input or output of a signature.

    Attributes:
        name: The tensor's key in the signature.
        dtype: Its dtype name (`"float32"`, `"string"`, ...).
        shape: A tuple with `None` for unknown dimensions, or `None` for an
            unknown rank.
    """

    name: str
    dtype: str
    shape: tuple  # None for an unknown rank; None entries for unknown dimensions

    def __str__(self):
        if self.shape is None:
            return f"{self.name}: {self.dtype} (unknown rank)"
        dims = ", ".join("None" if d is None else str(d) for d in self.shape)
        return f"{self.name}: {self.dtype} [{dims}]"


@dataclasses.dataclass
class SignatureInfo:
    """One signature of a SavedModel.

    Attributes:
        name: The signature key (`"serving_default"`, `"classify"`, ...).
        method_name: Its method (`"tensorflow/serving/predict"`, ...).
        inputs: A list of `TensorInfo`, by name.
        outputs: A list of `TensorInfo`, by name.
    """

    name: str
    method_name: str
    inputs: list
    outputs: list


def _tensor(name, info):
    import tensorflow as tf

    shape = (
        None
        if info.tensor_shape.unknown_rank
        else tuple(None if d.size == -1 else d.size for d in info.tensor_shape.dim)
    )
    return TensorInfo(name, tf.dtypes.as_dtype(info.dtype).name, shape)


def inspect_saved_model(path):
    """The signatures of a SavedModel: method, inputs and outputs with dtypes and shapes.

    Reads `saved_model.pb` only (no variables are loaded).

    Args:
        path: A SavedModel directory (e.g. one version, `models/digits/1`).

    Returns:
        A dict from signature name to `SignatureInfo`.

    Raises:
        ValueError: `path` has no `saved_model.pb`, or it cannot be parsed.

    Example:

    >>> print(format_signatures(inspect_saved_model("models/digits/1")))
    """
    from tensorflow.core.protobuf import saved_model_pb2

    pb = os.path.join(str(path), "saved_model.pb")
    if not os.path.isfile(pb):
        raise invalid("path", "a SavedModel directory (with saved_model.pb)", path)
    proto = saved_model_pb2.SavedModel()
    with open(pb, "rb") as f:
        try:
            proto.ParseFromString(f.read())
        except Exception as error:  # protobuf's DecodeError
            raise invalid(
                "path", "a SavedModel directory (with a readable saved_model.pb)", path
            ) from error
    if not proto.meta_graphs:
        raise invalid("path", "a SavedModel with a MetaGraph", path)
    signatures = {}
    for key, sig in serving_meta_graph(proto).signature_def.items():
        if key.startswith("__"):
            continue  # internal (e.g. __saved_model_init_op)
        signatures[key] = SignatureInfo(
            key,
            sig.method_name,
            [_tensor(n, t) for n, t in sorted(sig.inputs.items())],
            [_tensor(n, t) for n, t in sorted(sig.outputs.items())],
        )
    return signatures


def format_signatures(signatures):
    """The signatures as text, one line per signature, input and output.

    Args:
        signatures: The dict returned by `inspect_saved_model`.

    Returns:
        A string.

    Raises:
        TypeError: `signatures` is not a dict of `SignatureInfo`.

    Example:

    >>> print(format_signatures(inspect_saved_model("models/digits/1")))
    signature 'serving_default' (tensorflow/serving/predict)
      input  pixels: float32 [None, 64]
      output probabilities: float32 [None, 10]
    """
    if not isinstance(signatures, dict) or not all(
        isinstance(s, SignatureInfo) for s in signatures.values()
    ):
        raise invalid(
            "signatures", "the dict returned by inspect_saved_model", signatures, TypeError
        )
    lines = []
    for sig in signatures.values():
        lines.append(f"signature '{sig.name}' ({sig.method_name})")
        lines += [f"  input  {t}" for t in sig.inputs]
        lines += [f"  output {t}" for t in sig.outputs]
    return "\n".join(lines)
