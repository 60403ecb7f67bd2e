"""Weight normalization wrapper.

Replaces `tfa.layers.WeightNormalization` (same `g`/`v` parametrization, same
layers wrapped — Dense, convolutions, SimpleRNN/LSTM/GRU —, `data_init=True`
by default, initialization on the first call, and `remove()`). Keras 3 core
has no equivalent; for normalizing activations instead of weights, Keras has
`keras.layers.GroupNormalization` and `LayerNormalization`.
"""

import logging

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import check_bool, invalid
from tfx_ext._core.model_graphs import is_kernel_layer
from tfx_ext._core.private_api import in_stateless_scope
from tfx_ext._core.protocols import PrunableLayer, kernels
from tfx_ext.layers.linear import channels_axis, linear, per_channel

_EPSILON = 1e-12
_RNN_LAYERS = (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)


def _is_rnn(layer):
    return isinstance(layer, _RNN_LAYERS)


@keras.saving.register_keras_serializable(package="tfx_ext")
class WeightNormalization(keras.layers.Wrapper, PrunableLayer):
    """Reparametrizes a layer's kernel as `w = g * v / ||v||` (Salimans & Kingma, 2016).

    The wrapped layer's kernel (an RNN's recurrent kernel) becomes the
    direction `v`; the wrapper adds a per-output-channel magnitude `g`.
    Decoupling length from direction conditions the optimization like batch
    normalization does, without depending on the batch.

    `g` is initialized on the layer's first call (any call: training,
    inference or `predict`), as in TensorFlow Addons:

    - `data_init=False`: `g = ||v||`, so the wrapped layer starts out
      computing what it did before;
    - `data_init=True` (the default): from that first batch, `g` and the bias
      are set so that the pre-activations of the batch have zero mean and unit
      variance per channel (the paper's data-dependent initialization; without
      a bias only the variance is set). The paper advises against it for RNNs:
      there it is ignored with a warning, and `g = ||v||`.

    Once a traced function (`fit`, `predict`, an export) sees the layer
    initialized, it leaves the initialization out of the graph.

    Args:
        layer: A `Dense`, `Conv1D`, `Conv2D`, `Conv3D`, `SimpleRNN`, `LSTM` or
            `GRU` layer.
        data_init: Whether to use data-dependent initialization. Defaults to
            `True`, as `tfa.layers.WeightNormalization`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: The wrapped layer's inputs.
        training: Python boolean, passed to the wrapped layer.
        mask: Optional mask, passed to a wrapped RNN.
        **kwargs: Passed to a wrapped RNN (e.g. `initial_state`).

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((28, 28, 1)),
    ...     WeightNormalization(keras.layers.Conv2D(32, 3, activation="relu")),
    ...     keras.layers.Flatten(),
    ...     WeightNormalization(keras.layers.Dense(10), data_init=False),
    ... ])
    >>> dense = model.layers[-1].remove()   # a plain Dense with w = g * v / ||v||
    """

    def __init__(self, layer, data_init=True, **kwargs):
        if not (is_kernel_layer(layer) or _is_rnn(layer)):
            raise invalid(
                "layer",
                "a layer that contains a `kernel`: keras.layers.Dense, Conv1D, Conv2D, Conv3D, "
                "SimpleRNN, LSTM or GRU",
                layer,
            )
        check_bool("data_init", data_init)
        super().__init__(layer, **kwargs)
        self.data_init = data_init
        self.is_rnn = _is_rnn(layer)
        self.supports_masking = layer.supports_masking
        self._known_done = False
        if self.data_init and self.is_rnn:
            logging.warning(
                "WeightNormalization: data_init=True is advised against for RNNs by the "
                "paper and is ignored for %s: g starts at ||v||. Pass data_init=False.",
                layer.name,
            )

    @property
    def v(self):
        """The direction variable: the wrapped layer's kernel (an RNN's recurrent kernel)."""
        return self.layer.cell.recurrent_kernel if self.is_rnn else self.layer.kernel

    def build(self, input_shape):
        super().build(input_shape)
        kernel = self.v
        self._norm_axes = tuple(range(len(kernel.shape) - 1))
        channels = kernel.shape[-1]
        self.g = self.add_weight(name="g", shape=(channels,), initializer="ones")
        self.g.assign(self._kernel_norm(kernel))
        self.initialized = self.add_weight(
            name="initialized", shape=(), initializer="zeros", trainable=False
        )
        # The initialization is written to these non-trainable offsets, then
        # folded into `g` and the bias at the next eager call: a compiled
        # JAX step (fit, predict) keeps the updates of non-trainable
        # variables only, and would drop the values assigned to `g`.
        self.g_offset = self.add_weight(
            name="g_offset", shape=(channels,), initializer="zeros", trainable=False
        )
        self.bias_offset = None
        if not self.is_rnn and self.layer.use_bias:
            self.bias_offset = self.add_weight(
                name="bias_offset",
                shape=self.layer.bias.shape,
                initializer="zeros",
                trainable=False,
            )

    def _kernel_norm(self, kernel):
        return ops.sqrt(ops.sum(ops.square(kernel), axis=self._norm_axes) + _EPSILON)

    def _known_initialized(self):
        """Whether `initialized` is already 1, read outside any trace; False when unknown."""
        if self._known_done:
            return True
        try:
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                # A trace cannot read the variable's value; init_scope reads it as it is now.
                with tf.init_scope():
                    value = np.asarray(self.initialized.value)
            else:
                value = np.asarray(ops.convert_to_numpy(self.initialized))
        except Exception:  # a traced value (JAX jit, some distribution contexts)
            return False
        self._known_done = bool(value >= 0.5)
        if self._known_done:
            self._fold_offsets()
        return self._known_done

    def _fold_offsets(self):
        """Moves the initialization from the offsets into `g` and the bias (eagerly)."""
        if in_stateless_scope():  # the scope would drop the assignment to `g`
            return
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            with tf.init_scope():
                self._fold_offsets_now()
        else:
            self._fold_offsets_now()

    def _fold_offsets_now(self):
        self.g.assign(ops.convert_to_tensor(self.g) + ops.convert_to_tensor(self.g_offset))
        self.g_offset.assign(ops.zeros(self.g_offset.shape, self.g_offset.dtype))
        if self.bias_offset is not None:
            bias = ops.convert_to_tensor(self.layer.bias) + ops.convert_to_tensor(self.bias_offset)
            self.layer.bias.assign(bias)
            self.bias_offset.assign(ops.zeros(self.bias_offset.shape, self.bias_offset.dtype))

    def call(self, inputs, training=None, mask=None, **kwargs):
        kernel = self.v
        norm = self._kernel_norm(kernel)
        direction = kernel / norm
        # Tensors, not variables: JAX's where() cannot take a Keras variable.
        known = self._known_initialized()  # folds the offsets when it can
        g_var = ops.convert_to_tensor(self.g)
        g_offset = ops.convert_to_tensor(self.g_offset)
        bias_var = bias_offset = None
        if self.bias_offset is not None:
            bias_var = ops.convert_to_tensor(self.layer.bias)
            bias_offset = ops.convert_to_tensor(self.bias_offset)
        projected = None
        if not known:
            done = ops.cast(self.initialized, "bool")
            if self.data_init and not self.is_rnn:
                projected = linear(self.layer, inputs, direction)
                rank = len(projected.shape)
                channel_axis = channels_axis(self.layer, rank)
                axes = [a for a in range(rank) if a != channel_axis]
                mean, variance = ops.moments(projected, axes=axes)
                scale = ops.rsqrt(variance + 1e-6)
                g_offset = ops.where(done, g_offset, scale - g_var)
                if bias_var is not None:
                    bias_offset = ops.where(done, bias_offset, -mean * scale - bias_var)
                    self.bias_offset.assign(bias_offset)
            else:
                g_offset = ops.where(done, g_offset, norm - g_var)
            self.g_offset.assign(g_offset)
            self.initialized.assign(1.0)
        # The same sums as _fold_offsets_now, so folding changes no output.
        g = g_var + g_offset
        bias = None if bias_var is None else bias_var + bias_offset
        if not known:
            self._known_initialized()  # an eager call folds the offsets at once

        if self.is_rnn:
            return self._call_rnn(inputs, direction * g, training=training, mask=mask, **kwargs)
        if projected is not None:
            # The linear part is linear in each output channel's kernel: reuse it.
            outputs = projected * per_channel(self.layer, g, len(projected.shape))
        else:
            outputs = linear(self.layer, inputs, direction * g)
        if bias is not None:
            outputs = outputs + per_channel(self.layer, bias, len(outputs.shape))
        if self.layer.activation is not None:
            outputs = self.layer.activation(outputs)
        return outputs

    def _call_rnn(self, inputs, recurrent_kernel, **kwargs):
        cell = self.layer.cell
        variable = cell.recurrent_kernel
        # The cell reads `self.recurrent_kernel` in its step; lend it the
        # normalized kernel for this call only, bypassing attribute tracking
        # so the variable stays the tracked, saved weight.
        object.__setattr__(cell, "recurrent_kernel", recurrent_kernel)
        try:
            return self.layer(inputs, **kwargs)
        finally:
            object.__setattr__(cell, "recurrent_kernel", variable)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def compute_mask(self, inputs, mask=None):
        return self.layer.compute_mask(inputs, mask)

    def remove(self):
        """Returns the wrapped layer with its kernel set to `g * v / ||v||`.

        The layer then computes what the wrapper computes, without the
        wrapper (for export, or to stop normalizing). The wrapper stays
        consistent: `g` becomes the norm of the new kernel.
        """
        if not self.built:
            raise ValueError(
                "WeightNormalization.remove() needs a built layer: call it on data first."
            )
        self._fold_offsets_now()
        kernel = self.v
        weight = kernel / self._kernel_norm(kernel) * self.g
        kernel.assign(weight)
        self.g.assign(self._kernel_norm(weight))
        self.initialized.assign(1.0)
        return self.layer

    def get_prunable_weights(self):
        """The kernels magnitude pruning may zero (the `PrunableLayer` protocol)."""
        return kernels(self)

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}
