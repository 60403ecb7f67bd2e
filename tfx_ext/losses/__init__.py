"""Keras 3 losses that Keras core lacks (several replace TensorFlow Addons losses)."""

from tfx_ext.losses.contrastive import ContrastiveLoss, contrastive_loss
from tfx_ext.losses.pinball import PinballLoss, pinball_loss
from tfx_ext.losses.sampled_softmax import SampledSoftmaxLoss
from tfx_ext.losses.triplet import TripletSemiHardLoss, triplet_semihard_loss

__all__ = [
    "ContrastiveLoss",
    "PinballLoss",
    "SampledSoftmaxLoss",
    "TripletSemiHardLoss",
    "contrastive_loss",
    "pinball_loss",
    "triplet_semihard_loss",
]
