"""Learning-rate schedules that Keras core lacks."""

from tfx_ext.schedules.cyclical_learning_rate import (
    CyclicalLearningRate,
    ExponentialCyclicalLearningRate,
    Triangular2CyclicalLearningRate,
    TriangularCyclicalLearningRate,
)
from tfx_ext.schedules.one_cycle import OneCycle

__all__ = [
    "CyclicalLearningRate",
    "ExponentialCyclicalLearningRate",
    "OneCycle",
    "Triangular2CyclicalLearningRate",
    "TriangularCyclicalLearningRate",
]
