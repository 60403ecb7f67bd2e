"""Keras 3 regularizers that Keras core lacks.

Keras core has `L1`, `L2`, `L1L2` and `OrthogonalRegularizer`: use those.
"""

from tfx_ext.regularizers.kl_divergence import KLDivergenceRegularizer

__all__ = ["KLDivergenceRegularizer"]
