"""Keras 3 layers that Keras core lacks (several replace TensorFlow Addons layers)."""

from tfx_ext.layers.crf import CRF
from tfx_ext.layers.dense_transpose import DenseTranspose
from tfx_ext.layers.maxout import Maxout
from tfx_ext.layers.mc_dropout import (
    MCAlphaDropout,
    MCDropout,
    MCSpatialDropout1D,
    MCSpatialDropout2D,
)
from tfx_ext.layers.squeeze_excitation import SqueezeExcitation
from tfx_ext.layers.stochastic_depth import StochasticDepth
from tfx_ext.layers.weight_normalization import WeightNormalization

__all__ = [
    "CRF",
    "DenseTranspose",
    "MCAlphaDropout",
    "MCDropout",
    "MCSpatialDropout1D",
    "MCSpatialDropout2D",
    "Maxout",
    "SqueezeExcitation",
    "StochasticDepth",
    "WeightNormalization",
]
