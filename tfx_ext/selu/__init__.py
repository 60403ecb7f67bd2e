"""Self-normalizing nets: builder, condition checker, activation statistics."""

from tfx_ext.selu.self_normalizing import (
    LayerStatistics,
    SelfNormalizationError,
    SelfNormalizingReport,
    Violation,
    activation_statistics,
    adapt_normalization,
    check_self_normalizing,
    plot_activation_statistics,
    self_normalizing_mlp,
)

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
