"""Hyperparameter search with keras-tuner (imported only when this package is)."""

from tfx_ext.tuning.hypermodels import ACTIVATIONS, OPTIMIZERS, CNNHyperModel, MLPHyperModel
from tfx_ext.tuning.search import TUNERS, SearchResult, search

__all__ = [
    "ACTIVATIONS",
    "CNNHyperModel",
    "MLPHyperModel",
    "OPTIMIZERS",
    "SearchResult",
    "TUNERS",
    "search",
]
