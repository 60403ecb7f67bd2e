"""Magnitude pruning for Keras 3 models (native) and tf_keras models (through tfmot).

Same names and meaning as `tensorflow_model_optimization.sparsity.keras`:
`prune_low_magnitude`, `ConstantSparsity`, `PolynomialDecay`,
`UpdatePruningStep`, `PruningSummaries`, `strip_pruning`, `PrunableLayer`,
`PruningPolicy`, `PruneForLatencyOnXNNPack`, `prune_scope` (accepted, not
needed). `tfx_ext.sparsity.keras` is tfmot's `sparsity.keras` path: with
`import tfx_ext as tfmot`, `tfmot.sparsity.keras.prune_low_magnitude` works.
"""

from tfx_ext.sparsity.callbacks import PruningSummaries, UpdatePruningStep
from tfx_ext.sparsity.model_pruning import (
    is_tf_keras,
    prune_low_magnitude,
    pruning_wrappers,
    strip_pruning,
)
from tfx_ext.sparsity.prunable_layers import PrunableLayer, is_prunable, prunable_weights
from tfx_ext.sparsity.prune_low_magnitude import PruneLowMagnitude
from tfx_ext.sparsity.prune_scope import prune_scope
from tfx_ext.sparsity.pruning_policy import PruneForLatencyOnXNNPack, PruningPolicy
from tfx_ext.sparsity.pruning_schedule import ConstantSparsity, PolynomialDecay, PruningSchedule
from tfx_ext.sparsity.report import (
    LayerSparsity,
    SparsityReport,
    sparsity_report,
    zero_small_weights,
)

# After every name it re-exports: tfmot's `sparsity.keras` module path.
from tfx_ext.sparsity import keras  # noqa: E402

__all__ = [
    "ConstantSparsity",
    "LayerSparsity",
    "PolynomialDecay",
    "PrunableLayer",
    "PruneForLatencyOnXNNPack",
    "PruneLowMagnitude",
    "PruningPolicy",
    "PruningSchedule",
    "PruningSummaries",
    "SparsityReport",
    "UpdatePruningStep",
    "is_prunable",
    "is_tf_keras",
    "prunable_weights",
    "prune_low_magnitude",
    "prune_scope",
    "pruning_wrappers",
    "sparsity_report",
    "strip_pruning",
    "zero_small_weights",
]
