"""Self-normalizing nets: builder, condition checker, activation statistics, plot (one module each)."""

from tfx_ext.selu.builder import adapt_normalization, self_normalizing_mlp
from tfx_ext.selu.checker import (
    SelfNormalizationError,
    SelfNormalizingReport,
    Violation,
    check_self_normalizing,
)
from tfx_ext.selu.plot import plot_activation_statistics
from tfx_ext.selu.statistics import LayerStatistics, activation_statistics

__all__ = [
    "LayerStatistics",
    "SelfNormalizationError",
    "SelfNormalizingReport",
    "Violation",
    "activation_statistics",
    "adapt_normalization",
    "check_self_normalizing",
    "plot_activation_statistics",
    "self_normalizing_mlp",
]
