"""TFA's `tfa.seq2seq.Decoder`: the abstract, non-Keras decoder interface of `dynamic_decode`."""

import abc


class Decoder(metaclass=abc.ABCMeta):
    """An RNN decoder interface for `dynamic_decode` (TFA's `Decoder`), not a Keras layer.

    Subclass it for a decoder that holds no weights of its own (or manages them itself):
    `dynamic_decode(decoder)` calls `initialize()` once, then `step(time, inputs, state,
    training)` until every sequence is finished, then `finalize(outputs, final_state,
    sequence_lengths)` if it is implemented. `BaseDecoder` (a Keras layer) is the interface
    to subclass when the decoder owns layers.

    Implement `batch_size`, `output_size` and `output_dtype` (structures matching the step
    outputs: sizes or `TensorShape`s, and dtypes), `initialize(name=None) -> (finished,
    initial_inputs, initial_state)` and `step(...) -> (outputs, next_state, next_inputs,
    finished)`. `tracks_own_finished` (default False): set True when the decoder reorders
    batch entries between steps (beam search) and reports `finished` itself.
    """

    @property
    def batch_size(self):
        """The batch size of input values."""
        raise NotImplementedError

    @property
    def output_size(self):
        """A (possibly nested tuple of) integer[s] or `TensorShape`[s]."""
        raise NotImplementedError

    @property
    def output_dtype(self):
        """A (possibly nested tuple of) dtype[s]."""
        raise NotImplementedError

    @abc.abstractmethod
    def initialize(self, name=None):
        """Returns `(finished, initial_inputs, initial_state)`."""
        raise NotImplementedError

    @abc.abstractmethod
    def step(self, time, inputs, state, training=None, name=None):
        """Returns `(outputs, next_state, next_inputs, finished)`."""
        raise NotImplementedError

    def finalize(self, outputs, final_state, sequence_lengths):
        """Optional: post-processes the stacked outputs and the final state."""
        raise NotImplementedError

    @property
    def tracks_own_finished(self):
        """Whether the decoder tracks its own finished flags (see the class docstring)."""
        return False
