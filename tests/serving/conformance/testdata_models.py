"""Our own builders of the models TF Serving's tests run against.

They reproduce the signatures (names, tensor names, dtypes, shapes, methods)
of `tensorflow_serving/servables/tensorflow/testdata/` as read from its
`saved_model.pb` files and generation scripts; the files themselves are not
copied. Each builder writes one SavedModel version directory.

    half_plus_two (TF1 graph)  y = 0.5 x + 2, y2 = 0.5 x + 3, y3 = 0.5 x2 + 3
    half_plus_three (TF1)      y = 0.5 x + 3; regress under the key "tensorflow/serving/regress"
    half_plus_two_tf2          a tf.Module with the same signatures, all saved as predict
    counter (TF1)              get / incr / incr_by / reset a float reference variable
"""

import os

import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

v1 = tf.compat.v1

REGRESS = "tensorflow/serving/regress"
CLASSIFY = "tensorflow/serving/classify"
PREDICT = "tensorflow/serving/predict"


def _info(tensor, unknown_rank=False, no_shape=False):
    """A TensorInfo; TF Serving's old exports left the shape unknown or unset on some inputs."""
    info = meta_graph_pb2.TensorInfo(name=tensor.name, dtype=tensor.dtype.as_datatype_enum)
    if no_shape:
        return info
    if unknown_rank:
        info.tensor_shape.unknown_rank = True
    else:
        info.tensor_shape.CopyFrom(tensor.shape.as_proto())
    return info


def _signature(inputs, outputs, method):
    return meta_graph_pb2.SignatureDef(inputs=inputs, outputs=outputs, method_name=method)


def _write_asset(export_dir):
    """The `assets/foo.txt` the testdata models carry (exercises asset loading)."""
    source = os.path.join(os.path.dirname(export_dir.rstrip("/")), ".assets-src")
    os.makedirs(source, exist_ok=True)
    path = os.path.join(source, "foo.txt")
    with open(path, "w") as f:
        f.write("asset-file-contents")
    return path


def half_plus_two(export_dir, b=2.0, c=3.0, classify_x2=False):
    """TF1 `half_plus_two`: the `_cpu` signatures (init op as `saved_model_main_op`), or with
    `classify_x2` those plus `classify_x2_to_y3` (init op in the old `legacy_init_op`
    collection), as the `2_versions` model has them."""
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        a = v1.Variable(0.5, name="a")
        b_var = v1.Variable(b, name="b")
        c_var = v1.Variable(c, name="c")
        serialized = v1.placeholder(tf.string, name="tf_example", shape=[None])
        features = v1.parse_example(
            serialized,
            {
                "x": v1.FixedLenFeature([1], tf.float32),
                "x2": v1.FixedLenFeature([1], tf.float32, default_value=[0.0]),
            },
        )
        x = tf.identity(features["x"], name="x")
        y = tf.identity(a * x + b_var, name="y")
        y2 = tf.identity(a * x + c_var, name="y2")
        x2 = tf.identity(features["x2"], name="x2")
        a2 = v1.Variable(0.5, name="a2")
        c2 = v1.Variable(c, name="c2")
        y3 = tf.identity(a2 * x2 + c2, name="y3")
        asset = tf.constant(_write_asset(export_dir))
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset)
        filename = v1.Variable("foo.txt", name="filename_tensor", trainable=False, collections=[])
        assign_filename = filename.assign("foo.txt")

        examples = _info(serialized, unknown_rank=True)
        signatures = {
            "serving_default": _signature({"x": _info(x)}, {"y": _info(y)}, PREDICT),
            "regress_x_to_y": _signature({"inputs": examples}, {"outputs": _info(y)}, REGRESS),
            "regress_x_to_y2": _signature({"inputs": examples}, {"outputs": _info(y2)}, REGRESS),
            "regress_x2_to_y3": _signature({"inputs": _info(x2)}, {"outputs": _info(y3)}, REGRESS),
            "classify_x_to_y": _signature({"inputs": examples}, {"scores": _info(y)}, CLASSIFY),
        }
        if classify_x2:
            signatures["classify_x2_to_y3"] = _signature(
                {"inputs": _info(x2)}, {"scores": _info(y3)}, CLASSIFY
            )
        if classify_x2:
            v1.add_to_collection("legacy_init_op", tf.group(assign_filename))
        sess.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(export_dir)
        builder.add_meta_graph_and_variables(
            sess,
            [v1.saved_model.tag_constants.SERVING],
            signature_def_map=signatures,
            assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
            main_op=None if classify_x2 else tf.group(assign_filename),
        )
        builder.save()
    return export_dir


def half_plus_three(export_dir):
    """TF1 `half_plus_three`: `serving_default` (x, y with no shape recorded) and a regress
    signature whose key is the method name itself, as the testdata model has.

    As in the testdata model, `x` is `[-1, 1]` in the graph while its TensorInfo records
    no shape (the TF 1.0 exporter wrote none), which `tf.saved_model.load` reads as a
    scalar and refuses ("Shapes must be equal rank"); TF Serving's session never looks."""
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        a = v1.Variable(0.5, name="a", use_resource=False)
        b = v1.Variable(3.0, name="b", use_resource=False)
        v1.Variable(4.0, name="c", use_resource=False)
        serialized = v1.placeholder(tf.string, name="tf_example")
        parsed = v1.parse_example(serialized, {"x": v1.FixedLenFeature([1], tf.float32)})["x"]
        x = tf.identity(tf.reshape(parsed, [-1, 1]), name="x")
        y = tf.add(a * x, b, name="y")
        outputs = tf.identity(y)
        # As the testdata model: an asset and its init op in the old `legacy_init_op` collection.
        asset = tf.constant(_write_asset(export_dir))
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset)
        filename = v1.Variable(
            "foo.txt", name="filename_tensor", trainable=False, collections=[], use_resource=False
        )
        v1.add_to_collection("legacy_init_op", tf.group(filename.assign("foo.txt")))
        signatures = {
            "serving_default": _signature(
                {"x": _info(x, no_shape=True)}, {"y": _info(y, no_shape=True)}, PREDICT
            ),
            REGRESS: _signature(
                {"inputs": _info(serialized, no_shape=True)},
                {"outputs": _info(outputs, no_shape=True)},
                REGRESS,
            ),
        }
        sess.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(export_dir)
        builder.add_meta_graph_and_variables(
            sess,
            [v1.saved_model.tag_constants.SERVING],
            signature_def_map=signatures,
            assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
        )
        builder.save()
    return export_dir


class _HalfPlusTwo(tf.Module):
    """TF2 half_plus_two: every signature is saved with the predict method name."""

    def __init__(self):
        super().__init__()
        self.a = tf.Variable(0.5, name="a")
        self.b = tf.Variable(2.0, name="b")
        self.c = tf.Variable(3.0, name="c")

    def _parse_x(self, serialized):
        return tf.io.parse_example(
            serialized,
            {
                "x": tf.io.FixedLenFeature([1], tf.float32),
                "x2": tf.io.FixedLenFeature([1], tf.float32, [0.0]),
            },
        )["x"]

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="x")])
    def predict(self, x):
        return {"y": self.a * x + self.b}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_x_to_y(self, inputs):
        return {"outputs": self.a * self._parse_x(inputs) + self.b}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_x_to_y2(self, inputs):
        return {"outputs": self.a * self._parse_x(inputs) + self.c}

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="inputs")])
    def regress_x2_to_y3(self, inputs):
        return {"outputs": self.a * inputs + self.c}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify_x_to_y(self, inputs):
        return {"scores": self.a * self._parse_x(inputs) + self.b}

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="inputs")])
    def classify_x2_to_y3(self, inputs):
        return {"scores": self.a * inputs + self.c}


def half_plus_two_tf2(export_dir):
    module = _HalfPlusTwo()
    signatures = {
        "serving_default": module.predict,
        "regress_x_to_y": module.regress_x_to_y,
        "regress_x_to_y2": module.regress_x_to_y2,
        "regress_x2_to_y3": module.regress_x2_to_y3,
        "classify_x_to_y": module.classify_x_to_y,
        "classify_x2_to_y3": module.classify_x2_to_y3,
    }
    tf.saved_model.save(module, export_dir, signatures=signatures)
    return export_dir


def counter(export_dir):
    """TF1 counter: stateful predict signatures with no inputs (and one with `delta`), on a
    reference variable whose assign ops' outputs are the signatures' outputs, as the
    testdata model (`tf.saved_model.load` refuses it: "has a reference type float_ref")."""
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as sess:
        count = v1.Variable(0.0, dtype=tf.float32, name="counter", use_resource=False)
        with tf.name_scope("incr_counter_op"):
            incr = v1.assign_add(count, 1.0)
        delta = v1.placeholder(tf.float32, name="delta")
        with tf.name_scope("incr_counter_by_op"):
            incr_by = v1.assign_add(count, delta)
        with tf.name_scope("reset_counter_op"):
            reset = v1.assign(count, 0.0)
        signatures = {
            "get_counter": _signature({}, {"output": _info(count)}, PREDICT),
            "incr_counter": _signature({}, {"output": _info(incr)}, PREDICT),
            "incr_counter_by": _signature(
                {"delta": _info(delta, unknown_rank=True)}, {"output": _info(incr_by)}, PREDICT
            ),
            "reset_counter": _signature({}, {"output": _info(reset)}, PREDICT),
        }
        sess.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(export_dir)
        builder.add_meta_graph_and_variables(
            sess, [v1.saved_model.tag_constants.SERVING], signature_def_map=signatures
        )
        builder.save()
    return export_dir


class _Echo(tf.Module):
    """The api_rest.md examples: named inputs `tag` / `signal` / `sensor`, outputs that
    echo them (`tag_bytes` is binary: written as base64) and `signal_sum`."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="tag"),
            tf.TensorSpec([None, 5], tf.float32, name="signal"),
            tf.TensorSpec([None, 2, 2], tf.float32, name="sensor"),
        ]
    )
    def echo(self, tag, signal, sensor):
        return {
            "tag_bytes": tag,
            "signal": signal,
            "sensor": sensor,
            "signal_sum": tf.reduce_sum(signal, axis=1),
        }

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string, name="text")])
    def strings(self, text):
        return {"text": text}

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
    def double(self, x):
        return {"y": 2.0 * x}


def echo(export_dir):
    module = _Echo()
    signatures = {
        "serving_default": module.echo,
        "strings": module.strings,
        "double": module.double,
    }
    tf.saved_model.save(module, export_dir, signatures=signatures)
    return export_dir


_BUILT = {}


def build_testdata():
    """`{layout: {model: base path}}` for the layouts "padded" (`00000123`, as TF Serving's
    testdata) and "plain" (`123`), built once per test process."""
    if _BUILT:
        return _BUILT
    import atexit
    import shutil
    import tempfile

    root = tempfile.mkdtemp(prefix="tfx_ext_tfs_testdata_")
    atexit.register(shutil.rmtree, root, True)
    padded = os.path.join(root, "padded")
    builders = {
        "saved_model_half_plus_two_cpu": [(123, half_plus_two)],
        "saved_model_half_plus_three": [(123, half_plus_three)],
        "saved_model_half_plus_two_2_versions": [
            (123, lambda d: half_plus_two(d, classify_x2=True)),
            (124, lambda d: half_plus_two(d, classify_x2=True)),
        ],
        "saved_model_half_plus_two_tf2_cpu": [(123, half_plus_two_tf2)],
        "saved_model_counter": [(123, counter)],
        "echo": [(1, echo)],
    }
    layouts = {"padded": {}, "plain": {}}
    for name, versions in builders.items():
        for version, build in versions:
            build(os.path.join(padded, name, f"{version:08d}"))
            shutil.rmtree(os.path.join(padded, name, ".assets-src"), ignore_errors=True)
        layouts["padded"][name] = os.path.join(padded, name)
        plain = os.path.join(root, "plain", name)
        for version, _ in versions:
            shutil.copytree(
                os.path.join(padded, name, f"{version:08d}"), os.path.join(plain, str(version))
            )
        layouts["plain"][name] = plain
    _BUILT.update(layouts)
    return _BUILT
