"""Custom training loop engine: optimizers per part, checkpoints, tf.distribute.

`Trainer` replaces the hand-written loop of "Hands-On ML" ch. 12 and 19.
Keras 3 core provides the pieces it builds on: `keras.optimizers.MultiOptimizer`
(replaces `tfa.optimizers.MultiOptimizer`), `keras.callbacks.CallbackList`,
`keras.utils.Progbar`.
"""

from tfx_ext.training.checkpointing import TrainingCheckpoint
from tfx_ext.training.data import TrainingData
from tfx_ext.training.non_finite import NonFiniteLossError
from tfx_ext.training.optimizer_mapping import assign_optimizers, build_optimizer
from tfx_ext.training.trainer import Trainer

__all__ = [
    "NonFiniteLossError",
    "Trainer",
    "TrainingCheckpoint",
    "TrainingData",
    "assign_optimizers",
    "build_optimizer",
]
