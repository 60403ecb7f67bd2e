"""Recurrent cells Keras 3 core lacks (TFA's `tfa.rnn`).

TFA symbol -> tfx_ext: `tfa.rnn.LayerNormLSTMCell` -> `tfx_ext.rnn.LayerNormLSTMCell`,
`tfa.rnn.LayerNormSimpleRNNCell` -> `tfx_ext.rnn.LayerNormSimpleRNNCell`. Pure
`keras.ops`: they run on every backend.
"""

from tfx_ext.rnn.layer_norm_lstm_cell import LayerNormLSTMCell
from tfx_ext.rnn.layer_norm_simple_rnn_cell import LayerNormSimpleRNNCell

__all__ = ["LayerNormLSTMCell", "LayerNormSimpleRNNCell"]
