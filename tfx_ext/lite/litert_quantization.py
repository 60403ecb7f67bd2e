"""Quantizing a float TFLite model with litert-quantizer recipes (`convert(engine="litert_quantizer")`)."""

import contextlib
import io
import warnings

_ACTIVATION_BITS = {"int8": 8, "int16x8": 16}


def litert_recipe(mode, io_types):
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
    for operation, io_type in zip(
        (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT), io_types
    ):
        if io_type == "float32":
            manager.add_quantization_config(
                regex=".*",
                operation_name=operation,
                op_config=qtyping.OpQuantizationConfig(),
                algorithm_key="no_quantize",
            )
    return manager.get_quantization_recipe()


def litert_quantize(float_model, mode, examples, io_types=("float32", "float32")):
    from litert_quantizer import quantizer

    from tfx_ext.lite.interpreter import make_interpreter

    qt = quantizer.Quantizer(bytearray(float_model), litert_recipe(mode, io_types))
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
