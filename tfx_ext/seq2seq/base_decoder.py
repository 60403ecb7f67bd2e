"""`BaseDecoder`: a Keras layer whose call runs `dynamic_decode` (TFA's `tfa.seq2seq.BaseDecoder`)."""

import keras

from tfx_ext._core.arguments import check_bool, check_int
from tfx_ext.seq2seq.dynamic_decode import dynamic_decode


class BaseDecoder(keras.layers.Layer):
    """An RNN decoder as a Keras layer (TensorFlow backend).

    Subclasses implement `initialize`, `step`, `batch_size`, `output_size`,
    `output_dtype` and optionally `finalize` and `tracks_own_finished`;
    `call` runs `dynamic_decode` with this layer's decoding options.

    Args:
        output_time_major: Return `[time, batch, ...]` outputs.
        impute_finished: See `dynamic_decode`.
        maximum_iterations: Optional positive int: the maximum number of steps.
        parallel_iterations, swap_memory: Passed to `tf.while_loop`.
        **kwargs: Layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: The decoder's first `initialize` argument (training inputs,
            or the embedding matrix for inference samplers).
        initial_state: The cell's initial state.
        training: Passed to the cell.
        **kwargs: Further `initialize` arguments (`sequence_length`,
            `start_tokens`, `end_token`, ...).
    """

    def __init__(
        self,
        output_time_major=False,
        impute_finished=False,
        maximum_iterations=None,
        parallel_iterations=32,
        swap_memory=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("output_time_major", output_time_major),
            ("impute_finished", impute_finished),
            ("swap_memory", swap_memory),
        ):
            check_bool(name, value)
        if maximum_iterations is not None and not _is_tensor(maximum_iterations):
            check_int("maximum_iterations", maximum_iterations, minimum=1)
        check_int("parallel_iterations", parallel_iterations, minimum=1)
        self.output_time_major = output_time_major
        self.impute_finished = impute_finished
        self.maximum_iterations = maximum_iterations
        self.parallel_iterations = parallel_iterations
        self.swap_memory = swap_memory
        # Arguments are embeddings, token ids and nested states, not one
        # input tensor: no input conversion, sublayers build when first called.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def __call__(self, *args, **kwargs):
        return call_layer(self, args, kwargs)

    def call(self, inputs, initial_state=None, training=None, **kwargs):
        init_kwargs = dict(kwargs)
        init_kwargs["initial_state"] = initial_state
        return self._dynamic_decode(inputs, init_kwargs, training)

    def _dynamic_decode(self, init_input, init_kwargs, training):
        """Runs `dynamic_decode` with this layer's options.

        Shared by the subclasses' `call`, which differ only in the arguments
        they pass on to `initialize`.
        """
        return dynamic_decode(
            self,
            output_time_major=self.output_time_major,
            impute_finished=self.impute_finished,
            maximum_iterations=self.maximum_iterations,
            parallel_iterations=self.parallel_iterations,
            swap_memory=self.swap_memory,
            training=training,
            decoder_init_input=init_input,
            decoder_init_kwargs=init_kwargs,
        )

    @property
    def batch_size(self):
        raise NotImplementedError

    @property
    def output_size(self):
        raise NotImplementedError

    @property
    def output_dtype(self):
        raise NotImplementedError

    def initialize(self, inputs, initial_state=None, **kwargs):
        raise NotImplementedError

    def step(self, time, inputs, state, training):
        raise NotImplementedError

    def finalize(self, outputs, final_state, sequence_lengths):
        raise NotImplementedError

    @property
    def tracks_own_finished(self):
        return False

    def get_config(self):
        maximum_iterations = self.maximum_iterations
        if _is_tensor(maximum_iterations):
            maximum_iterations = int(keras.ops.convert_to_numpy(maximum_iterations))
        return {
            **super().get_config(),
            "output_time_major": self.output_time_major,
            "impute_finished": self.impute_finished,
            "maximum_iterations": maximum_iterations,
            "parallel_iterations": self.parallel_iterations,
            "swap_memory": self.swap_memory,
        }


def call_layer(layer, args, kwargs):
    """Calls `layer` on eager/graph values directly, on Keras symbolic tensors through Keras.

    Decoder and cell-wrapper arguments mix tensors with Python ints, `None`
    and `tf.TensorArray`s (alignment history), which `Layer.__call__`
    rejects ("cannot mix tensors and non-tensors"). These layers own no
    weights of their own beyond sublayers, which build when first called.
    """
    if any(keras.backend.is_keras_tensor(x) for x in keras.tree.flatten((args, kwargs))):
        return keras.layers.Layer.__call__(layer, *args, **kwargs)
    with keras.name_scope(layer.name, caller=layer):
        return layer.call(*args, **kwargs)


def _is_tensor(value):
    return keras.ops.is_tensor(value) or hasattr(value, "numpy")
