"""TFA's module `tfa.seq2seq.decoder`: `Decoder`, `BaseDecoder` and `dynamic_decode`.

The same objects as `tfx_ext.seq2seq.X`: `Decoder` is the abstract, non-Keras
decoder interface; `BaseDecoder` the Keras-layer one; `dynamic_decode` runs either.
"""

from tfx_ext.seq2seq.abstract_decoder import Decoder
from tfx_ext.seq2seq.base_decoder import BaseDecoder
from tfx_ext.seq2seq.dynamic_decode import dynamic_decode

__all__ = ["BaseDecoder", "Decoder", "dynamic_decode"]
