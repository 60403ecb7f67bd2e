"""Parameter count and RAM estimates, the way "Hands-On ML" ch. 14 computes them by hand."""

import dataclasses
import math

import keras

from tfx_ext._core.arguments import check_int, invalid
from tfx_ext._core.model_graphs import check_graph_model


@dataclasses.dataclass
class MemoryEstimate:
    """Bytes a model needs, from its layers' output shapes and parameter count.

    Attributes:
        parameters: Number of parameters.
        parameter_bytes: Their size.
        input_bytes: One instance's input size.
        per_layer: `[(layer name, output bytes for one instance), ...]`.
        batch_size: The training batch size used for `training_bytes`.
        inference_bytes: Peak for a one-instance prediction: the two largest
            consecutive outputs (input included: a layer's output can be freed
            once the next layer has run), plus the parameters.
        training_bytes: A training batch keeps every layer's output for
            backpropagation: `batch_size * (input + all outputs)` plus the
            parameters (optimizer state and gradients not included).
    """

    parameters: int
    parameter_bytes: int
    input_bytes: int
    per_layer: list
    batch_size: int
    inference_bytes: int
    training_bytes: int

    def __str__(self):
        lines = [f"{'layer':<28} {'output bytes / instance':>24}"]
        lines += [f"{name:<28} {size:>24,}" for name, size in self.per_layer]
        lines.append(f"parameters: {self.parameters:,} ({self.parameter_bytes:,} bytes)")
        lines.append(f"one-instance prediction: {self.inference_bytes:,} bytes")
        lines.append(f"training, batch of {self.batch_size}: {self.training_bytes:,} bytes")
        return "\n".join(lines)


def _instance_size(shape):
    dims = shape[1:]
    if any(d is None for d in dims):
        return None
    return math.prod(dims)


def estimate_memory(model, batch_size, dtype_bytes=4):
    """Estimates parameters, inference RAM and training RAM of a model.

    Args:
        model: A built Keras model with fully known input shape (apart from
            the batch axis). Layers are taken in order (a chain, as in the book).
        batch_size: Training batch size, an integer >= 1.
        dtype_bytes: Bytes per value (4 for float32).

    Returns:
        A `MemoryEstimate`.

    Example (the book's CNN: three 3x3 convolutions, stride 2, 100/200/400 maps):

    >>> estimate_memory(model, batch_size=50).inference_bytes
    12613600
    """
    if not isinstance(model, keras.Model):
        raise invalid("model", "a built keras.Model", model, TypeError)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    dtype_bytes = check_int("dtype_bytes", dtype_bytes, minimum=1)
    inputs = check_graph_model("model", model, "estimate_memory").inputs
    if len(inputs) != 1:
        raise invalid("model", "a model with one input", f"{len(inputs)} inputs")
    input_size = _instance_size(tuple(inputs[0].shape))
    if input_size is None:
        raise invalid(
            "model", "a fully known input shape (besides the batch axis)", tuple(inputs[0].shape)
        )
    per_layer = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        sizes = [_instance_size(tuple(t.shape)) for t in outputs]
        if any(s is None for s in sizes):
            raise invalid(
                "model",
                "layers with fully known output shapes",
                f"{layer.name}: {[t.shape for t in outputs]}",
            )
        per_layer.append((layer.name, sum(sizes) * dtype_bytes))
    parameters = model.count_params()
    parameter_bytes = parameters * dtype_bytes
    input_bytes = input_size * dtype_bytes
    chain = [input_bytes] + [size for _, size in per_layer]
    peak_pair = max(a + b for a, b in zip(chain, chain[1:])) if len(chain) > 1 else chain[0]
    return MemoryEstimate(
        parameters=parameters,
        parameter_bytes=parameter_bytes,
        input_bytes=input_bytes,
        per_layer=per_layer,
        batch_size=batch_size,
        inference_bytes=peak_pair + parameter_bytes,
        training_bytes=batch_size * sum(chain) + parameter_bytes,
    )
