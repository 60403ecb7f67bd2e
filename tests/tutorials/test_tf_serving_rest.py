"""Replay of TF Serving's REST tutorials (`g3doc/docker.md`, `g3doc/api_rest.md`)
and of the version policy of `g3doc/serving_config.md`, against our local server.

The tutorials serve the toy models `saved_model_half_plus_two_cpu` (y = x / 2 + 2)
and `saved_model_half_plus_three` (y = x / 2 + 3, version directory `00000123`)
from TF Serving's test data. We build the same functions as Keras models and
export them with `tfx_ext.export.export_for_serving`; `curl` becomes `requests`
with the tutorial's exact body, and the server runs on a free 127.0.0.1 port
instead of 8501 (no Docker here). Each step asserts the response the tutorial
shows, or the Keras model's own prediction.
"""

import json
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import requests
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from tests.export.models import free_port, temp_dir
from tfx_ext.export import ModelEntry, export_for_serving, inspect_saved_model, write_model_config
from tfx_ext.serving import LocalModelServer


def half_plus(offset):
    """A scalar-in, scalar-out Keras model computing x / 2 + offset (input `x`)."""
    inputs = keras.Input(shape=(), name="x")
    outputs = keras.layers.Rescaling(0.5, offset=offset, name="y")(inputs)
    return keras.Model(inputs, outputs)


def wait_for(condition, timeout=30.0):
    """Polls `condition()` until it is truthy (the server picks versions up by polling)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout} s")


class DockerQuickstartTest(tf.test.TestCase):
    """docker.md, "TensorFlow Serving with Docker": serve half_plus_two and query it."""

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.models = os.path.join(temp_dir(self), "models")
        export_for_serving(half_plus(2.0), self.models, "half_plus_two")
        self.port = free_port()
        self.server = LocalModelServer(
            self.models, rest_port=self.port, grpc_port=0, poll_seconds=0.2
        ).start()
        self.addCleanup(self.server.stop)

    def test_curl_predict_returns_the_documented_json(self):
        # curl -d '{"instances": [1.0, 2.0, 5.0]}' -X POST http://localhost:8501/v1/models/half_plus_two:predict
        response = requests.post(
            f"http://localhost:{self.port}/v1/models/half_plus_two:predict",
            data='{"instances": [1.0, 2.0, 5.0]}',
        )
        self.assertEqual(response.status_code, 200, msg=response.text)
        self.assertEqual(response.headers["Content-Type"], "application/json")
        # Returns => { "predictions": [2.5, 3.0, 4.5] }: the exact values, and written as
        # the tutorial writes them (3.0 stays a float, not the integer 3).
        self.assertEqual(response.json(), {"predictions": [2.5, 3.0, 4.5]})
        self.assertEqual([type(v) for v in response.json()["predictions"]], [float] * 3)
        self.assertEqual(
            json.loads(response.text, parse_float=str)["predictions"], ["2.5", "3.0", "4.5"]
        )


class RestApiExampleTest(tf.test.TestCase):
    """api_rest.md, "Example": status, predict, regress and an error on saved_model_half_plus_three."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        cls.tmp = tempfile.mkdtemp(prefix="tfx_ext_rest_tutorial_")
        cls.models = os.path.join(cls.tmp, "testdata")
        cls.model = half_plus(3.0)
        # The tutorial's model sits in version directory 00000123 (version 123); its
        # regress signature reads a float feature `x` from tf.train.Examples.
        cls.path = export_for_serving(
            cls.model,
            cls.models,
            "saved_model_half_plus_three",
            version=123,
            example_spec={"x": tf.io.FixedLenFeature([], tf.float32)},
        )
        cls.port = free_port()
        cls.server = LocalModelServer(
            cls.models, rest_port=cls.port, grpc_port=0, poll_seconds=0.2
        ).start()
        cls.url = f"http://localhost:{cls.port}/v1/models/saved_model_half_plus_three"
        cls._cleanup = lambda: shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls._cleanup()
        super().tearDownClass()

    def test_model_status(self):
        # $ curl http://localhost:8501/v1/models/saved_model_half_plus_three
        response = requests.get(self.url)
        self.assertEqual(response.status_code, 200, msg=response.text)
        self.assertEqual(
            response.json(),
            {
                "model_version_status": [
                    {
                        "version": "123",
                        "state": "AVAILABLE",
                        "status": {"error_code": "OK", "error_message": ""},
                    }
                ]
            },
        )

    def test_predict(self):
        # $ curl -d '{"instances": [1.0,2.0,5.0]}' -X POST .../saved_model_half_plus_three:predict
        response = requests.post(self.url + ":predict", data='{"instances": [1.0,2.0,5.0]}')
        self.assertEqual(response.status_code, 200, msg=response.text)
        self.assertEqual(response.json(), {"predictions": [3.5, 4.0, 5.5]})
        x = np.array([1.0, 2.0, 5.0], "float32")
        self.assertAllEqual(response.json()["predictions"], self.model.predict(x, verbose=0))

    def test_regress(self):
        # The tutorial's signature is named "tensorflow/serving/regress" (a TF1 export);
        # export_for_serving names it "regress", so that is the one change to the body.
        body = '{"signature_name": "regress", "examples": [{"x": 1.0}, {"x": 2.0}]}'
        response = requests.post(self.url + ":regress", data=body)
        self.assertEqual(response.status_code, 200, msg=response.text)
        self.assertEqual(response.json(), {"results": [3.5, 4.0]})

    def test_regress_with_the_tutorials_signature_name_fails_loudly(self):
        body = (
            '{"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]}'
        )
        response = requests.post(self.url + ":regress", data=body)
        self.assertEqual(response.status_code, 400, msg=response.text)
        self.assertIn("tensorflow/serving/regress", response.json()["error"])
        self.assertIn(
            "No signature was found with the name", response.json()["error"]
        )  # TF Serving's text

    def test_unknown_model_is_404_with_the_documented_body(self):
        # $ curl -i -d '{"instances": [1.0,5.0]}' -X POST http://localhost:8501/v1/models/half:predict
        response = requests.post(
            f"http://localhost:{self.port}/v1/models/half:predict", data='{"instances": [1.0,5.0]}'
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.headers["Content-Type"], "application/json")
        self.assertEqual(response.json(), {"error": "Servable not found for request: Latest(half)"})

    def test_metadata_describes_the_exported_signatures(self):
        response = requests.get(self.url + "/metadata")
        self.assertEqual(response.status_code, 200, msg=response.text)
        body = response.json()
        self.assertEqual(
            body["model_spec"],
            {"name": "saved_model_half_plus_three", "signature_name": "", "version": "123"},
        )
        served = body["metadata"]["signature_def"]["signature_def"]
        # The expectation is read from saved_model.pb, not from the server.
        for name, expected in inspect_saved_model(self.path).items():
            self.assertEqual(served[name]["method_name"], expected.method_name)
            for kind, tensors in (("inputs", expected.inputs), ("outputs", expected.outputs)):
                self.assertEqual(sorted(served[name][kind]), [t.name for t in tensors])
                for t in tensors:
                    info = served[name][kind][t.name]
                    self.assertEqual(
                        info["dtype"],
                        types_pb2.DataType.Name(tf.as_dtype(t.dtype).as_datatype_enum),
                    )
                    dims = [int(d["size"]) for d in info["tensor_shape"].get("dim", [])]
                    self.assertEqual(dims, [-1 if d is None else d for d in t.shape])
        self.assertEqual(served["serving_default"]["inputs"]["x"]["dtype"], "DT_FLOAT")
        self.assertEqual(served["serving_default"]["outputs"]["y"]["dtype"], "DT_FLOAT")
        self.assertEqual(served["regress"]["method_name"], "tensorflow/serving/regress")


class VersionPolicyTest(tf.test.TestCase):
    """serving_config.md: the latest version by default, a pinned version, and labels.

    Each version is a different function, so the answer says which one served it.
    """

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.tmp = temp_dir(self)
        self.models = os.path.join(self.tmp, "models")
        self.v42 = half_plus(2.0)
        self.v43 = half_plus(3.0)
        export_for_serving(self.v42, self.models, "half", version=42)
        self.x = np.array([1.0, 2.0, 5.0], "float32")

    def predict(self, port, suffix=""):
        response = requests.post(
            f"http://127.0.0.1:{port}/v1/models/half{suffix}:predict",
            json={"instances": self.x.tolist()},
        )
        self.assertEqual(response.status_code, 200, msg=response.text)
        return response.json()["predictions"]

    def expected(self, model):
        return model.predict(self.x, verbose=0).tolist()

    def test_a_new_version_directory_is_served_by_default(self):
        port = free_port()
        with LocalModelServer(self.models, rest_port=port, grpc_port=0, poll_seconds=0.2):
            self.assertEqual(self.predict(port), self.expected(self.v42))
            export_for_serving(self.v43, self.models, "half")  # the next integer: 43
            self.assertTrue(os.path.isdir(os.path.join(self.models, "half", "43")))
            wait_for(lambda: self.predict(port) == self.expected(self.v43))
            status = requests.get(f"http://127.0.0.1:{port}/v1/models/half").json()[
                "model_version_status"
            ]
            states = {s["version"]: s["state"] for s in status}
            self.assertEqual(states["43"], "AVAILABLE")
            self.assertNotEqual(states.get("42"), "AVAILABLE")  # the latest policy unloads 42
            self.assertEqual(self.predict(port, "/versions/43"), self.expected(self.v43))
            response = requests.post(
                f"http://127.0.0.1:{port}/v1/models/half/versions/42:predict",
                json={"instances": [1.0]},
            )
            self.assertEqual(response.status_code, 404, msg=response.text)

    def test_specific_version_is_pinned_even_when_a_newer_one_exists(self):
        export_for_serving(self.v43, self.models, "half", version=43)
        config = write_model_config(
            os.path.join(self.tmp, "models.config"),
            [ModelEntry("half", os.path.join(self.models, "half"), versions=[42])],
        )
        port = free_port()
        with LocalModelServer(
            model_config_file=config, rest_port=port, grpc_port=0, poll_seconds=0.2
        ):
            self.assertEqual(self.predict(port), self.expected(self.v42))
            self.assertEqual(self.predict(port, "/versions/42"), self.expected(self.v42))

    def test_stable_and_canary_labels(self):
        export_for_serving(self.v43, self.models, "half", version=43)
        config = write_model_config(
            os.path.join(self.tmp, "models.config"),
            [
                ModelEntry(
                    "half",
                    os.path.join(self.models, "half"),
                    versions=[42, 43],
                    labels={"stable": 42, "canary": 43},
                )
            ],
        )
        port = free_port()
        with LocalModelServer(
            model_config_file=config, rest_port=port, grpc_port=0, poll_seconds=0.2
        ):
            self.assertNotEqual(self.expected(self.v42), self.expected(self.v43))
            self.assertEqual(self.predict(port, "/labels/stable"), self.expected(self.v42))
            self.assertEqual(self.predict(port, "/labels/canary"), self.expected(self.v43))
            self.assertEqual(self.predict(port, "/versions/42"), self.expected(self.v42))
            self.assertEqual(
                self.predict(port), self.expected(self.v43)
            )  # the largest served version
            response = requests.post(
                f"http://127.0.0.1:{port}/v1/models/half/labels/beta:predict",
                json={"instances": [1.0]},
            )
            self.assertEqual(response.status_code, 400, msg=response.text)
            self.assertEqual(
                response.json(), {"error": "Unrecognized servable version label: beta"}
            )


def write_tf1_half_plus_three(export_path):
    """The toy model of api_rest.md's example as TF Serving's test data has it (a TF1
    SavedModel), in our own words: `serving_default` maps `x` to `y = x / 2 + 3`,
    and the regress signature, named `tensorflow/serving/regress`, reads `x` from
    serialized tf.train.Examples."""
    v1 = tf.compat.v1
    with tf.Graph().as_default(), v1.Session() as sess:
        a = tf.Variable(0.5, name="a")
        b = tf.Variable(3.0, name="b")
        x = v1.placeholder(tf.float32, shape=[None], name="x")
        y = tf.add(a * x, b, name="y")
        serialized = v1.placeholder(tf.string, shape=[None], name="tf_example")
        parsed = tf.io.parse_example(serialized, {"x": tf.io.FixedLenFeature([1], tf.float32)})
        regressed = tf.add(a * parsed["x"], b, name="regressed")
        sess.run(v1.global_variables_initializer())
        info = v1.saved_model.utils.build_tensor_info
        constants = v1.saved_model.signature_constants
        build = v1.saved_model.signature_def_utils.build_signature_def
        builder = v1.saved_model.Builder(export_path)
        builder.add_meta_graph_and_variables(
            sess,
            [v1.saved_model.tag_constants.SERVING],
            signature_def_map={
                constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY: build(
                    {"x": info(x)}, {"y": info(y)}, constants.PREDICT_METHOD_NAME
                ),
                constants.REGRESS_METHOD_NAME: build(
                    {constants.REGRESS_INPUTS: info(serialized)},
                    {constants.REGRESS_OUTPUTS: info(regressed)},
                    constants.REGRESS_METHOD_NAME,
                ),
            },
        )
        builder.save()


class RestApiExampleOnTf1ModelTest(tf.test.TestCase):
    """api_rest.md's example with every request unchanged, on a TF1 SavedModel laid
    out as TF Serving's test data (`saved_model_half_plus_three/00000123`)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="tfx_ext_rest_tf1_")
        cls._cleanup = lambda: shutil.rmtree(cls.tmp, ignore_errors=True)
        testdata = os.path.join(cls.tmp, "testdata")
        write_tf1_half_plus_three(os.path.join(testdata, "saved_model_half_plus_three", "00000123"))
        cls.port = free_port()
        cls.server = LocalModelServer(
            testdata, rest_port=cls.port, grpc_port=0, poll_seconds=0.2
        ).start()
        cls.host = f"http://localhost:{cls.port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls._cleanup()
        super().tearDownClass()

    def test_status(self):
        response = requests.get(self.host + "/v1/models/saved_model_half_plus_three")
        self.assertEqual(
            response.json(),
            {
                "model_version_status": [
                    {
                        "version": "123",
                        "state": "AVAILABLE",
                        "status": {"error_code": "OK", "error_message": ""},
                    }
                ]
            },
        )

    def test_predict(self):
        response = requests.post(
            self.host + "/v1/models/saved_model_half_plus_three:predict",
            data='{"instances": [1.0,2.0,5.0]}',
        )
        self.assertEqual(response.json(), {"predictions": [3.5, 4.0, 5.5]})

    def test_regress(self):
        response = requests.post(
            self.host + "/v1/models/saved_model_half_plus_three:regress",
            data='{"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]}',
        )
        self.assertEqual(response.status_code, 200, msg=response.text)
        self.assertEqual(response.json(), {"results": [3.5, 4.0]})

    def test_unknown_model(self):
        response = requests.post(
            self.host + "/v1/models/half:predict", data='{"instances": [1.0,5.0]}'
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json(), {"error": "Servable not found for request: Latest(half)"})
