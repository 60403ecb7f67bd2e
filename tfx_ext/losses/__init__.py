"""Keras 3 losses that Keras core lacks (several replace TensorFlow Addons losses).

The function forms are registered too, so a model compiled with
`loss=tfx_ext.losses.pinball_loss` (or `contrastive_loss`, `huber_loss`,
`triplet_semihard_loss`, `triplet_hard_loss`, `giou_loss`, `lifted_struct_loss`,
`npairs_loss`, `npairs_multilabel_loss`, `sparsemax_loss_from_logits`) reloads
after `import tfx_ext`.

`tfa.losses.SigmoidFocalCrossEntropy` is `keras.losses.BinaryFocalCrossentropy`:
use Keras's.
"""

from tfx_ext.losses.contrastive import ContrastiveLoss, contrastive_loss
from tfx_ext.losses.giou import GIoULoss, giou_loss
from tfx_ext.losses.huber import HuberLoss, huber_loss
from tfx_ext.losses.kappa import WeightedKappaLoss
from tfx_ext.losses.lifted import LiftedStructLoss, lifted_struct_loss
from tfx_ext.losses.npairs import (
    NpairsLoss,
    NpairsMultilabelLoss,
    npairs_loss,
    npairs_multilabel_loss,
)
from tfx_ext.losses.pinball import PinballLoss, pinball_loss
from tfx_ext.losses.sampled_softmax import SampledSoftmaxLoss
from tfx_ext.losses.sparsemax_loss import SparsemaxLoss, sparsemax_loss, sparsemax_loss_from_logits
from tfx_ext.losses.triplet import TripletSemiHardLoss, triplet_semihard_loss
from tfx_ext.losses.triplet_hard import TripletHardLoss, triplet_hard_loss

__all__ = [
    "ContrastiveLoss",
    "GIoULoss",
    "HuberLoss",
    "LiftedStructLoss",
    "NpairsLoss",
    "NpairsMultilabelLoss",
    "PinballLoss",
    "SampledSoftmaxLoss",
    "SparsemaxLoss",
    "TripletHardLoss",
    "TripletSemiHardLoss",
    "WeightedKappaLoss",
    "contrastive_loss",
    "giou_loss",
    "huber_loss",
    "lifted_struct_loss",
    "npairs_loss",
    "npairs_multilabel_loss",
    "pinball_loss",
    "sparsemax_loss",
    "sparsemax_loss_from_logits",
    "triplet_hard_loss",
    "triplet_semihard_loss",
]
