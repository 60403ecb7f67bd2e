"""Fails loudly when a private Keras/TF/LiteRT name that tfx_ext relies on moves.

Each test exercises one wrapper of `tfx_ext._core.private_api` against the
public behaviour it stands for; the last one checks that no other module of
tfx_ext reaches into private API.
"""

import ast
import pathlib

import keras
import numpy as np
import tensorflow as tf

import tfx_ext
from tfx_ext._core import private_api

PACKAGE = pathlib.Path(tfx_ext.__file__).parent


def tiny_functional():
    inputs = keras.Input((3,), name="x")
    hidden = keras.layers.Dense(4, name="hidden")(inputs)
    outputs = keras.layers.Dense(2, name="out")(hidden)
    return keras.Model(inputs, outputs)


class KerasGraphTest(tf.test.TestCase):
    def test_nodes_consumers_and_node_keys(self):
        from keras.src.ops.function import make_node_key  # the rule node_in_graph rebuilds

        model = tiny_functional()
        hidden, out = model.get_layer("hidden"), model.get_layer("out")
        (node,) = private_api.inbound_nodes(out)
        self.assertIs(node.operation, out)
        self.assertEqual([p.operation for p in node.parent_nodes], [hidden])
        self.assertEqual([n.operation for n in private_api.outbound_nodes(hidden)], [out])
        self.assertEqual(make_node_key(out, 0), f"{id(out)}_ib-0")
        self.assertTrue(private_api.node_in_graph(model, node))
        # A second call outside the model is a node of the layer, not of the model.
        out(keras.Input((4,)))
        self.assertFalse(private_api.node_in_graph(model, private_api.inbound_nodes(out)[1]))

    def test_sequential_graph_and_output_names(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="out")])
        (node,) = private_api.inbound_nodes(model.get_layer("out"))
        self.assertTrue(private_api.node_in_graph(model, node))
        self.assertEqual(private_api.graph_output_names(model), model._functional.output_names)
        self.assertIsNone(private_api.graph_output_names(tiny_functional()))

    def test_producing_layer(self):
        model = tiny_functional()
        self.assertIs(private_api.producing_layer(model.outputs[0]), model.get_layer("out"))
        self.assertIsNone(private_api.producing_layer(np.zeros(2)))

    def test_input_shape_argument_builds_a_sequential(self):
        layer = keras.layers.Dense(2, input_shape=(5,))
        self.assertEqual(tuple(private_api.input_shape_argument(layer)), (5,))
        other = keras.layers.Dense(3)
        private_api.set_input_shape_argument(other, (7,))
        self.assertEqual(keras.Sequential([other]).inputs[0].shape, (None, 7))


class KerasStateTest(tf.test.TestCase):
    def test_stateless_scope(self):
        self.assertFalse(private_api.in_stateless_scope())
        self.assertIsNone(private_api.get_stateless_scope())
        with keras.StatelessScope() as scope:
            self.assertTrue(private_api.in_stateless_scope())
            self.assertIs(private_api.get_stateless_scope(), scope)

    def test_float64_promotion_table(self):
        # The table is what Keras's type promotion reads: changing it changes the result.
        table = private_api.float64_promotion_table()
        saved = table["float64"]
        try:
            for target in ("float32", "float64"):
                table["float64"] = target
                self.assertEqual(keras.backend.result_type("float64", "float64"), target)
        finally:
            table["float64"] = saved

    def test_optimizer_internals(self):
        schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
        optimizer = keras.optimizers.SGD(schedule)
        self.assertIs(private_api.learning_rate_setting(optimizer), schedule)
        optimizer.build([keras.Variable(np.zeros(2, "float32"))])
        self.assertIsInstance(private_api.raw_iterations(optimizer), keras.Variable)
        self.assertEqual(
            int(private_api.raw_iterations(optimizer).numpy()), int(optimizer.iterations.numpy())
        )
        self.assertIs(private_api.distribution_strategy(optimizer), tf.distribute.get_strategy())

    def test_tf_keras_callback_batch_hooks(self):
        import tf_keras

        class OnTest(tf_keras.callbacks.Callback):
            def on_test_batch_end(self, batch, logs=None):
                pass

        self.assertTrue(private_api.implements_batch_hooks(OnTest(), "test"))
        self.assertFalse(private_api.implements_batch_hooks(OnTest(), "predict"))
        self.assertFalse(private_api.implements_batch_hooks(tf_keras.callbacks.Callback(), "train"))


class TensorFlowTest(tf.test.TestCase):
    def test_concrete_function_flat_call(self):
        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.float32, "a"),
                tf.TensorSpec([None], tf.float32, "b"),
            ]
        )
        def fn(a, b):
            return {"d": a - b}

        concrete = fn.get_concrete_function()
        self.assertEqual(list(private_api.signature_argument_names(concrete)), ["a", "b"])
        a, b = tf.constant([3.0, 1.0]), tf.constant([1.0, 1.0])
        self.assertAllClose(private_api.call_flat(concrete, [a, b])["d"], fn(a, b)["d"])

    def test_session_callable_and_silenced_deprecations(self):
        from tensorflow.core.protobuf import config_pb2

        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            tf.identity(x * 2.0, name="y")
        with tf.compat.v1.Session(graph=graph) as session, private_api.silenced_deprecations():
            options = config_pb2.CallableOptions()
            options.feed.append("x:0")
            options.fetch.append("y:0")
            run = private_api.session_callable(session, options)
            self.assertAllClose(run(np.array([1.0, 2.0], "float32"))[0], [2.0, 4.0])

    def test_xla_context(self):
        seen = []

        @tf.function(jit_compile=True)
        def compiled(x):
            seen.append(private_api.in_xla_context())
            return x + 1

        @tf.function
        def plain(x):
            seen.append(private_api.in_xla_context())
            return x + 1

        compiled(tf.constant(1.0))
        plain(tf.constant(1.0))
        self.assertEqual(seen, [True, False])


class LiteRTTest(tf.test.TestCase):
    def test_interpreter_ops(self):
        from ai_edge_litert.interpreter import Interpreter

        @tf.function(input_signature=[tf.TensorSpec([1, 3], tf.float32)])
        def fn(x):
            return tf.nn.relu(x)

        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [fn.get_concrete_function()], fn
        )
        interpreter = Interpreter(model_content=converter.convert())
        names = [op["op_name"] for op in private_api.interpreter_ops(interpreter)]
        self.assertEqual(names, ["RELU"])


# Reads of underscore attributes that are not Keras/TF private API.
NOT_KERAS_OR_TF = {
    ("cli.py", "_actions"),  # argparse's list of actions (standard library)
    ("layers/dense_transpose.py", "_tie_lost"),  # DenseTranspose's own flag
}


class OnlyHereTest(tf.test.TestCase):
    def test_no_private_api_outside_the_module(self):
        found = []
        for path in sorted(PACKAGE.rglob("*.py")):
            name = str(path.relative_to(PACKAGE))
            if name == "_core/private_api.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    modules = (
                        [node.module]
                        if isinstance(node, ast.ImportFrom)
                        else [a.name for a in node.names]
                    )
                    found += [
                        (name, m)
                        for m in modules
                        if m and m.startswith(("keras.src", "tensorflow.python"))
                    ]
                elif (
                    isinstance(node, ast.Attribute)
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                ):
                    base = node.value
                    own = isinstance(base, ast.Name) and base.id in ("self", "cls")
                    parent = isinstance(base, ast.Call) and ast.unparse(base.func) == "super"
                    if not (
                        own
                        or parent
                        or node.attr == "_replace"
                        or (name, node.attr) in NOT_KERAS_OR_TF
                    ):
                        found.append((name, node.attr))
                elif isinstance(node, ast.Call) and ast.unparse(node.func) in (
                    "getattr",
                    "hasattr",
                    "setattr",
                ):
                    if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                        attribute = node.args[1].value
                        if (
                            isinstance(attribute, str)
                            and attribute.startswith("_")
                            and not attribute.startswith(("__", "_tracked_"))
                        ):
                            found.append((name, attribute))
                elif (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and "_ib-" in node.value
                ):
                    found.append((name, "a Keras node key"))
        self.assertEqual(found, [])
