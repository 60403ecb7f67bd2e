"""Optimizers that Keras 3 core lacks, ported from TensorFlow Addons.

`tfa.optimizers.RectifiedAdam`, `Lookahead`, `SWA` and `Yogi` become
`tfx_ext.optimizers.*` with the same arguments. TFA's cyclical learning rates
are in `tfx_ext.schedules`; `AverageModelCheckpoint` is in `tfx_ext.callbacks`.
Keras 3 core replaces `tfa.optimizers.AdamW`, `LAMB`, `MultiOptimizer`
(`keras.optimizers.AdamW`, `Lamb`, `MultiOptimizer`) and `MovingAverage`
(`use_ema=True` on any optimizer).
"""

from tfx_ext.optimizers.lookahead import Lookahead
from tfx_ext.optimizers.rectified_adam import RectifiedAdam
from tfx_ext.optimizers.stochastic_weight_averaging import SWA
from tfx_ext.optimizers.yogi import Yogi

__all__ = ["Lookahead", "RectifiedAdam", "SWA", "Yogi"]
