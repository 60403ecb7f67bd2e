"""`AttentionWrapperState`: the state `AttentionWrapper` carries between steps."""

import collections

import keras

from tfx_ext._core.predictions import shapes_compatible


class AttentionWrapperState(
    collections.namedtuple(
        "AttentionWrapperState",
        ("cell_state", "attention", "alignments", "alignment_history", "attention_state"),
    )
):
    """State of an `AttentionWrapper` (TFA's namedtuple, same fields and order).

    Attributes:
        cell_state: The wrapped cell's state.
        attention: The attention emitted at the previous step.
        alignments: The previous step's alignments (a tuple with several
            mechanisms).
        alignment_history: With `alignment_history=True`, a time-major
            `tf.TensorArray` of every step's alignments (call `stack()`),
            else `()`.
        attention_state: Each mechanism's own state.
    """

    def clone(self, **kwargs):
        """Returns a copy with some fields replaced; replaced tensors keep their shapes.

        Raises:
            ValueError: if a replacement tensor's static shape differs.

        Example:

        >>> state = wrapper.get_initial_state(batch_size=b * beam_width, dtype="float32")
        >>> state = state.clone(cell_state=tiled_encoder_state)
        """

        def with_same_shape(old, new):
            if keras.ops.is_tensor(old) and keras.ops.is_tensor(new):
                old_shape, new_shape = tuple(old.shape), tuple(new.shape)
                if not shapes_compatible(old_shape, new_shape):
                    raise ValueError(
                        "The shape of the AttentionWrapperState is expected to be same as the "
                        f"one to clone. self.shape: {old_shape}, input.shape: {new_shape}"
                    )
            return new

        replaced = super()._replace(**kwargs)
        for name in kwargs:
            old, new = getattr(self, name), getattr(replaced, name)
            try:
                keras.tree.assert_same_structure(old, new)
            except (ValueError, TypeError):
                continue
            keras.tree.map_structure(with_same_shape, old, new)
        return replaced
