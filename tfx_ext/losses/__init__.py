"""Keras 3 losses that Keras core lacks (several replace TensorFlow Addons losses).

The function forms are registered too, so a model compiled with
`loss=tfx_ext.losses.pinball_loss` (or `contrastive_loss`, `huber_loss`,
`triplet_semihard_loss`, `triplet_hard_loss`) reloads after `import tfx_ext`.
"""

from tfx_ext.losses.contrastive import ContrastiveLoss, contrastive_loss
from tfx_ext.losses.huber import HuberLoss, huber_loss
from tfx_ext.losses.pinball import PinballLoss, pinball_loss
from tfx_ext.losses.sampled_softmax import SampledSoftmaxLoss
from tfx_ext.losses.triplet import TripletSemiHardLoss, triplet_semihard_loss
from tfx_ext.losses.triplet_hard import TripletHardLoss, triplet_hard_loss

__all__ = [
    "ContrastiveLoss",
    "HuberLoss",
    "PinballLoss",
    "SampledSoftmaxLoss",
    "TripletHardLoss",
    "TripletSemiHardLoss",
    "contrastive_loss",
    "huber_loss",
    "pinball_loss",
    "triplet_hard_loss",
    "triplet_semihard_loss",
]
