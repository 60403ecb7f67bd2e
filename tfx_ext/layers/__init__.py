"""Keras 3 layers that Keras core lacks (several replace TensorFlow Addons layers)."""

from tfx_ext.layers.correlation_cost import CorrelationCost
from tfx_ext.layers.crf import CRF
from tfx_ext.layers.dense_transpose import DenseTranspose
from tfx_ext.layers.embedding_bag import EmbeddingBag
from tfx_ext.layers.esn import ESN
from tfx_ext.layers.filter_response_normalization import FilterResponseNormalization
from tfx_ext.layers.instance_normalization import InstanceNormalization
from tfx_ext.layers.latent_kl_divergence import LatentKLDivergence
from tfx_ext.layers.max_unpooling import MaxUnpooling2D, MaxUnpooling2DV2
from tfx_ext.layers.maxout import Maxout
from tfx_ext.layers.mc_dropout import (
    MCAlphaDropout,
    MCDropout,
    MCSpatialDropout1D,
    MCSpatialDropout2D,
)
from tfx_ext.layers.minibatch_standard_deviation import MinibatchStandardDeviation
from tfx_ext.layers.noisy_dense import NoisyDense
from tfx_ext.layers.poincare import PoincareNormalize
from tfx_ext.layers.polynomial import PolynomialCrossing
from tfx_ext.layers.sampling import Sampling
from tfx_ext.layers.snake import Snake
from tfx_ext.layers.sparsemax import Sparsemax
from tfx_ext.layers.spatial_pyramid_pooling import SpatialPyramidPooling2D
from tfx_ext.layers.squeeze_excitation import SqueezeExcitation
from tfx_ext.layers.stochastic_depth import StochasticDepth
from tfx_ext.layers.tlu import TLU
from tfx_ext.layers.weight_normalization import WeightNormalization

__all__ = [
    "ESN",
    "CRF",
    "DenseTranspose",
    "LatentKLDivergence",
    "CorrelationCost",
    "EmbeddingBag",
    "FilterResponseNormalization",
    "InstanceNormalization",
    "MCAlphaDropout",
    "MCDropout",
    "MCSpatialDropout1D",
    "MCSpatialDropout2D",
    "MaxUnpooling2D",
    "MaxUnpooling2DV2",
    "Maxout",
    "MinibatchStandardDeviation",
    "Sampling",
    "NoisyDense",
    "PoincareNormalize",
    "PolynomialCrossing",
    "Snake",
    "Sparsemax",
    "SpatialPyramidPooling2D",
    "SqueezeExcitation",
    "StochasticDepth",
    "TLU",
    "WeightNormalization",
]
