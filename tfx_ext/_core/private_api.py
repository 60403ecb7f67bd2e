"""Every use of private Keras, TensorFlow and LiteRT API in tfx_ext, and why.

Each function wraps one private name where no public API does the job. All
were checked on TensorFlow 2.21, Keras 3.15.1, tf_keras 2.21 and ai-edge-litert 2.3; when a
name moves, `tests/core/test_private_api.py` fails with the name in its
message, before any feature that relies on it misbehaves.

Nothing else in tfx_ext imports `keras.src` or `tensorflow.python`, or reads
an underscore attribute of a Keras/TF object (`tests/core/test_private_api.py`
scans the package for it). Imports stay inside the functions: the serving
floor uses this module without importing Keras.
"""

# Keras functional graphs ---------------------------------------------------------------
# Keras 3 has no public listing of a layer's calls, its consumers or a model's nodes.


def inbound_nodes(layer):
    """The calls of `layer` (`Layer._inbound_nodes`): each has `.operation` and `.parent_nodes`."""
    return layer._inbound_nodes


def outbound_nodes(layer):
    """The calls that read `layer`'s output (`Layer._outbound_nodes`)."""
    return layer._outbound_nodes


def node_in_graph(model, node):
    """Whether `node` (a call of a layer) belongs to `model`'s own graph.

    A layer keeps every call ever made of it: a Sequential rebuilt (by
    loading, `compile`, or a sub-model sharing its layers) leaves calls that
    are not part of the model. Keras keys a graph's nodes (`Function._nodes`)
    by operation and call index, `f"{id(operation)}_ib-{index}"`
    (`keras.src.ops.function.make_node_key`); a Sequential keeps its graph in
    `Sequential._functional`.
    """
    import keras

    graph = model._functional if isinstance(model, keras.Sequential) else model
    index = node.operation._inbound_nodes.index(node)
    return f"{id(node.operation)}_ib-{index}" in graph._nodes


def producing_layer(tensor):
    """The layer whose call made the symbolic `tensor` (`KerasTensor._keras_history`), or None."""
    history = getattr(tensor, "_keras_history", None)
    return history[0] if history else None


def graph_output_names(model):
    """A Sequential's output names, kept by its inner functional model (`_functional`)."""
    functional = getattr(model, "_functional", None)
    return None if functional is None else functional.output_names


def input_shape_argument(layer):
    """The `input_shape=` / `input_dim=` a layer was made with (`Layer._input_shape_arg`).

    Keras 3 builds a Sequential from its first layer's `_input_shape_arg`; no
    public accessor exists.
    """
    return getattr(layer, "_input_shape_arg", None)


def set_input_shape_argument(layer, shape):
    """Sets `Layer._input_shape_arg` (a wrapper shows its wrapped layer's `input_shape=`)."""
    layer._input_shape_arg = shape


# Keras backend state --------------------------------------------------------------------


def in_stateless_scope():
    """Whether Keras traces a stateless call (JAX `fit`, `stateless_call`), where a layer
    must not assign variables; `keras.src.backend.common.stateless_scope`, not exported."""
    from keras.src.backend.common.stateless_scope import in_stateless_scope as _in

    return _in()


def get_stateless_scope():
    """The active `StatelessScope` (or None); `keras.src.backend.common.stateless_scope`."""
    from keras.src.backend.common.stateless_scope import get_stateless_scope as _get

    return _get()


def float64_promotion_table():
    """Keras's table that turns float64 results into float32 on JAX
    (`keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE`); no public switch exists."""
    from keras.src.backend.common import dtypes

    return dtypes.BIT64_TO_BIT32_DTYPE


# Keras optimizers -----------------------------------------------------------------------


def learning_rate_setting(optimizer):
    """What the optimizer was given as learning rate: a schedule or a variable
    (`optimizer._learning_rate`); the public `learning_rate` evaluates a schedule."""
    return optimizer._learning_rate


def raw_iterations(optimizer):
    """The optimizer's own step counter (`_iterations`); `iterations` may be overridden by
    a wrapper that forwards to it."""
    return optimizer._iterations


def distribution_strategy(optimizer, default=None):
    """The tf.distribute strategy an optimizer's variables were made under (TF backend)."""
    return getattr(optimizer, "_distribution_strategy", default)


# tf_keras callbacks ---------------------------------------------------------------------
# tf_keras's `CallbackList` skips a callback's batch hooks unless `_implements_*_batch_hooks()`
# says so (checked on tf_keras 2.21); the pruning callbacks forward to tfmot's through it.


def implements_batch_hooks(callback, mode):
    """`callback._implements_{mode}_batch_hooks()`, `mode` in train, test, predict."""
    return getattr(callback, f"_implements_{mode}_batch_hooks")()


# TensorFlow -----------------------------------------------------------------------------


def signature_argument_names(function):
    """A concrete function's input names in call order (`ConcreteFunction._arg_keywords`)."""
    return getattr(function, "_arg_keywords", None)


def call_flat(function, tensors):
    """Calls a concrete function with flat tensors (`ConcreteFunction._call_flat`).

    It skips the Python-side shape check of the signature (TF Serving feeds a
    session, which has none); TensorFlow's kernels still check.
    """
    return function._call_flat(tensors, function.captured_inputs)


def session_callable(session, options):
    """`Session._make_callable_from_options`: a callable for feeds and fetches by tensor
    name, as TF Serving's C++ loader runs a TF1 signature."""
    return session._make_callable_from_options(options)


def silenced_deprecations():
    """`tensorflow.python.util.deprecation.silence()`: TF1 loader warnings, once per load."""
    from tensorflow.python.util import deprecation

    return deprecation.silence()


def in_xla_context():
    """Whether the graph being built is compiled by XLA (TFA used the same internal check)."""
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


# LiteRT ---------------------------------------------------------------------------------


def interpreter_ops(interpreter):
    """The operators of a TFLite model (`Interpreter._get_ops_details`); no public listing."""
    return interpreter._get_ops_details()
