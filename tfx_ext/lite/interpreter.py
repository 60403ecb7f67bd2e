"""The LiteRT interpreter (`ai_edge_litert`), never the deprecated `tf.lite.Interpreter`."""

import numpy as np


def make_interpreter(model, num_threads=1, delegates=True, allocate=True):
    """An `ai_edge_litert` interpreter, allocated unless `allocate=False`.

    With `delegates=True` (how apps run it) the XNNPACK CPU delegate takes the
    ops it supports; `delegates=False` keeps every op visible, for analysis.
    `allocate=False` is enough to list ops and tensors, and works for models
    with TF Select (Flex) ops, which cannot be prepared without the Flex delegate.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = (
        OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    source = (
        {"model_content": bytes(model)}
        if isinstance(model, (bytes, bytearray, memoryview))
        else {"model_path": str(model)}
    )
    interpreter = Interpreter(
        **source, num_threads=num_threads, experimental_op_resolver_type=resolver
    )
    if allocate:
        interpreter.allocate_tensors()
    return interpreter


class TFLiteRunner:
    """Runs one example at a time through a TFLite model, (de)quantizing I/O as needed."""

    def __init__(self, model, num_threads=1):
        self.interpreter = make_interpreter(model, num_threads)
        (self.input,) = self.interpreter.get_input_details()
        self.output = self.interpreter.get_output_details()[0]

    def _quantize(self, x):
        dtype = self.input["dtype"]
        if np.issubdtype(dtype, np.integer):
            scale, zero_point = self.input["quantization"]
            info = np.iinfo(dtype)
            return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)
        return x.astype(dtype)

    def _dequantize(self, y):
        if np.issubdtype(self.output["dtype"], np.integer):
            scale, zero_point = self.output["quantization"]
            return (y.astype(np.float32) - zero_point) * scale
        return y.astype(np.float32)

    def __call__(self, example):
        """Output for one example (no batch axis), as float32."""
        self.interpreter.set_tensor(self.input["index"], self._quantize(np.asarray(example)[None]))
        self.interpreter.invoke()
        return self._dequantize(self.interpreter.get_tensor(self.output["index"]))[0]
