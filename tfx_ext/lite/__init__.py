"""TFLite (LiteRT): conversion, quantization, QAT, and parity with the Keras model."""

from tfx_ext.lite.compare import ParityReport, compare
from tfx_ext.lite.convert import ConversionResult, convert

__all__ = ["ConversionResult", "ParityReport", "compare", "convert"]
