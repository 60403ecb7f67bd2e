"""Optimizers that Keras 3 core lacks, ported from TensorFlow Addons.

`tfa.optimizers.AdaBelief`, `COCOB`, `ConditionalGradient`, `LazyAdam`,
`Lookahead`, `MovingAverage`, `NovoGrad`, `ProximalAdagrad`, `RectifiedAdam`,
`SGDW`, `AdamW`, `SWA`, `Yogi`, `AveragedOptimizerWrapper`,
`DecoupledWeightDecayExtension` and `extend_with_decoupled_weight_decay` become
`tfx_ext.optimizers.*` with the same arguments (and TFA's module paths:
`tfx_ext.optimizers.lazy_adam.LazyAdam`, ...). TFA's cyclical learning rates
live in `tfx_ext.schedules`, and are also importable from here under TFA's
path (`tfa.optimizers.CyclicalLearningRate` in TFA's tutorial);
`AverageModelCheckpoint` is in `tfx_ext.callbacks`.
Keras 3 core replaces `tfa.optimizers.LAMB` and `MultiOptimizer`
(`keras.optimizers.Lamb`, `MultiOptimizer`). `keras.optimizers.AdamW` scales
its decay by the learning rate where TFA's `AdamW` does not (see
`weight_decay_optimizers`), so `AdamW` here is TFA's.
"""

from tfx_ext.optimizers.adabelief import AdaBelief
from tfx_ext.optimizers.average_wrapper import AveragedOptimizerWrapper
from tfx_ext.optimizers.cocob import COCOB
from tfx_ext.optimizers.conditional_gradient import ConditionalGradient
from tfx_ext.optimizers.lazy_adam import LazyAdam
from tfx_ext.optimizers.lookahead import Lookahead
from tfx_ext.optimizers.moving_average import MovingAverage
from tfx_ext.optimizers.novograd import NovoGrad
from tfx_ext.optimizers.proximal_adagrad import ProximalAdagrad
from tfx_ext.optimizers.rectified_adam import RectifiedAdam
from tfx_ext.optimizers.stochastic_weight_averaging import SWA
from tfx_ext.optimizers.weight_decay_optimizers import (
    SGDW,
    AdamW,
    DecoupledWeightDecayExtension,
    extend_with_decoupled_weight_decay,
)
from tfx_ext.optimizers.yogi import Yogi
from tfx_ext.schedules.cyclical_learning_rate import (
    CyclicalLearningRate,
    ExponentialCyclicalLearningRate,
    Triangular2CyclicalLearningRate,
    TriangularCyclicalLearningRate,
)

__all__ = [
    "COCOB",
    "SGDW",
    "AdaBelief",
    "AdamW",
    "AveragedOptimizerWrapper",
    "ConditionalGradient",
    "CyclicalLearningRate",
    "DecoupledWeightDecayExtension",
    "ExponentialCyclicalLearningRate",
    "LazyAdam",
    "Lookahead",
    "MovingAverage",
    "NovoGrad",
    "ProximalAdagrad",
    "RectifiedAdam",
    "SWA",
    "Triangular2CyclicalLearningRate",
    "TriangularCyclicalLearningRate",
    "Yogi",
    "extend_with_decoupled_weight_decay",
]
