"""Encoder-decoders for Keras 3: attention, decoders, beam search (TFA's `tfa.seq2seq`).

TFA symbol -> tfx_ext: every `tfa.seq2seq.X` below is `tfx_ext.seq2seq.X`,
with TFA's signatures and semantics; port code by changing the import.
TFA's submodule paths (`tfa.seq2seq.sampler.TrainingSampler`,
`.attention_wrapper`, `.basic_decoder`, `.beam_search_decoder`, `.decoder`,
`.loss`) hold the same objects.

Backends: `tile_batch`, `gather_tree`, `gather_tree_from_array`,
`sequence_loss`/`SequenceLoss`, the samplers' math, the attention
mechanisms and the beam-search step are `keras.ops` and run on any backend.
`dynamic_decode`, `BasicDecoder`, `BeamSearchDecoder` and
`AttentionWrapper(alignment_history=True)` need the TensorFlow backend: the
decode loop is a `tf.while_loop` whose outputs grow in `tf.TensorArray`s
(the number of steps is only known when every sequence has finished).
"""

from tfx_ext.seq2seq.abstract_decoder import Decoder
from tfx_ext.seq2seq.attention_mechanism import AttentionMechanism, hardmax
from tfx_ext.seq2seq.attention_wrapper import AttentionWrapper
from tfx_ext.seq2seq.attention_wrapper_state import AttentionWrapperState
from tfx_ext.seq2seq.bahdanau_attention import BahdanauAttention
from tfx_ext.seq2seq.base_decoder import BaseDecoder
from tfx_ext.seq2seq.base_sampler import Sampler
from tfx_ext.seq2seq.basic_decoder import BasicDecoder, BasicDecoderOutput
from tfx_ext.seq2seq.beam_search_decoder import BeamSearchDecoder
from tfx_ext.seq2seq.beam_search_step import (
    BeamSearchDecoderOutput,
    BeamSearchDecoderState,
    FinalBeamSearchDecoderOutput,
)
from tfx_ext.seq2seq.dynamic_decode import dynamic_decode
from tfx_ext.seq2seq.gather_tree import gather_tree, gather_tree_from_array
from tfx_ext.seq2seq.greedy_embedding_sampler import GreedyEmbeddingSampler
from tfx_ext.seq2seq.luong_attention import LuongAttention
from tfx_ext.seq2seq.monotonic_attention import (
    BahdanauMonotonicAttention,
    LuongMonotonicAttention,
    monotonic_attention,
    safe_cumprod,
)
from tfx_ext.seq2seq.sample_embedding_sampler import SampleEmbeddingSampler
from tfx_ext.seq2seq.scheduled_samplers import (
    CustomSampler,
    InferenceSampler,
    ScheduledEmbeddingTrainingSampler,
    ScheduledOutputTrainingSampler,
)
from tfx_ext.seq2seq.sequence_loss import SequenceLoss, sequence_loss
from tfx_ext.seq2seq.tile_batch import tile_batch
from tfx_ext.seq2seq.training_sampler import TrainingSampler

# TFA's module paths (`tfa.seq2seq.sampler.TrainingSampler`, ...), imported
# last: each holds the objects above under TFA's module name.
from tfx_ext.seq2seq import (  # noqa: E402
    attention_wrapper,
    basic_decoder,
    beam_search_decoder,
    decoder,
    loss,
    sampler,
)

# Result containers (namedtuples) are importable but not in __all__: they are
# data, not components with arguments to validate.
__all__ = [
    "AttentionWrapper",
    "BahdanauAttention",
    "BahdanauMonotonicAttention",
    "BasicDecoder",
    "BeamSearchDecoder",
    "CustomSampler",
    "GreedyEmbeddingSampler",
    "InferenceSampler",
    "LuongAttention",
    "LuongMonotonicAttention",
    "SampleEmbeddingSampler",
    "ScheduledEmbeddingTrainingSampler",
    "ScheduledOutputTrainingSampler",
    "SequenceLoss",
    "TrainingSampler",
    "dynamic_decode",
    "gather_tree",
    "gather_tree_from_array",
    "monotonic_attention",
    "safe_cumprod",
    "sequence_loss",
    "tile_batch",
]
