"""What a served version runs its signatures with: a TF2 function or a TF1 session.

TF Serving runs every SavedModel in a TensorFlow session: it imports the
MetaGraph tagged `serve`, restores the variables, runs the init op
(`saved_model_main_op` or the older `legacy_init_op`) with the asset paths
fed, then runs each request by feeding the signature's input tensors and
fetching its output tensors. The local server does the same for TF1
SavedModels (no TF2 object graph) with `tf.compat.v1`, in a graph and session
of their own: `tf.saved_model.load` cannot restore every TF1 graph TF Serving
serves (reference variables, as in TF Serving's `saved_model_counter`, or a
signature whose recorded shape contradicts the graph's, as in
`saved_model_half_plus_three`), and it prunes the graph into functions, which
loses state kept in reference variables. TF2 SavedModels are loaded with
`tf.saved_model.load` and run through their concrete functions.

Both kinds answer the same two questions (the `Servable` protocol):

- `signature_keys`: the set of signatures that can run;
- `run(key, feeds, fetch=None)`: `feeds` is `{input name: ndarray}` (strings
  as object arrays of bytes), `fetch` the output names to compute (`None`:
  all of them); returns `{output name: ndarray}`. Inputs are fed whatever
  their shape, as a session feeds them; TensorFlow's errors propagate.
"""

import os
import threading

import numpy as np

from tfx_ext._core.private_api import (
    call_flat,
    session_callable,
    signature_argument_names,
    silenced_deprecations,
)
from tfx_ext.export.meta_graphs import SERVE_TAG, serving_meta_graph


def read_saved_model(path):
    """The `SavedModel` proto of a version directory."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    return proto


def is_tf1(meta_graph):
    """A SavedModel written by TF1's builder: no TF2 object graph to restore objects from."""
    return not meta_graph.HasField("object_graph_def") or not meta_graph.object_graph_def.nodes


def load_servable(path):
    """`(servable, {name: SignatureDef})` of a version directory, TF1 or TF2."""
    meta_graph = serving_meta_graph(read_saved_model(path))
    signature_defs = dict(meta_graph.signature_def)
    if is_tf1(meta_graph):
        return SessionServable(
            path, list(meta_graph.meta_info_def.tags) or [SERVE_TAG]
        ), signature_defs
    return FunctionServable(path), signature_defs


def _as_tensor(array):
    import tensorflow as tf

    if array.dtype == object or array.dtype.kind in "SU":
        return tf.constant(array.astype(object), dtype=tf.string)
    return tf.constant(array)


def _as_numpy(value):
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


class FunctionServable:
    """A TF2 SavedModel: signatures are the concrete functions `tf.saved_model.load` restores."""

    def __init__(self, path):
        import tensorflow as tf

        self._loaded = tf.saved_model.load(path)
        self.signature_keys = frozenset(self._loaded.signatures)

    def run(self, key, feeds, fetch=None):
        function = self._loaded.signatures[key]
        names = list(signature_argument_names(function) or sorted(feeds))
        # No Python-side shape check of the signature (TF Serving feeds a session,
        # which has none); TensorFlow's kernels still check.
        outputs = call_flat(function, [_as_tensor(feeds[n]) for n in names])
        if not isinstance(outputs, dict):
            from tfx_ext.serving.errors import ServingError

            raise ServingError("INTERNAL", f"Signature {key} returned no named outputs")
        wanted = outputs if fetch is None else {n: outputs[n] for n in fetch}
        return {name: _as_numpy(value) for name, value in wanted.items()}


class SessionServable:
    """A TF1 SavedModel in a graph and session of its own, as TF Serving loads it.

    `tf.compat.v1.saved_model.loader.load` imports the MetaGraph, restores the
    variables and runs the init op with the asset paths fed. Each distinct
    (signature, fed inputs, fetched outputs) gets a session callable, made once:
    a callable feeds and fetches by tensor name in C++, without the Python
    session's check of a fed value against the tensor's static shape (TF
    Serving's session has none either).
    """

    def __init__(self, path, tags=(SERVE_TAG,)):
        import tensorflow as tf

        self._graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=self._graph)
        with self._graph.as_default(), silenced_deprecations():
            meta_graph = tf.compat.v1.saved_model.loader.load(self._session, list(tags), path)
        self._signatures = dict(meta_graph.signature_def)
        self.signature_keys = frozenset(
            key for key, sig in self._signatures.items() if self._runnable(sig)
        )
        self._callables = {}
        self._lock = threading.Lock()

    def _runnable(self, sig):
        """Every tensor of the signature exists in the graph (dense tensors only)."""
        for info in list(sig.inputs.values()) + list(sig.outputs.values()):
            if info.WhichOneof("encoding") != "name":
                return False
            try:
                self._graph.as_graph_element(info.name)
            except (KeyError, ValueError):
                return False
        return True

    def _callable(self, key, inputs, outputs):
        from tensorflow.core.protobuf import config_pb2

        cache_key = (key, inputs, outputs)
        with self._lock:
            found = self._callables.get(cache_key)
            if found is None:
                sig = self._signatures[key]
                options = config_pb2.CallableOptions()
                options.feed.extend(sig.inputs[n].name for n in inputs)
                options.fetch.extend(sig.outputs[n].name for n in outputs)
                found = session_callable(self._session, options)
                self._callables[cache_key] = found
        return found

    def run(self, key, feeds, fetch=None):
        sig = self._signatures[key]
        inputs = tuple(sorted(feeds))
        outputs = tuple(sorted(sig.outputs) if fetch is None else fetch)
        values = self._callable(key, inputs, outputs)(*[feeds[n] for n in inputs])
        return {name: np.asarray(value) for name, value in zip(outputs, values)}

    def close(self):
        self._session.close()
