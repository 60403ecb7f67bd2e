"""tfmot's `tensorflow_model_optimization.sparsity.keras` path, with the same names.

So that `import tfx_ext as tfmot` keeps `tfmot.sparsity.keras.prune_low_magnitude`
(and the rest of that module's public names) working unchanged.
"""

from tfx_ext.sparsity.callbacks import PruningSummaries, UpdatePruningStep
from tfx_ext.sparsity.model_pruning import prune_low_magnitude, strip_pruning
from tfx_ext.sparsity.prunable_layers import PrunableLayer
from tfx_ext.sparsity.prune_scope import prune_scope
from tfx_ext.sparsity.pruning_policy import PruneForLatencyOnXNNPack, PruningPolicy
from tfx_ext.sparsity.pruning_schedule import ConstantSparsity, PolynomialDecay, PruningSchedule

__all__ = [
    "ConstantSparsity",
    "PolynomialDecay",
    "PrunableLayer",
    "PruneForLatencyOnXNNPack",
    "PruningPolicy",
    "PruningSchedule",
    "PruningSummaries",
    "UpdatePruningStep",
    "prune_low_magnitude",
    "prune_scope",
    "strip_pruning",
]
