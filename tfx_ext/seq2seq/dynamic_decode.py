"""`dynamic_decode`: run a decoder step by step until it is done (TFA's `tfa.seq2seq.dynamic_decode`).

TensorFlow backend only: the loop is a `tf.while_loop` whose outputs grow in
`tf.TensorArray`s, because the number of steps is only known when every
sequence has finished (and `AttentionWrapper`'s alignment history is a
TensorArray). `keras.ops.while_loop` cannot grow outputs of unknown length
on JAX without a fixed-size buffer, which would change TFA's output shapes.
"""

import keras
import tensorflow as tf

from tfx_ext._core.arguments import check_int, invalid
from tfx_ext._core.private_api import in_xla_context


def _require_tensorflow():
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "tfx_ext.seq2seq decoding (dynamic_decode, BasicDecoder, BeamSearchDecoder) "
            "needs the TensorFlow backend (tf.while_loop with TensorArrays); "
            f"the Keras backend is {keras.backend.backend()!r}."
        )


def _prepend_batch(batch_size, shape):
    static = tf.get_static_value(batch_size) if tf.is_tensor(batch_size) else batch_size
    shape = tf.TensorShape(shape)
    if static is None:
        batch = tf.reshape(tf.cast(batch_size, tf.int32), [1])
        return tf.concat((batch, tf.constant(shape.as_list(), dtype=tf.int32)), axis=0)
    return [int(static)] + shape.as_list()


def _transpose_batch_time(tensor):
    if tensor.shape.rank is not None and tensor.shape.rank < 2:
        return tensor
    perm = tf.concat(([1, 0], tf.range(2, tf.rank(tensor))), axis=0)
    return tf.transpose(tensor, perm)


def _in_xla_context():
    """Whether we are being traced for XLA (`tf.function(jit_compile=True)`).

    TensorFlow has no public API for this; TFA used the same internal check.
    """
    if tf.executing_eagerly():
        return False
    return in_xla_context()


def _check_maximum_iterations(maximum_iterations):
    if maximum_iterations is None:
        return None
    if isinstance(maximum_iterations, int) and not isinstance(maximum_iterations, bool):
        check_int("maximum_iterations", maximum_iterations, minimum=1)
        return tf.constant(maximum_iterations, tf.int32)
    if not tf.is_tensor(maximum_iterations) and not hasattr(maximum_iterations, "__array__"):
        raise invalid(
            "maximum_iterations", "a positive int scalar or None", maximum_iterations, TypeError
        )
    value = tf.convert_to_tensor(maximum_iterations, dtype=tf.int32)
    if value.shape.ndims != 0:
        raise invalid(
            "maximum_iterations",
            "a scalar",
            received=f"maximum_iterations with shape {value.shape}",
        )
    tf.debugging.assert_greater(value, 0, message="maximum_iterations should be greater than 0")
    return value


def dynamic_decode(
    decoder,
    output_time_major=False,
    impute_finished=False,
    maximum_iterations=None,
    parallel_iterations=32,
    swap_memory=False,
    training=None,
    scope=None,
    enable_tflite_convertible=False,
    **kwargs,
):
    """Runs dynamic decoding with a decoder.

    Calls `decoder.initialize()` once and `decoder.step()` until every
    sequence is finished or `maximum_iterations` steps ran.

    Args:
        decoder: A `BaseDecoder` (e.g. `BasicDecoder`, `BeamSearchDecoder`).
        output_time_major: Return `[time, batch, ...]` outputs (default
            batch major).
        impute_finished: Copy the state through and zero the outputs of
            finished sequences (exact final states, no gradient through
            padding).
        maximum_iterations: Optional positive int (or int32 scalar tensor):
            the maximum number of steps.
        parallel_iterations, swap_memory: Passed to `tf.while_loop`.
        training: Passed to the cell.
        scope: Ignored; kept so TFA calls port unchanged.
        enable_tflite_convertible: Must be False (not supported; see README).
        **kwargs: `decoder_init_input` and `decoder_init_kwargs`, passed to
            `decoder.initialize`.

    Returns:
        `(final_outputs, final_state, final_sequence_lengths)`.

    Raises:
        ValueError: if `maximum_iterations` is not a positive scalar.
        RuntimeError: on a non-TensorFlow backend.

    Example:

    >>> outputs, state, lengths = dynamic_decode(
    ...     decoder, maximum_iterations=10, decoder_init_input=embedding,
    ...     decoder_init_kwargs=dict(start_tokens=starts, end_token=1, initial_state=s))
    """
    del scope
    _require_tensorflow()
    if enable_tflite_convertible:
        raise invalid(
            "enable_tflite_convertible",
            "False (TFLite-convertible decoding is not supported)",
            enable_tflite_convertible,
        )
    if not hasattr(decoder, "initialize") or not hasattr(decoder, "step"):
        raise invalid(
            "decoder",
            "a decoder with initialize() and step() (e.g. BasicDecoder)",
            decoder,
            TypeError,
        )
    maximum_iterations = _check_maximum_iterations(maximum_iterations)
    is_xla = _in_xla_context()
    if is_xla and maximum_iterations is None:
        raise ValueError("maximum_iterations is required for XLA compilation (jit_compile=True).")
    # XLA needs fixed-size TensorArrays: outputs then have maximum_iterations
    # steps (zeros after the last one), as in TFA.
    dynamic_size = not is_xla
    init_input = kwargs.pop("decoder_init_input", None)
    init_kwargs = kwargs.pop("decoder_init_kwargs", {}) or {}
    initial_finished, initial_inputs, initial_state = decoder.initialize(init_input, **init_kwargs)
    initial_finished = tf.convert_to_tensor(initial_finished)

    zero_outputs = tf.nest.map_structure(
        lambda shape, dtype: tf.zeros(_prepend_batch(decoder.batch_size, shape), dtype=dtype),
        decoder.output_size,
        decoder.output_dtype,
    )
    if maximum_iterations is not None:
        initial_finished = tf.logical_or(initial_finished, 0 >= maximum_iterations)
    initial_sequence_lengths = tf.zeros_like(initial_finished, dtype=tf.int32)
    static_batch = tf.get_static_value(tf.convert_to_tensor(decoder.batch_size))

    def element_shape(shape):
        shape = tf.TensorShape(shape)
        return tf.TensorShape([static_batch]).concatenate(shape)

    initial_outputs_ta = tf.nest.map_structure(
        lambda s, d: tf.TensorArray(
            dtype=d,
            size=0 if dynamic_size else maximum_iterations,
            dynamic_size=dynamic_size,
            element_shape=element_shape(s),
        ),
        decoder.output_size,
        decoder.output_dtype,
    )

    def condition(time, outputs_ta, state, inputs, finished, sequence_lengths):
        return tf.logical_not(tf.reduce_all(finished))

    def body(time, outputs_ta, state, inputs, finished, sequence_lengths):
        next_outputs, decoder_state, next_inputs, decoder_finished = decoder.step(
            time, inputs, state, training
        )
        decoder_finished = tf.convert_to_tensor(decoder_finished)
        own_lengths = False
        if getattr(decoder, "tracks_own_finished", False):
            next_finished = decoder_finished
            lengths = getattr(decoder_state, "lengths", None)
            if lengths is not None:
                own_lengths = True
                sequence_lengths = tf.cast(lengths, tf.int32)
        else:
            next_finished = tf.logical_or(decoder_finished, finished)
        if own_lengths:
            next_sequence_lengths = sequence_lengths
        else:
            next_sequence_lengths = tf.where(
                tf.logical_not(finished),
                tf.fill(tf.shape(sequence_lengths), time + 1),
                sequence_lengths,
            )
        tf.nest.assert_same_structure(state, decoder_state)
        tf.nest.assert_same_structure(outputs_ta, next_outputs)
        tf.nest.assert_same_structure(inputs, next_inputs)

        if impute_finished:

            def zero_out_finished(out, zero):
                mask = finished
                while mask.shape.rank < zero.shape.rank:
                    mask = tf.expand_dims(mask, -1)
                return tf.where(mask, zero, out)

            emit = tf.nest.map_structure(zero_out_finished, next_outputs, zero_outputs)

            def maybe_copy_state(new, cur):
                if isinstance(cur, tf.TensorArray) or new.shape.ndims == 0:
                    return new
                new = tf.ensure_shape(new, cur.shape)
                mask = finished
                while mask.shape.rank < new.shape.rank:
                    mask = tf.expand_dims(mask, -1)
                return tf.where(mask, cur, new)

            next_state = tf.nest.map_structure(maybe_copy_state, decoder_state, state)
        else:
            emit = next_outputs
            next_state = decoder_state
        outputs_ta = tf.nest.map_structure(lambda ta, out: ta.write(time, out), outputs_ta, emit)
        return (time + 1, outputs_ta, next_state, next_inputs, next_finished, next_sequence_lengths)

    res = tf.while_loop(
        condition,
        body,
        loop_vars=(
            tf.constant(0, dtype=tf.int32),
            initial_outputs_ta,
            initial_state,
            initial_inputs,
            initial_finished,
            initial_sequence_lengths,
        ),
        parallel_iterations=parallel_iterations,
        maximum_iterations=maximum_iterations,
        swap_memory=swap_memory,
    )
    final_outputs = tf.nest.map_structure(lambda ta: ta.stack(), res[1])
    final_state = res[2]
    final_sequence_lengths = res[5]
    finalize = getattr(decoder, "finalize", None)
    if finalize is not None:
        try:
            final_outputs, final_state = finalize(
                final_outputs, final_state, final_sequence_lengths
            )
        except NotImplementedError:
            pass
    if not output_time_major:
        final_outputs = tf.nest.map_structure(_transpose_batch_time, final_outputs)
    return final_outputs, final_state, final_sequence_lengths
