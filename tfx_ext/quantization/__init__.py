"""tfmot's `tensorflow_model_optimization.quantization` path (`import tfx_ext as tfmot`).

The QAT components live in `tfx_ext.lite`; `tfx_ext.quantization.keras`
names them as tfmot's `quantization.keras` does, so tfmot's guides run with
only the import changed.
"""

from tfx_ext.quantization import keras

__all__ = ["keras"]
