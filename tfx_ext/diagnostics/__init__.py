"""Diagnostics from "Hands-On ML": gradient check, memory estimates, FCN conversion."""

from tfx_ext.diagnostics.fully_convolutional import dense_head_to_convolutions
from tfx_ext.diagnostics.gradient_check import check_gradients
from tfx_ext.diagnostics.memory import MemoryEstimate, estimate_memory

__all__ = ["MemoryEstimate", "check_gradients", "dense_head_to_convolutions", "estimate_memory"]
