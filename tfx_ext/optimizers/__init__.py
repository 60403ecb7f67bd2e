"""Optimizers that Keras 3 core lacks, ported from TensorFlow Addons.

`tfa.optimizers.RectifiedAdam`, `Lookahead`, `SWA` and `Yogi` become
`tfx_ext.optimizers.*` with the same arguments. TFA's cyclical learning rates
live in `tfx_ext.schedules`, and are also importable from here under TFA's
path (`tfa.optimizers.CyclicalLearningRate` in TFA's tutorial);
`AverageModelCheckpoint` is in `tfx_ext.callbacks`.
Keras 3 core replaces `tfa.optimizers.AdamW`, `LAMB`, `MultiOptimizer`
(`keras.optimizers.AdamW`, `Lamb`, `MultiOptimizer`) and `MovingAverage`
(`use_ema=True` on any optimizer).
"""

from tfx_ext.optimizers.lookahead import Lookahead
from tfx_ext.optimizers.rectified_adam import RectifiedAdam
from tfx_ext.optimizers.stochastic_weight_averaging import SWA
from tfx_ext.optimizers.yogi import Yogi
from tfx_ext.schedules.cyclical_learning_rate import (
    CyclicalLearningRate,
    ExponentialCyclicalLearningRate,
    Triangular2CyclicalLearningRate,
    TriangularCyclicalLearningRate,
)

__all__ = [
    "CyclicalLearningRate",
    "ExponentialCyclicalLearningRate",
    "Lookahead",
    "RectifiedAdam",
    "SWA",
    "Triangular2CyclicalLearningRate",
    "TriangularCyclicalLearningRate",
    "Yogi",
]
