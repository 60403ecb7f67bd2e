"""Text ops for Keras 3: the linear-chain CRF (TFA's `tfa.text`).

TFA symbol -> tfx_ext: every `tfa.text.X` below is `tfx_ext.text.X`, with
TFA's argument names, defaults and results; `tfa.text.crf.X` and
`tfa.text.crf_wrapper.CRFModelWrapper` keep their module paths. The CRF layer
is `tfx_ext.layers.CRF` (TFA's `tfa.layers.CRF`). Keras 3 core has no CRF.

Backends: the scores, `crf_log_norm`, `crf_log_likelihood` and the Viterbi
decoders are `keras.ops` (`keras.ops.scan` over time) and run on every
backend; `viterbi_decode` is NumPy. `CRFModelWrapper` trains through its own
`train_step` with `tf.GradientTape` (as TFA's), so it needs the TensorFlow
backend.
"""

from tfx_ext.text import crf, crf_wrapper  # noqa: F401  (TFA's module paths)
from tfx_ext.text.crf import (
    CrfDecodeForwardRnnCell,
    crf_binary_score,
    crf_constrained_decode,
    crf_decode,
    crf_decode_backward,
    crf_decode_forward,
    crf_filtered_inputs,
    crf_forward,
    crf_log_likelihood,
    crf_log_norm,
    crf_multitag_sequence_score,
    crf_sequence_score,
    crf_unary_score,
    viterbi_decode,
)
from tfx_ext.text.crf_wrapper import CRFModelWrapper

__all__ = [
    "CRFModelWrapper",
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
