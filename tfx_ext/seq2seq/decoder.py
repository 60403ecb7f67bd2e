"""TFA's module `tfa.seq2seq.decoder`: `BaseDecoder` and `dynamic_decode`.

The same objects as `tfx_ext.seq2seq.X`. TFA's `Decoder` (the abstract,
non-Keras decoder interface) has no counterpart: `dynamic_decode` runs a
`BaseDecoder`, whose `initialize`/`step`/`finalize` are that interface.
"""

from tfx_ext.seq2seq.base_decoder import BaseDecoder
from tfx_ext.seq2seq.dynamic_decode import dynamic_decode

__all__ = ["BaseDecoder", "dynamic_decode"]
