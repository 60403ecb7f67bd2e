"""tfmot's `tensorflow_model_optimization.quantization.keras` names, the objects of `tfx_ext.lite`.

Not provided yet on Keras 3 models (see the README, TFLite section):
`QuantizeConfig`, `quantizers`, `default_8bit` and the other schemes.
"""

from tfx_ext.lite.quantization_api import (
    quantize_annotate_layer,
    quantize_annotate_model,
    quantize_apply,
    quantize_model,
    quantize_scope,
)

__all__ = [
    "quantize_annotate_layer",
    "quantize_annotate_model",
    "quantize_apply",
    "quantize_model",
    "quantize_scope",
]
