"""Echo State Network layer (TFA's `tfa.layers.ESN`): `keras.layers.RNN` over an `ESNCell`."""

import keras

from tfx_ext.rnn.esn_cell import ESNCell

_CELL_ARGS = (
    "units",
    "connectivity",
    "leaky",
    "spectral_radius",
    "use_norm2",
    "use_bias",
    "activation",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
)


@keras.saving.register_keras_serializable(package="tfx_ext")
class ESN(keras.layers.RNN):
    """Echo State Network layer (Jaeger 2001): an RNN over `tfx_ext.rnn.ESNCell`, TFA's arguments.

    Args:
        units, connectivity, leaky, spectral_radius, use_norm2, use_bias, activation,
        kernel_initializer, recurrent_initializer, bias_initializer: as `ESNCell`.
        return_sequences: Return the whole output sequence (default: the last output).
        go_backwards: Process the sequence backwards (and return it reversed).
        unroll: Unroll the recurrence (short sequences only).
        **kwargs: `keras.layers.RNN` keyword arguments (`return_state`, `stateful`, ...).

    Call arguments:
        inputs: `[batch, time, features]`.
        mask: `[batch, time]` booleans: masked steps keep the previous state.
        training: Passed to the cell.
        initial_state: The initial reservoir state, `[batch, units]`.

    Example:

    >>> ESN(3)(np.ones((2, 5, 4), "float32")).shape
    (2, 3)
    """

    def __init__(
        self,
        units,
        connectivity=0.1,
        leaky=1,
        spectral_radius=0.9,
        use_norm2=False,
        use_bias=True,
        activation="tanh",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="glorot_uniform",
        bias_initializer="zeros",
        return_sequences=False,
        go_backwards=False,
        unroll=False,
        **kwargs,
    ):
        cell = ESNCell(
            units,
            connectivity=connectivity,
            leaky=leaky,
            spectral_radius=spectral_radius,
            use_norm2=use_norm2,
            use_bias=use_bias,
            activation=activation,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            dtype=kwargs.get("dtype"),
            name="esn_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            go_backwards=go_backwards,
            unroll=unroll,
            **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        cell_config = self.cell.get_config()
        del config["cell"]
        return {**config, **{name: cell_config[name] for name in _CELL_ARGS}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _cell_property(name):
    return property(
        lambda self: getattr(self.cell, name), doc=f"The cell's `{name}` (read-only), as TFA's."
    )


for _name in _CELL_ARGS:  # ESN(...).units etc. read the cell's, as TFA's properties
    setattr(ESN, _name, _cell_property(_name))
del _name
