"""SavedModel packaging for TF Serving: signatures, atomic versions, warmup, configs."""

from tfx_ext.export.inspect import SignatureInfo, TensorInfo, format_signatures, inspect_saved_model
from tfx_ext.export.model_config import (
    ModelEntry,
    model_server_config,
    read_model_config,
    write_batching_config,
    write_model_config,
)
from tfx_ext.export.serving_export import export_for_serving
from tfx_ext.export.versions import existing_versions, next_version, remove_stale_staging
from tfx_ext.export.warmup import read_warmup, replay_warmup

__all__ = [
    "ModelEntry",
    "SignatureInfo",
    "TensorInfo",
    "existing_versions",
    "export_for_serving",
    "format_signatures",
    "inspect_saved_model",
    "model_server_config",
    "next_version",
    "read_model_config",
    "read_warmup",
    "remove_stale_staging",
    "replay_warmup",
    "write_batching_config",
    "write_model_config",
]
