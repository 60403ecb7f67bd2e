"""Keras 3 callbacks that Keras core lacks."""

from tfx_ext.callbacks.average_model_checkpoint import AverageModelCheckpoint
from tfx_ext.callbacks.learning_rate_finder import LearningRateFinder
from tfx_ext.callbacks.time_stopping import TimeStopping
from tfx_ext.callbacks.tqdm_progress_bar import TQDMProgressBar

__all__ = ["AverageModelCheckpoint", "LearningRateFinder", "TQDMProgressBar", "TimeStopping"]
