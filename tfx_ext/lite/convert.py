"""Conversion to TFLite (LiteRT) with post-training quantization, two engines.

Keras 3 models go through `model.export(format="tf_saved_model")` and
`TFLiteConverter.from_saved_model` (the route that works across TF/Keras
pairs); tf_keras models through `tf.saved_model.save`; SavedModel directories
directly. Quantization runs either in the converter (`engine="converter"`,
TensorFlow 2.21's flags) or with `litert-quantizer` recipes on the float
model (`engine="litert_quantizer"`, LiteRT's forward path).
"""

import dataclasses
import os
import re
import tempfile

import numpy as np

from tfx_ext._core.arguments import check_bool, check_choice, check_int, invalid
from tfx_ext._core.conversion_modes import ENGINES, INTEGER_MODES, MODES
from tfx_ext._core.files import write_atomically
from tfx_ext._core.private_api import interpreter_ops
from tfx_ext.lite.integer_candidates import (
    closest_to_keras,
    integer_candidates,
    refuse_untrained_qat,
)
from tfx_ext.lite.litert_quantization import litert_quantize
from tfx_ext.lite.quantize_aware import has_learned_ranges
from tfx_ext.lite.representative_data import calibration_examples

IO_TYPES = ("float32", "int8", "uint8")
_INTEGER_MODES = INTEGER_MODES


@dataclasses.dataclass
class ConversionResult:
    """A converted model.

    Attributes:
        content: The `.tflite` flatbuffer bytes.
        path: Where it was written, or None.
        mode, engine: How it was made.
        float_ops: In integer modes, the ops that still compute in float
            (fell back), as `"OP_NAME#index"`; empty when fully integer.
        select_tf_ops: TF Select (Flex) ops in the model; they need the Flex
            delegate at run time.
        folded_normalization: In integer modes, `(Normalization layer,
            layer it was folded into)` pairs (see `fold_normalization`).
        sparse_tensors: Names of the constant tensors stored in TFLite's
            sparse format (`sparsity=True`).
    """

    content: bytes
    path: str
    mode: str
    engine: str
    float_ops: list
    select_tf_ops: list
    folded_normalization: list = dataclasses.field(default_factory=list)
    sparse_tensors: list = dataclasses.field(default_factory=list)

    @property
    def size(self):
        """Size of the flatbuffer in bytes."""
        return len(self.content)


def _input_spec(model):
    """(shape, dtype name) of the single input of a Keras model or SavedModel directory."""
    if isinstance(model, (str, os.PathLike)):
        from tfx_ext.lite.saved_model_source import input_spec

        if not os.path.isdir(model):  # before TensorFlow's OSError about saved_model.pb
            raise invalid("model", "a Keras model or a SavedModel directory", model)
        return input_spec(model)
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        raise invalid("model", "a built model with one input", model)
    dtype = inputs[0].dtype
    return tuple(inputs[0].shape), getattr(dtype, "name", str(dtype))


def _saved_model_dir(model, tmp):
    """A SavedModel directory for `model` (exported into `tmp` unless it already is one)."""
    if isinstance(model, (str, os.PathLike)):
        if not os.path.isdir(model):
            raise invalid("model", "a Keras model or a SavedModel directory", model)
        return str(model)
    from tfx_ext._core.keras_flavour import is_tf_keras

    path = os.path.join(tmp, "saved_model")
    if is_tf_keras(model):
        import tensorflow as tf

        tf.saved_model.save(model, path)
    else:
        model.export(path, format="tf_saved_model", verbose=False)
    return path


def _integer_io(input_type, output_type):
    """(name, value) of the I/O type argument that is not float32, for error messages."""
    if input_type != "float32":
        return "inference_input_type", input_type
    return "inference_output_type", output_type


def _raise_unsupported_ops(error):
    message = str(error)
    # TF op names are CamelCase ('tf.Atan'); lower-case matches are MLIR
    # attributes of the dumped function (`tf.entry_function`), not ops.
    ops = sorted(set(re.findall(r"tf\.([A-Z][A-Za-z0-9_]*)", message)))
    if ops:
        raise ValueError(
            f"TFLite has no builtin kernel for these ops: {', '.join(ops)}. Pass "
            "allow_select_tf_ops=True to keep them as TF Select ops (the app then needs "
            "the Flex delegate), or replace them in the model."
        ) from error
    raise error


def _converter_convert(
    make_converter, mode, examples, io_types, allow_select_tf_ops, sparsity=False
):
    """Runs `make_converter()` (a fresh TFLiteConverter) with the flags of `mode`."""
    import tensorflow as tf

    converter = make_converter()
    ops = []
    optimizations = []
    if mode != "float32":
        optimizations.append(tf.lite.Optimize.DEFAULT)
    if sparsity:
        # Stores sufficiently sparse constant weights in TFLite's sparse
        # format, which XNNPACK's sparse kernels can run.
        optimizations.append(tf.lite.Optimize.EXPERIMENTAL_SPARSITY)
    if optimizations:
        converter.optimizations = optimizations
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode in _INTEGER_MODES and examples is None:
        # A QAT model's FakeQuant ranges are the calibration; the int8-only
        # op set would demand a representative dataset, so ops without a
        # range stay float and `convert` reports them.
        ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
    elif mode in _INTEGER_MODES:
        converter.representative_dataset = lambda: ([example[None]] for example in examples)
        ops.append(
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8
            if mode == "int8"
            else tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        )
    if mode in _INTEGER_MODES:
        input_type, output_type = io_types
        converter.inference_input_type = getattr(tf, input_type)
        converter.inference_output_type = getattr(tf, output_type)
    else:
        ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
    if allow_select_tf_ops:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
    try:
        return converter.convert()
    except Exception as error:  # ConverterError's class moves between TF releases
        if "not supported" in str(error) or "ops that can be supported" in str(error):
            _raise_unsupported_ops(error)
        raise


def _analyze(content, mode):
    from tfx_ext.lite.interpreter import make_interpreter

    # Not allocated: a model with Flex ops cannot be prepared without the Flex delegate.
    interpreter = make_interpreter(content, delegates=False, allocate=False)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    float_ops, select_ops = [], []
    sparse = [t["name"] for t in tensors.values() if t.get("sparsity_parameters")]
    for op in interpreter_ops(interpreter):
        name = op["op_name"]
        if name.startswith("Flex"):
            select_ops.append(name)
        # QUANTIZE/DEQUANTIZE sit at float boundaries; SHAPE only reads a shape.
        if mode in _INTEGER_MODES and name not in ("QUANTIZE", "DEQUANTIZE", "SHAPE"):
            dtypes = {
                tensors[i]["dtype"]
                for i in list(op["inputs"]) + list(op["outputs"])
                if i in tensors
            }
            if np.float32 in dtypes:
                float_ops.append(f"{name}#{op['index']}")
    return float_ops, select_ops, sparse


def convert(
    model,
    mode="float32",
    representative_data=None,
    num_calibration_samples=200,
    output_path=None,
    engine="converter",
    inference_input_type="float32",
    inference_output_type="float32",
    allow_select_tf_ops=False,
    fold_normalization="auto",
    sparsity=False,
):
    """Converts a model to TFLite, optionally quantized, and reports float fallbacks.

    Args:
        model: A Keras 3 model, a tf_keras model, or a SavedModel directory.
        mode: `"float32"`, `"float16"` (half-size weights), `"dynamic_range"`
            (int8 weights, float activations), `"int8"` (full integer, needs
            `representative_data` unless the model is a trained QAT model)
            or `"int16x8"` (int16 activations, int8 weights, needs
            `representative_data`).
        representative_data: Calibration inputs for integer modes: a NumPy
            array, a `tf.data.Dataset` (examples, batches or `(x, y)` pairs)
            or a generator. Checked for shape, dtype and finite values.
            In int8 mode a trained QAT model (`quantize_aware`,
            `quantize_model`, or tfmot for tf_keras) needs none: its learned
            ranges are used, as tfmot's guides do, and a `ValueError` names
            the ops they do not cover. Given, it calibrates those ops too.
        num_calibration_samples: How many examples to calibrate on.
        output_path: Where to write the `.tflite` file (atomically: a
            temporary sibling renamed into place; nothing is left on failure).
        engine: `"converter"` (TFLiteConverter flags) or `"litert_quantizer"`
            (recipes applied to the float model; dynamic_range, int8, int16x8).
        inference_input_type, inference_output_type: `"float32"`, or `"int8"` /
            `"uint8"` in int8 mode for integer-only accelerators.
        allow_select_tf_ops: Keep ops TFLite lacks as TF Select ops.
        fold_normalization: In integer modes, whether to fold each affine
            `Normalization` layer of a Keras 3 model into the Dense/Conv layer
            it feeds (the model's function is unchanged; see
            `fold_normalization`). Folding frees the normalized features from
            sharing one int8 scale, but moves their 1/std spread into the
            kernel's per-channel scales. `"auto"` (default) converts both ways
            and keeps the one closer to the Keras model on the calibration
            examples; `True` always folds, `False` never does. In integer modes
            SELU is also computed int8-friendly (`integer_friendly_selu`).
        sparsity: Store pruned weights in TFLite's sparse format (the
            converter's `EXPERIMENTAL_SPARSITY` optimization), for XNNPACK's
            sparse kernels; pair it with `tfx_ext.sparsity.strip_pruning` and
            `PruneForLatencyOnXNNPack`. `result.sparse_tensors` lists the
            weights that were stored sparse.

    Returns:
        A `ConversionResult`.

    Example:

    >>> result = convert(model, mode="int8", representative_data=x_train[:200],
    ...                  output_path="model_int8.tflite")
    >>> print(compare(model, result, x_test, y_test))
    """
    num_calibration_samples, io_types = _check_arguments(
        mode,
        engine,
        inference_input_type,
        inference_output_type,
        num_calibration_samples,
        fold_normalization,
        sparsity,
    )
    input_spec = _input_spec(model)
    convert_one = _conversion(model, mode, engine, io_types, allow_select_tf_ops, sparsity)
    learned = _uses_learned_ranges(model, mode, engine, representative_data)
    content, folded = _convert_candidates(
        model,
        mode,
        fold_normalization,
        learned,
        representative_data,
        num_calibration_samples,
        input_spec,
        convert_one,
    )
    float_ops, select_ops, sparse = _analyze(content, mode)
    if learned and float_ops:
        raise ValueError(
            f"The QAT model's learned quantization ranges do not cover every tensor: these ops "
            f"would stay float in int8 mode: {', '.join(float_ops)} (a layer quantize_aware does "
            "not wrap, or an activation computed in several ops). Pass representative_data to "
            "calibrate the missing ranges."
        )
    if output_path is not None:
        write_atomically(str(output_path), content)
    return ConversionResult(
        content,
        None if output_path is None else str(output_path),
        mode,
        engine,
        float_ops,
        select_ops,
        folded_normalization=folded,
        sparse_tensors=sparse,
    )


def _check_arguments(
    mode,
    engine,
    inference_input_type,
    inference_output_type,
    num_calibration_samples,
    fold_normalization,
    sparsity,
):
    """Step 1: every argument checked, before any work; returns the calibration count and I/O types."""
    check_choice("mode", mode, MODES)
    check_bool("sparsity", sparsity)
    check_choice("engine", engine, ENGINES)
    check_choice("inference_input_type", inference_input_type, IO_TYPES)
    check_choice("inference_output_type", inference_output_type, IO_TYPES)
    num_calibration_samples = check_int(
        "num_calibration_samples", num_calibration_samples, minimum=1
    )
    integer_io = (inference_input_type, inference_output_type) != ("float32", "float32")
    if mode == "int16x8" and integer_io:
        name, value = _integer_io(inference_input_type, inference_output_type)
        raise invalid(name, "'float32' in int16x8 mode", value)
    if mode != "int8" and integer_io:
        name, value = _integer_io(inference_input_type, inference_output_type)
        raise invalid(name, f"'float32' in {mode} mode (integer I/O needs mode='int8')", value)
    if engine == "litert_quantizer":
        if mode == "float16":
            raise invalid(
                "engine", "'converter' for float16 (litert-quantizer has no float16 recipe)", engine
            )
        if "uint8" in (inference_input_type, inference_output_type):
            name = (
                "inference_input_type"
                if inference_input_type == "uint8"
                else "inference_output_type"
            )
            raise invalid(
                name,
                "'float32' or 'int8' with engine='litert_quantizer' (it has no uint8 I/O)",
                "uint8",
            )
    if fold_normalization not in (True, False, "auto"):
        raise invalid("fold_normalization", "'auto', True or False", fold_normalization)
    return num_calibration_samples, (inference_input_type, inference_output_type)


def _conversion(model, mode, engine, io_types, allow_select_tf_ops, sparsity):
    """Step 2: `convert_one(candidate, examples) -> bytes` for the engine and the model's source."""
    directory = None
    if isinstance(model, (str, os.PathLike)):
        from tfx_ext.lite.saved_model_source import directory_converter

        # The directory's float conversion is checked against the SavedModel before any mode uses it.
        directory = directory_converter(
            model,
            lambda converter: _converter_convert(
                lambda: converter, "float32", None, None, allow_select_tf_ops
            ),
            allow_select_tf_ops,
        )

    def convert_one(candidate, examples):
        import tensorflow as tf

        with tempfile.TemporaryDirectory() as tmp:
            if directory is not None:
                make_converter = directory
            else:
                saved_model = _saved_model_dir(candidate, tmp)
                make_converter = lambda: tf.lite.TFLiteConverter.from_saved_model(saved_model)  # noqa: E731
            if engine == "converter":
                return _converter_convert(
                    make_converter, mode, examples, io_types, allow_select_tf_ops, sparsity
                )
            float_model = _converter_convert(
                make_converter, "float32", None, None, allow_select_tf_ops, sparsity
            )
            return (
                float_model
                if mode == "float32"
                else litert_quantize(float_model, mode, examples, io_types)
            )

    return convert_one


def _uses_learned_ranges(model, mode, engine, representative_data):
    """Step 3: whether int8 uses a trained QAT model's ranges instead of calibration data."""
    learned = mode == "int8" and representative_data is None and has_learned_ranges(model)
    if learned and engine == "litert_quantizer":
        raise invalid(
            "representative_data",
            "calibration inputs with engine='litert_quantizer' (it does not read a QAT model's "
            "learned ranges; engine='converter' does)",
            None,
        )
    if mode == "int8" and engine == "converter" and representative_data is None and not learned:
        # Only there would trained ranges replace the data; elsewhere the data are simply required.
        refuse_untrained_qat(model)
    return learned


def _convert_candidates(
    model,
    mode,
    fold,
    learned,
    representative_data,
    num_calibration_samples,
    input_spec,
    convert_one,
):
    """Step 4: `(content, folded pairs)` of the model converted, the best integer candidate kept."""
    if learned:
        # The folded candidate, if any: without data there is nothing to measure them on.
        candidate, folded = integer_candidates(model, mode, fold)[0]
        return convert_one(candidate, None), folded
    if mode not in _INTEGER_MODES:
        return convert_one(model, None), []
    candidates = integer_candidates(model, mode, fold)
    input_shape, input_dtype = input_spec
    examples = calibration_examples(
        representative_data, input_shape, input_dtype, num_calibration_samples
    )
    if len(candidates) == 1:
        ((candidate, folded),) = candidates
        return convert_one(candidate, examples), folded
    return closest_to_keras(model, candidates, examples, convert_one)
