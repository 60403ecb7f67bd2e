"""Conversion to TFLite (LiteRT) with post-training quantization, two engines.

Keras 3 models go through `model.export(format="tf_saved_model")` and
`TFLiteConverter.from_saved_model` (the route that works across TF/Keras
pairs); tf_keras models through `tf.saved_model.save`; SavedModel directories
directly. Quantization runs either in the converter (`engine="converter"`,
TensorFlow 2.21's flags) or with `litert-quantizer` recipes on the float
model (`engine="litert_quantizer"`, LiteRT's forward path).
"""

import contextlib
import dataclasses
import io
import os
import re
import tempfile
import warnings

import numpy as np

from tfx_ext.arguments import check_choice, check_int, invalid
from tfx_ext.atomic_files import write_atomically
from tfx_ext.lite.quantize_aware import has_learned_ranges
from tfx_ext.lite.representative_data import calibration_examples

MODES = ("float32", "float16", "dynamic_range", "int8", "int16x8")
ENGINES = ("converter", "litert_quantizer")
IO_TYPES = ("float32", "int8", "uint8")
_INTEGER_MODES = ("int8", "int16x8")


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
    from tfx_ext.keras_flavour import is_tf_keras

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


def _converter_convert(make_converter, mode, examples, io_types, allow_select_tf_ops, sparsity=False):
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


_ACTIVATION_BITS = {"int8": 8, "int16x8": 16}


def _litert_recipe(mode, io_types):
    """litert-quantizer's recipe for `mode`, with float model inputs/outputs where `io_types` asks.

    Its static recipes quantize the graph's inputs and outputs too (an int8
    model input); `convert` promises float32 I/O by default, so the virtual
    INPUT/OUTPUT ops are left unquantized and the quantizer adds QUANTIZE /
    DEQUANTIZE at the boundary, as TFLiteConverter does.
    """
    from litert_quantizer import qtyping, recipe, recipe_manager

    if mode == "dynamic_range":
        return recipe.dynamic_wi8_afp32()
    manager = recipe_manager.RecipeManager()
    manager.add_static_config(
        regex=".*",
        operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
        activation_num_bits=_ACTIVATION_BITS[mode],
        weight_num_bits=8,
    )
    for operation, io_type in zip((qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT), io_types):
        if io_type == "float32":
            manager.add_quantization_config(
                regex=".*", operation_name=operation, op_config=qtyping.OpQuantizationConfig(),
                algorithm_key="no_quantize",
            )
    return manager.get_quantization_recipe()


def _litert_quantize(float_model, mode, examples, io_types=("float32", "float32")):
    from litert_quantizer import quantizer

    from tfx_ext.lite.interpreter import make_interpreter

    qt = quantizer.Quantizer(bytearray(float_model), _litert_recipe(mode, io_types))
    calibration = None
    if qt.need_calibration:  # a property
        interpreter = make_interpreter(float_model)
        signature = next(iter(interpreter.get_signature_list()))
        (input_name,) = interpreter.get_signature_list()[signature]["inputs"]
        samples = [{input_name: example[None]} for example in examples]
        # litert-quantizer draws a progress bar (stderr) and warns about its
        # debugging interpreter on every calibration: keep library output quiet.
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors.*")
            calibration = qt.calibrate({signature: samples})
    with warnings.catch_warnings():  # quantize() checks the calibration with the same interpreter
        warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors.*")
        return bytes(qt.quantize(calibration, enable_progress_report=False).quantized_model)


def _analyze(content, mode):
    from tfx_ext.lite.interpreter import make_interpreter

    # Not allocated: a model with Flex ops cannot be prepared without the Flex delegate.
    interpreter = make_interpreter(content, delegates=False, allocate=False)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    float_ops, select_ops = [], []
    sparse = [t["name"] for t in tensors.values() if t.get("sparsity_parameters")]
    for op in interpreter._get_ops_details():  # no public listing of ops
        name = op["op_name"]
        if name.startswith("Flex"):
            select_ops.append(name)
        # QUANTIZE/DEQUANTIZE sit at float boundaries; SHAPE only reads a shape.
        if mode in _INTEGER_MODES and name not in ("QUANTIZE", "DEQUANTIZE", "SHAPE"):
            dtypes = {tensors[i]["dtype"] for i in list(op["inputs"]) + list(op["outputs"]) if i in tensors}
            if np.float32 in dtypes:
                float_ops.append(f"{name}#{op['index']}")
    return float_ops, select_ops, sparse


def _warn_on_wide_normalization(model, mode, not_folded):
    """Full-integer models quantize a Normalization layer's output with one
    per-tensor scale: when its 1/std factors span orders of magnitude
    (near-constant features), most features lose their precision. Only the
    layers that could not be folded into the next layer are at risk."""
    import keras

    from tfx_ext.cloning import all_layers

    reasons = dict(not_folded)
    for layer in all_layers(model):
        if not isinstance(layer, keras.layers.Normalization) or layer.variance is None:
            continue
        if layer.name not in reasons:
            continue
        factors = 1.0 / np.maximum(np.sqrt(np.asarray(keras.ops.convert_to_numpy(layer.variance))), 1e-7)
        factors = factors.reshape(-1)
        spread = factors.max() / max(np.median(factors), 1e-12)
        if not spread <= 100:  # a NaN variance warns too
            warnings.warn(
                f"Layer '{layer.name}' scales its features by factors from {factors.min():.3g} to "
                f"{factors.max():.3g} and could not be folded into the next layer "
                f"({reasons[layer.name]}); {mode} quantizes its output with one per-tensor scale, "
                "so most features lose their precision. Use mode='dynamic_range' (float "
                "activations), or normalize the inputs outside the model. compare() shows the effect.",
                stacklevel=4,  # convert -> _integer_ready -> here
            )


def _integer_candidates(model, mode, fold):
    """`(model to convert, folded pairs)` candidates for an integer mode: one, or with
    `fold="auto"` and a foldable Normalization, the folded and the unfolded model."""
    import keras

    if isinstance(model, (str, os.PathLike)) or not isinstance(model, keras.Model):
        return [(model, [])]
    from tfx_ext.lite.integer_preparation import prepare_for_integer
    from tfx_ext.lite.normalization_folding import _has_graph

    if not _has_graph(model):  # subclassed: nothing to rewrite
        not_folded = [(layer.name, "the model is subclassed (no layer graph to rewrite)") for layer in model.layers]
        _warn_on_wide_normalization(model, mode, not_folded)
        return [(model, [])]
    prepared, folding = prepare_for_integer(model, fold=fold is not False)
    _warn_on_wide_normalization(model, mode, folding.not_folded)
    candidates = [(prepared, folding.folded)]
    if fold == "auto" and folding.folded:
        unfolded, _ = prepare_for_integer(model, fold=False)
        candidates.append((unfolded, []))
    return candidates


def _refuse_untrained_qat(model):
    """A QAT model converted before training has no ranges to use: say so, not just "no data"."""
    import keras

    from tfx_ext.cloning import all_layers
    from tfx_ext.lite.quantize_aware import QuantizeAware

    if isinstance(model, keras.Model) and any(isinstance(layer, QuantizeAware) for layer in all_layers(model)):
        raise invalid(
            "representative_data",
            "calibration inputs, or a trained QAT model: this model's quantization ranges were never "
            "learned (train it, even briefly, then convert it without data)",
            None,
        )


def _closest_to_keras(model, candidates, examples, convert_one):
    """Converts each candidate; keeps the one whose outputs on the calibration
    examples are closest to the Keras model's (mean absolute difference).

    Folding moves the Normalization's 1/std spread from one activation tensor
    into the kernel, which int8 quantizes per output channel: which of the two
    loses less depends on the model and the data, so it is measured.
    """
    from tfx_ext.lite.compare import compare

    data = np.stack(examples[:100])
    best, problems = None, []
    for candidate, folded in candidates:
        content = convert_one(candidate, examples)
        with warnings.catch_warnings():  # a non-finite candidate is reported below, once
            warnings.simplefilter("ignore", RuntimeWarning)
            report = compare(model, content, data)
        if not report.finite:  # its difference is infinite: never "closest"
            problems.append(report.nonfinite_problem())
            continue
        if best is None or report.mean_abs_diff < best[0]:
            best = (report.mean_abs_diff, content, folded)
    if best is None:
        raise ValueError(
            "Every integer conversion candidate gave NaN or infinite outputs on the calibration "
            f"examples ({'; '.join(problems)}); no model was kept."
        )
    return best[1], best[2]


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
    check_choice("mode", mode, MODES)
    if not isinstance(sparsity, bool):
        raise invalid("sparsity", "True or False", sparsity, TypeError)
    check_choice("engine", engine, ENGINES)
    check_choice("inference_input_type", inference_input_type, IO_TYPES)
    check_choice("inference_output_type", inference_output_type, IO_TYPES)
    num_calibration_samples = check_int("num_calibration_samples", num_calibration_samples, minimum=1)
    integer_io = (inference_input_type, inference_output_type) != ("float32", "float32")
    if mode == "int16x8" and integer_io:
        name, value = _integer_io(inference_input_type, inference_output_type)
        raise invalid(name, "'float32' in int16x8 mode", value)
    if mode != "int8" and integer_io:
        name, value = _integer_io(inference_input_type, inference_output_type)
        raise invalid(name, f"'float32' in {mode} mode (integer I/O needs mode='int8')", value)
    if engine == "litert_quantizer":
        if mode == "float16":
            raise invalid("engine", "'converter' for float16 (litert-quantizer has no float16 recipe)", engine)
        if "uint8" in (inference_input_type, inference_output_type):
            name = "inference_input_type" if inference_input_type == "uint8" else "inference_output_type"
            raise invalid(name, "'float32' or 'int8' with engine='litert_quantizer' (it has no uint8 I/O)", "uint8")
    if fold_normalization not in (True, False, "auto"):
        raise invalid("fold_normalization", "'auto', True or False", fold_normalization)
    input_shape, input_dtype = _input_spec(model)
    io_types = (inference_input_type, inference_output_type)

    directory = None
    if isinstance(model, (str, os.PathLike)):
        from tfx_ext.lite.saved_model_source import directory_converter

        # The directory's float conversion is checked against the SavedModel before any mode uses it.
        directory = directory_converter(
            model,
            lambda converter: _converter_convert(lambda: converter, "float32", None, None, allow_select_tf_ops),
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
                return _converter_convert(make_converter, mode, examples, io_types, allow_select_tf_ops, sparsity)
            float_model = _converter_convert(make_converter, "float32", None, None, allow_select_tf_ops, sparsity)
            return float_model if mode == "float32" else _litert_quantize(float_model, mode, examples, io_types)

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
        _refuse_untrained_qat(model)
    folded = []
    if learned:
        # The folded candidate, if any: without data there is nothing to measure them on.
        candidate, folded = _integer_candidates(model, mode, fold_normalization)[0]
        content = convert_one(candidate, None)
    elif mode in _INTEGER_MODES:
        candidates = _integer_candidates(model, mode, fold_normalization)
        examples = calibration_examples(representative_data, input_shape, input_dtype, num_calibration_samples)
        if len(candidates) == 1:
            ((candidate, folded),) = candidates
            content = convert_one(candidate, examples)
        else:
            content, folded = _closest_to_keras(model, candidates, examples, convert_one)
    else:
        content = convert_one(model, None)
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
        content, None if output_path is None else str(output_path), mode, engine, float_ops, select_ops,
        folded_normalization=folded, sparse_tensors=sparse,
    )
