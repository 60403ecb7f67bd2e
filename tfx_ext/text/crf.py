"""TFA's module path `tensorflow_addons/text/crf.py`: `tfa.text.crf.X` is `tfx_ext.text.crf.X`.

The functions live in `crf_scoring` (scores, partition function,
log-likelihood) and `crf_decoding` (Viterbi); this module holds the same
objects under TFA's name.
"""

from tfx_ext.text.crf_decoding import (
    CrfDecodeForwardRnnCell,
    crf_constrained_decode,
    crf_decode,
    crf_decode_backward,
    crf_decode_forward,
    viterbi_decode,
)
from tfx_ext.text.crf_scoring import (
    crf_binary_score,
    crf_filtered_inputs,
    crf_forward,
    crf_log_likelihood,
    crf_log_norm,
    crf_multitag_sequence_score,
    crf_sequence_score,
    crf_unary_score,
)

__all__ = [
    "CrfDecodeForwardRnnCell",
    "crf_binary_score",
    "crf_constrained_decode",
    "crf_decode",
    "crf_decode_backward",
    "crf_decode_forward",
    "crf_filtered_inputs",
    "crf_forward",
    "crf_log_likelihood",
    "crf_log_norm",
    "crf_multitag_sequence_score",
    "crf_sequence_score",
    "crf_unary_score",
    "viterbi_decode",
]
