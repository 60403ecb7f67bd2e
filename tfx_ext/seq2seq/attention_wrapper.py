"""`AttentionWrapper`: an RNN cell that attends over a memory (TFA's `tfa.seq2seq.AttentionWrapper`).

The cell math is `keras.ops`; `alignment_history=True` keeps a
`tf.TensorArray` (TensorFlow backend), as TFA did.

This is also TFA's module path `tfa.seq2seq.attention_wrapper`: the
mechanisms, the state and `hardmax` are importable from here (the same
objects as `tfx_ext.seq2seq.X`). TFA's monotonic attention
(`BahdanauMonotonicAttention`, `LuongMonotonicAttention`,
`monotonic_attention`, `safe_cumprod`) is not provided.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int, invalid
from tfx_ext._core.checkpoint_tracking import track_in_checkpoint
from tfx_ext.seq2seq.attention_mechanism import AttentionMechanism, hardmax
from tfx_ext.seq2seq.attention_wrapper_state import AttentionWrapperState
from tfx_ext.seq2seq.bahdanau_attention import BahdanauAttention
from tfx_ext.seq2seq.base_decoder import call_layer
from tfx_ext.seq2seq.base_sampler import deserialize_callable, serialize_callable
from tfx_ext.seq2seq.luong_attention import LuongAttention
from tfx_ext.seq2seq.monotonic_attention import (  # TFA's module path
    BahdanauMonotonicAttention,
    LuongMonotonicAttention,
    monotonic_attention,
    safe_cumprod,
)

__all__ = [
    "AttentionMechanism",
    "AttentionWrapper",
    "AttentionWrapperState",
    "BahdanauAttention",
    "BahdanauMonotonicAttention",
    "LuongAttention",
    "LuongMonotonicAttention",
    "hardmax",
    "monotonic_attention",
    "safe_cumprod",
]


def _concat_inputs(inputs, attention):
    return ops.concatenate([inputs, attention], axis=-1)


def _one_per_mechanism(argument, value, kind, mechanisms):
    """`value` as a list (a single one is wrapped), refused unless it has one `kind` per mechanism."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) != len(mechanisms):
        raise ValueError(
            f"If provided, {argument} must contain exactly one {kind} per "
            f"attention_mechanism, saw: {len(values)} vs {len(mechanisms)}"
        )
    return values


def compute_attention(attention_mechanism, cell_output, attention_state, attention_layer):
    """Alignments, context (alignment-weighted values) and attention (context or attention_layer([cell_output, context]))."""
    alignments, next_attention_state = attention_mechanism([cell_output, attention_state])
    context = ops.squeeze(ops.matmul(alignments[:, None, :], attention_mechanism.values), axis=1)
    if attention_layer is not None:
        attention = attention_layer(ops.concatenate([cell_output, context], axis=1))
    else:
        attention = context
    return attention, alignments, next_attention_state


@keras.saving.register_keras_serializable(package="tfx_ext")
class AttentionWrapper(keras.layers.Layer):
    """Wraps an RNN cell with attention.

    Each step: the input is concatenated with the previous attention
    (`cell_input_fn`), the cell runs, its output queries each mechanism,
    the context (alignment-weighted memory) goes through the attention layer
    (`Dense(attention_layer_size, use_bias=False)` on `[cell_output,
    context]`) when one is set, and the attention is both the output
    (`output_attention=True`, Luong style) and fed to the next step.

    With `BeamSearchDecoder`: tile the memory with `tile_batch`, and call
    `get_initial_state(batch_size=batch_size * beam_width)`.

    Args:
        cell: An RNN cell (`keras.layers.LSTMCell`, `GRUCell`, ...).
        attention_mechanism: An `AttentionMechanism` or a list of them.
        attention_layer_size: Optional int (or list, one per mechanism): the
            attention layer depth. None: the attention is the context.
        alignment_history: Keep every step's alignments (a TensorArray in
            the state; call `stack()`).
        cell_input_fn: Optional `fn(inputs, attention)`; default concatenation.
        output_attention: Output the attention (True) or the cell output.
        initial_cell_state: Optional cell state used by `get_initial_state`
            (not serialized).
        name: Layer name.
        attention_layer: Optional layer (or list) instead of `attention_layer_size`.
        attention_fn: Optional `fn(mechanism, cell_output, attention_state,
            attention_layer) -> (attention, alignments, next_attention_state)`.
        **kwargs: Layer arguments.

    Call arguments:
        inputs: `[batch, input_depth]`.
        state: An `AttentionWrapperState`.
        training: Passed to the cell.

    Returns:
        `(output, next_state)`.

    Example:

    >>> mechanism = LuongAttention(32, memory=encoder_outputs)
    >>> cell = AttentionWrapper(keras.layers.LSTMCell(32), mechanism, attention_layer_size=32)
    >>> state = cell.get_initial_state(batch_size=batch_size, dtype="float32")
    >>> output, state = cell(inputs, state)
    """

    def __init__(
        self,
        cell,
        attention_mechanism,
        attention_layer_size=None,
        alignment_history=False,
        cell_input_fn=None,
        output_attention=True,
        initial_cell_state=None,
        name=None,
        attention_layer=None,
        attention_fn=None,
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if not isinstance(cell, keras.layers.Layer) or "state_size" not in dir(cell):
            raise invalid("cell", "an RNN cell layer (with state_size)", cell, TypeError)
        self._is_multi = isinstance(attention_mechanism, (list, tuple))
        mechanisms = list(attention_mechanism) if self._is_multi else [attention_mechanism]
        if not mechanisms or not all(isinstance(m, AttentionMechanism) for m in mechanisms):
            raise invalid(
                "attention_mechanism",
                "an AttentionMechanism or a non-empty list of them",
                attention_mechanism,
                TypeError,
            )
        for flag_name, flag in (
            ("alignment_history", alignment_history),
            ("output_attention", output_attention),
        ):
            check_bool(flag_name, flag)
        for fn_name, fn in (("cell_input_fn", cell_input_fn), ("attention_fn", attention_fn)):
            if fn is not None and not callable(fn):
                raise invalid(fn_name, "a callable or None", fn, TypeError)
        if attention_layer_size is not None and attention_layer is not None:
            raise ValueError("Only one of attention_layer_size and attention_layer should be set")
        if attention_layer_size is not None:
            sizes = _one_per_mechanism(
                "attention_layer_size", attention_layer_size, "integer", mechanisms
            )
            sizes = [check_int("attention_layer_size", s, minimum=1) for s in sizes]
            self._attention_layers = [
                keras.layers.Dense(
                    size, name="attention_layer", use_bias=False, dtype=self.dtype_policy
                )
                for size in sizes
            ]
        elif attention_layer is not None:
            self._attention_layers = _one_per_mechanism(
                "attention_layer", attention_layer, "layer", mechanisms
            )
        else:
            self._attention_layers = None
        self.attention_layer_size = attention_layer_size
        self.attention_layer = attention_layer
        self._cell = cell
        self._attention_mechanisms = mechanisms
        # The lists above are hidden from tf.train.Checkpoint (see tfx_ext._core.checkpoint_tracking).
        track_in_checkpoint(self, "attention_mechanism", mechanisms)
        track_in_checkpoint(self, "attention_layer", self._attention_layers or ())
        self._cell_input_fn = cell_input_fn
        self._user_cell_input_fn = cell_input_fn
        self._attention_fn = attention_fn or compute_attention
        self._user_attention_fn = attention_fn
        self._output_attention = output_attention
        self._alignment_history = alignment_history
        self._initial_cell_state = initial_cell_state
        self._attention_layer_size = None
        self._allow_non_tensor_positional_args = True
        self.built = True

    @property
    def cell(self):
        return self._cell

    def __call__(self, *args, **kwargs):
        return call_layer(self, args, kwargs)

    def _attention_mechanisms_checks(self):
        for mechanism in self._attention_mechanisms:
            if not mechanism.memory_initialized:
                raise ValueError(
                    "The AttentionMechanism instances passed to this AttentionWrapper should be "
                    "initialized with a memory first, either by passing it to the "
                    "AttentionMechanism constructor or calling attention_mechanism.setup_memory()"
                )

    def _batch_size_check(self, batch_size, where):
        static = batch_size if isinstance(batch_size, int) else None
        for mechanism in self._attention_mechanisms:
            memory_batch = mechanism.batch_size if isinstance(mechanism.batch_size, int) else None
            if static is not None and memory_batch is not None and static != memory_batch:
                raise ValueError(
                    f"When {where} of AttentionWrapper {self.name}: Non-matching batch sizes between "
                    f"the memory (encoder output, {memory_batch}) and the requested batch size "
                    f"({static}). Are you using the BeamSearchDecoder? If so, make sure your "
                    "encoder output has been tiled to beam_width via tile_batch, and the "
                    "batch_size= argument passed to get_initial_state is batch_size * beam_width."
                )

    def _get_attention_layer_size(self):
        if self._attention_layer_size is not None:
            return self._attention_layer_size
        self._attention_mechanisms_checks()
        value_depths = [m.values.shape[-1] for m in self._attention_mechanisms]
        if self._attention_layers is None:
            self._attention_layer_size = sum(value_depths)
        else:
            cell_size = self._cell.output_size
            self._attention_layer_size = sum(
                layer.compute_output_shape((None, cell_size + depth))[-1]
                for layer, depth in zip(self._attention_layers, value_depths)
            )
        return self._attention_layer_size

    def _item_or_tuple(self, seq):
        t = tuple(seq)
        return t if self._is_multi else t[0]

    @property
    def output_size(self):
        return (
            self._get_attention_layer_size() if self._output_attention else self._cell.output_size
        )

    @property
    def state_size(self):
        return AttentionWrapperState(
            cell_state=self._cell.state_size,
            attention=self._get_attention_layer_size(),
            alignments=self._item_or_tuple(m.alignments_size for m in self._attention_mechanisms),
            attention_state=self._item_or_tuple(m.state_size for m in self._attention_mechanisms),
            alignment_history=self._item_or_tuple(
                m.alignments_size if self._alignment_history else ()
                for m in self._attention_mechanisms
            ),
        )

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """A zero `AttentionWrapperState` for `batch_size` rows (or `inputs`' batch).

        Raises:
            ValueError: if no memory is set up, or the batch size differs
                from the memory's (forgot to tile for beam search?).
        """
        if inputs is not None:
            batch_size = ops.shape(inputs)[0]
            dtype = inputs.dtype
        dtype = dtype or self.compute_dtype
        self._attention_mechanisms_checks()
        self._batch_size_check(batch_size, "calling get_initial_state")
        if self._initial_cell_state is not None:
            cell_state = self._initial_cell_state
        else:
            cell_state = self._cell.get_initial_state(batch_size=batch_size)
        initial_alignments = [
            m.initial_alignments(batch_size, dtype) for m in self._attention_mechanisms
        ]
        histories = []
        for alignment in initial_alignments:
            if self._alignment_history:
                import tensorflow as tf  # a growing per-step history needs a TensorArray

                histories.append(
                    tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=alignment.shape)
                )
            else:
                histories.append(())
        return AttentionWrapperState(
            cell_state=cell_state,
            attention=ops.zeros((batch_size, self._get_attention_layer_size()), dtype=dtype),
            alignments=self._item_or_tuple(initial_alignments),
            attention_state=self._item_or_tuple(
                m.initial_state(batch_size, dtype) for m in self._attention_mechanisms
            ),
            alignment_history=self._item_or_tuple(histories),
        )

    def call(self, inputs, state, training=None):
        if not isinstance(state, AttentionWrapperState):
            try:
                state = AttentionWrapperState(*state)
            except TypeError:
                raise TypeError(
                    "Expected state to be instance of AttentionWrapperState or values that can "
                    f"construct AttentionWrapperState. Received type {type(state)} instead."
                ) from None
        cell_input_fn = self._cell_input_fn or _concat_inputs
        cell_inputs = cell_input_fn(inputs, state.attention)
        cell_state = state.cell_state
        cell_output, next_cell_state = self._cell(cell_inputs, cell_state, training=training)
        next_cell_state = keras.tree.pack_sequence_as(
            cell_state, keras.tree.flatten(next_cell_state)
        )
        self._batch_size_check(cell_output.shape[0], "applying")

        if self._is_multi:
            previous_attention_state = state.attention_state
            previous_histories = state.alignment_history
        else:
            previous_attention_state = [state.attention_state]
            previous_histories = [state.alignment_history]
        alignments_all, attentions, attention_states, histories = [], [], [], []
        for i, mechanism in enumerate(self._attention_mechanisms):
            attention, alignments, next_attention_state = self._attention_fn(
                mechanism,
                cell_output,
                previous_attention_state[i],
                self._attention_layers[i] if self._attention_layers else None,
            )
            history = (
                previous_histories[i].write(previous_histories[i].size(), alignments)
                if self._alignment_history
                else ()
            )
            attention_states.append(next_attention_state)
            alignments_all.append(alignments)
            attentions.append(attention)
            histories.append(history)
        attention = ops.concatenate(attentions, axis=1)
        next_state = AttentionWrapperState(
            cell_state=next_cell_state,
            attention=attention,
            attention_state=self._item_or_tuple(attention_states),
            alignments=self._item_or_tuple(alignments_all),
            alignment_history=self._item_or_tuple(histories),
        )
        return (attention if self._output_attention else cell_output), next_state

    def get_config(self):
        mechanisms = [keras.saving.serialize_keras_object(m) for m in self._attention_mechanisms]
        attention_layer = self.attention_layer
        if attention_layer is not None:
            attention_layer = (
                [keras.saving.serialize_keras_object(a) for a in attention_layer]
                if isinstance(attention_layer, (list, tuple))
                else keras.saving.serialize_keras_object(attention_layer)
            )
        return {
            **super().get_config(),
            "cell": keras.saving.serialize_keras_object(self._cell),
            "attention_mechanism": mechanisms if self._is_multi else mechanisms[0],
            "attention_layer_size": self.attention_layer_size,
            "alignment_history": self._alignment_history,
            "cell_input_fn": serialize_callable(self._user_cell_input_fn),
            "output_attention": self._output_attention,
            "attention_layer": attention_layer,
            "attention_fn": serialize_callable(self._user_attention_fn),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        mechanism = config["attention_mechanism"]
        if isinstance(mechanism, list):
            config["attention_mechanism"] = [
                keras.saving.deserialize_keras_object(m) for m in mechanism
            ]
        else:
            config["attention_mechanism"] = keras.saving.deserialize_keras_object(mechanism)
        layer = config.get("attention_layer")
        if isinstance(layer, list):
            config["attention_layer"] = [keras.saving.deserialize_keras_object(a) for a in layer]
        elif layer is not None:
            config["attention_layer"] = keras.saving.deserialize_keras_object(layer)
        for key in ("cell_input_fn", "attention_fn"):
            config[key] = deserialize_callable(config.get(key))
        return cls(**config)
