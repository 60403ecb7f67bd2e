"""TFLite (LiteRT): conversion, quantization, QAT, and parity with the Keras model."""

from tfx_ext.lite.compare import ParityReport, compare
from tfx_ext.lite.convert import ConversionResult, convert
from tfx_ext.lite.normalization_folding import FoldingResult, fold_normalization
from tfx_ext.lite.quantize_aware import QuantizeAware, quantize_aware

__all__ = [
    "ConversionResult",
    "FoldingResult",
    "ParityReport",
    "QuantizeAware",
    "compare",
    "convert",
    "fold_normalization",
    "quantize_aware",
]
