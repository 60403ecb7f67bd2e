"""TFLite (LiteRT): conversion, quantization, QAT, and parity with the Keras model."""

from tfx_ext.lite.compare import ParityReport, compare
from tfx_ext.lite.convert import ConversionResult, convert
from tfx_ext.lite.normalization_folding import FoldingResult, fold_normalization
from tfx_ext.lite.quantization_api import (
    QuantizeAnnotate,
    quantize_annotate_layer,
    quantize_annotate_model,
    quantize_apply,
    quantize_model,
    quantize_scope,
)
from tfx_ext.lite.quantize_aware import QuantizeAware, has_learned_ranges, quantize_aware

__all__ = [
    "ConversionResult",
    "FoldingResult",
    "ParityReport",
    "QuantizeAnnotate",
    "QuantizeAware",
    "compare",
    "convert",
    "fold_normalization",
    "has_learned_ranges",
    "quantize_annotate_layer",
    "quantize_annotate_model",
    "quantize_apply",
    "quantize_aware",
    "quantize_model",
    "quantize_scope",
]
