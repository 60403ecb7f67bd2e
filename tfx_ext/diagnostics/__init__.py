"""Diagnostics from "Hands-On ML": gradient checks (more in later releases)."""

from tfx_ext.diagnostics.gradient_check import check_gradients

__all__ = ["check_gradients"]
