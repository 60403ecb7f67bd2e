"""Recurrent cells Keras 3 core lacks (TFA's `tfa.rnn`).

TFA symbol -> tfx_ext: `tfa.rnn.LayerNormLSTMCell` -> `tfx_ext.rnn.LayerNormLSTMCell`,
`tfa.rnn.LayerNormSimpleRNNCell` -> `tfx_ext.rnn.LayerNormSimpleRNNCell`,
`tfa.rnn.PeepholeLSTMCell` -> `tfx_ext.rnn.PeepholeLSTMCell`, `tfa.rnn.NASCell` ->
`tfx_ext.rnn.NASCell`, `tfa.rnn.ESNCell` -> `tfx_ext.rnn.ESNCell` (and `tfa.layers.ESN` ->
`tfx_ext.layers.ESN`).
"Hands-On ML" ch. 15's hand-written `LNSimpleRNNCell` (normalization with
centering, epsilon 1e-3, before the activation; bias before it) ->
`tfx_ext.rnn.LNSimpleRNNCell`: a different function from TFA's cell. Pure
`keras.ops`: they run on every backend.
"""

from tfx_ext.rnn.esn_cell import ESNCell
from tfx_ext.rnn.layer_norm_lstm_cell import LayerNormLSTMCell
from tfx_ext.rnn.layer_norm_simple_rnn_cell import LayerNormSimpleRNNCell
from tfx_ext.rnn.ln_simple_rnn_cell import LNSimpleRNNCell
from tfx_ext.rnn.nas_cell import NASCell
from tfx_ext.rnn.peephole_lstm_cell import PeepholeLSTMCell

__all__ = [
    "ESNCell",
    "LNSimpleRNNCell",
    "LayerNormLSTMCell",
    "LayerNormSimpleRNNCell",
    "NASCell",
    "PeepholeLSTMCell",
]
