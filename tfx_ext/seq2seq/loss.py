"""TFA's module `tfa.seq2seq.loss`: `SequenceLoss` and `sequence_loss`.

The same objects as `tfx_ext.seq2seq.X` (defined in `sequence_loss.py`).
"""

from tfx_ext.seq2seq.sequence_loss import SequenceLoss, sequence_loss

__all__ = ["SequenceLoss", "sequence_loss"]
