"""Old import path of `SampledSoftmaxLoss`, an output layer that lives in `tfx_ext.layers.sampled_softmax`."""

from tfx_ext.layers.sampled_softmax import SampledSoftmaxLoss

__all__ = ["SampledSoftmaxLoss"]
