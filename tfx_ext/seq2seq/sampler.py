"""TFA's module `tfa.seq2seq.sampler`: the sampler protocol and the samplers.

The same objects as `tfx_ext.seq2seq.X`; each lives in its own module
(`base_sampler`, `training_sampler`, `scheduled_samplers`, ...).
"""

from tfx_ext.seq2seq.base_sampler import Sampler
from tfx_ext.seq2seq.greedy_embedding_sampler import GreedyEmbeddingSampler
from tfx_ext.seq2seq.sample_embedding_sampler import SampleEmbeddingSampler
from tfx_ext.seq2seq.scheduled_samplers import (
    CustomSampler,
    InferenceSampler,
    ScheduledEmbeddingTrainingSampler,
    ScheduledOutputTrainingSampler,
    bernoulli_sample,
    categorical_sample,
)
from tfx_ext.seq2seq.training_sampler import TrainingSampler

__all__ = [
    "CustomSampler",
    "GreedyEmbeddingSampler",
    "InferenceSampler",
    "SampleEmbeddingSampler",
    "Sampler",
    "ScheduledEmbeddingTrainingSampler",
    "ScheduledOutputTrainingSampler",
    "TrainingSampler",
    "bernoulli_sample",
    "categorical_sample",
]
