"""Replay of "Hands-On Machine Learning" (2nd ed.), chapter 19, "Serving a
TensorFlow Model": save a SavedModel under `my_mnist_model/0001`, inspect it,
query it with the book's REST and gRPC client code, deploy version `0002`.

Substitutions: the 8x8 digits that scikit-learn ships stand in for MNIST
(downloaded by `keras.datasets`), so the book's `Flatten(input_shape=[28, 28, 1])`
becomes `[8, 8, 1]`; fewer epochs; the local server (`tfx_ext.serving`) runs on
free 127.0.0.1 ports instead of `tensorflow/serving` in Docker on 8500 / 8501.

The book ran on tf.keras 2. Two of its lines do not hold on Keras 3, and each
fails loudly (tested below) rather than answering wrong:

- a Keras 3 `Sequential` has no `input_names` / `output_names`: the names come
  from the exported signature (`tfx_ext.export.inspect_saved_model`).
  `tf.saved_model.save` names them `inputs` / `output_0`; `export_for_serving`
  names them `inputs` / the output layer's name, `class_ids`, `probabilities`.
- `export_for_serving` gives a classifier three outputs, so REST
  `"predictions"` is a list of `{name: value}` objects, not the book's bare
  list: read `p["probabilities"]` of each.
"""

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import grpc
import keras
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import prediction_service_pb2_grpc
from tensorflow_serving.apis.predict_pb2 import PredictRequest

from tests.datasets import digits
from tests.export.models import free_port
from tfx_ext.export import export_for_serving, inspect_saved_model
from tfx_ext.serving import LocalModelServer

MODEL_NAME = "my_mnist_model"


def book_data():
    """Digits as the book shapes MNIST: images with a channel axis, float32."""
    x_train, y_train, x_test, y_test = digits()
    return x_train.reshape(-1, 8, 8, 1), y_train, x_test.reshape(-1, 8, 8, 1), y_test


@functools.lru_cache(maxsize=None)
def book_model(hidden=(100,), seed=42, epochs=3):
    """The book's classifier (first version: one hidden layer of 100 units;
    the new version: two of 50). Trained once per session: the tests only
    export it and predict with it."""
    keras.utils.set_random_seed(seed)
    x_train, y_train, _, _ = book_data()
    model = keras.models.Sequential(
        [keras.layers.Flatten(input_shape=[8, 8, 1])]
        + [keras.layers.Dense(units, activation="relu") for units in hidden]
        + [keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.SGD(learning_rate=1e-2),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=epochs, verbose=0)
    return model


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout} s")


def book_rest_predict(server_url, X_new):
    """The book's REST client, verbatim but for the URL."""
    input_data_json = json.dumps(
        {
            "signature_name": "serving_default",
            "instances": X_new.tolist(),
        }
    )
    response = requests.post(server_url, data=input_data_json)
    response.raise_for_status()  # raise an exception in case of error
    response = response.json()
    return response


def book_grpc_predict(hostport, model_name, input_name, output_name, X_new):
    """The book's gRPC client, verbatim but for the address and the two names
    (the book takes them from `model.input_names[0]` / `model.output_names[0]`)."""
    request = PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = "serving_default"
    request.inputs[input_name].CopyFrom(tf.make_tensor_proto(X_new))

    channel = grpc.insecure_channel(hostport)
    predict_service = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    try:
        response = predict_service.Predict(request, timeout=10.0)
    finally:
        channel.close()
    outputs_proto = response.outputs[output_name]
    y_proba = tf.make_ndarray(outputs_proto)
    return y_proba


class _ServedBookModel(tf.test.TestCase):
    """A server on a fresh models directory, and the book's first model."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = book_model()
        cls.X_new = book_data()[2][:3]
        cls.y_proba = cls.model.predict(cls.X_new, verbose=0)
        cls.tmp = tempfile.mkdtemp(prefix="tfx_ext_ch19_")
        cls.models = os.path.join(cls.tmp, "models")
        cls.export()
        cls.rest_port, cls.grpc_port = free_port(), free_port()
        cls.server = LocalModelServer(
            cls.models, rest_port=cls.rest_port, grpc_port=cls.grpc_port, poll_seconds=0.2
        ).start()
        cls.server_url = f"http://localhost:{cls.rest_port}/v1/models/{MODEL_NAME}:predict"
        cls.hostport = f"localhost:{cls.grpc_port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()


class BookSavedModelTest(_ServedBookModel):
    """The book's own export: `tf.saved_model.save(model, "my_mnist_model/0001")`."""

    @classmethod
    def export(cls):
        model_version = "0001"
        model_path = os.path.join(cls.models, MODEL_NAME, model_version)
        tf.saved_model.save(cls.model, model_path)
        cls.model_path = model_path

    def test_keras3_sequential_has_no_input_or_output_names(self):
        # The book's `input_name = model.input_names[0]` fails loudly on Keras 3.
        with self.assertRaises(AttributeError):
            self.model.input_names  # noqa: B018
        with self.assertRaises(AttributeError):
            self.model.output_names  # noqa: B018

    def test_saved_model_files(self):
        files = {
            os.path.relpath(os.path.join(root, name), self.model_path)
            for root, _, names in os.walk(self.model_path)
            for name in names
        }
        self.assertIn("saved_model.pb", files)
        self.assertIn(os.path.join("variables", "variables.index"), files)
        self.assertIn(os.path.join("variables", "variables.data-00000-of-00001"), files)

    def test_signature_names_to_use(self):
        signature = inspect_saved_model(self.model_path)["serving_default"]
        self.assertEqual(
            [(t.name, t.dtype, t.shape) for t in signature.inputs],
            [("inputs", "float32", (None, 8, 8, 1))],
        )
        self.assertEqual(
            [(t.name, t.dtype, t.shape) for t in signature.outputs],
            [("output_0", "float32", (None, 10))],
        )
        # The same names as TensorFlow itself reports them.
        serving = tf.saved_model.load(self.model_path).signatures["serving_default"]
        self.assertEqual(list(serving.structured_input_signature[1]), ["inputs"])
        self.assertEqual(list(serving.structured_outputs), ["output_0"])

    def test_loaded_signature_runs_like_saved_model_cli_run(self):
        # `saved_model_cli run --signature_def serving_default --inputs inputs=my_mnist_tests.npy`
        saved_model = tf.saved_model.load(self.model_path)
        y_proba = saved_model.signatures["serving_default"](inputs=tf.constant(self.X_new))[
            "output_0"
        ]
        self.assertAllClose(y_proba, self.y_proba, atol=1e-6)

    @pytest.mark.slow
    def test_saved_model_cli_show(self):
        """`saved_model_cli show --dir my_mnist_model/0001 --tag_set serve --signature_def serving_default`."""
        cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
        shown = subprocess.run(
            [
                cli,
                "show",
                "--dir",
                self.model_path,
                "--tag_set",
                "serve",
                "--signature_def",
                "serving_default",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        self.assertIn(
            "inputs['inputs'] tensor_info:\n      dtype: DT_FLOAT\n      shape: (-1, 8, 8, 1)",
            shown,
        )
        self.assertIn(
            "outputs['output_0'] tensor_info:\n      dtype: DT_FLOAT\n      shape: (-1, 10)", shown
        )
        self.assertIn("Method name is: tensorflow/serving/predict", shown)

    def test_book_rest_client(self):
        response = book_rest_predict(self.server_url, self.X_new)
        y_proba = np.array(response["predictions"])
        self.assertEqual(y_proba.shape, (3, 10))
        self.assertAllClose(y_proba.round(2), self.y_proba.round(2), atol=1e-9)
        self.assertAllClose(y_proba, self.y_proba, atol=1e-6)

    def test_book_grpc_client(self):
        # Names from the exported signature (test_signature_names_to_use), not from the model.
        y_proba = book_grpc_predict(self.hostport, MODEL_NAME, "inputs", "output_0", self.X_new)
        self.assertEqual(y_proba.dtype, np.float32)
        self.assertAllClose(y_proba, self.y_proba, atol=1e-6)

    def test_book_grpc_client_with_a_wrong_output_name_fails_loudly(self):
        # `response.outputs["dense_1"]` is a protobuf map lookup: it returns an empty
        # TensorProto instead of raising KeyError, and make_ndarray rejects its dtype 0.
        with self.assertRaisesRegex(TypeError, "Cannot convert the argument `type_value`: 0"):
            book_grpc_predict(self.hostport, MODEL_NAME, "inputs", "dense_1", self.X_new)
        with self.assertRaises(grpc.RpcError) as caught:
            book_grpc_predict(self.hostport, MODEL_NAME, "flatten_input", "output_0", self.X_new)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("flatten_input", caught.exception.details())


class OurExportTest(_ServedBookModel):
    """The same model exported with `tfx_ext.export.export_for_serving`."""

    @classmethod
    def export(cls):
        cls.model_path = export_for_serving(cls.model, cls.models, MODEL_NAME)
        cls.output_layer = cls.model.layers[-1].name
        # The same layers as a functional model, whose input is named by its Input.
        inputs = keras.Input((8, 8, 1), name="images")
        outputs = inputs
        for layer in cls.model.layers:
            outputs = layer(outputs)
        cls.functional = keras.Model(inputs, outputs)
        export_for_serving(cls.functional, cls.models, "my_mnist_functional")

    def test_signature_names_to_use(self):
        signature = inspect_saved_model(self.model_path)["serving_default"]
        self.assertEqual([t.name for t in signature.inputs], ["inputs"])
        self.assertEqual(
            [t.name for t in signature.outputs],
            sorted(["class_ids", "probabilities", self.output_layer]),
        )

    def test_book_rest_client_reads_probabilities(self):
        response = book_rest_predict(self.server_url, self.X_new)
        # The book's next line, unchanged, gives an object array of dicts; rounding it
        # raises instead of printing something plausible.
        unchanged = np.array(response["predictions"])
        self.assertEqual(unchanged.dtype, object)
        with self.assertRaises(TypeError):
            unchanged.round(2)
        y_proba = np.array([p["probabilities"] for p in response["predictions"]])
        self.assertAllClose(y_proba, self.y_proba, atol=1e-6)
        self.assertAllClose(
            [p[self.output_layer] for p in response["predictions"]], self.y_proba, atol=1e-6
        )
        self.assertEqual(
            [p["class_ids"] for p in response["predictions"]], list(np.argmax(self.y_proba, -1))
        )

    def test_book_grpc_client(self):
        for output_name in ("probabilities", self.output_layer):
            y_proba = book_grpc_predict(
                self.hostport, MODEL_NAME, "inputs", output_name, self.X_new
            )
            self.assertAllClose(y_proba, self.y_proba, atol=1e-6)
        class_ids = book_grpc_predict(self.hostport, MODEL_NAME, "inputs", "class_ids", self.X_new)
        self.assertEqual(class_ids.dtype, np.int64)
        self.assertAllEqual(class_ids, np.argmax(self.y_proba, -1))

    def test_book_grpc_client_on_a_functional_model(self):
        """A functional Keras 3 model has `output_names` (the book's line works) but no
        `input_names`: its inputs are named by `keras.Input(name=...)`."""
        with self.assertRaises(AttributeError):
            self.functional.input_names  # noqa: B018
        input_name = self.functional.inputs[0].name
        output_name = self.functional.output_names[0]
        self.assertEqual((input_name, output_name), ("images", self.output_layer))
        y_proba = book_grpc_predict(
            self.hostport, "my_mnist_functional", input_name, output_name, self.X_new
        )
        self.assertAllClose(y_proba, self.y_proba, atol=1e-6)


class DeployNewVersionTest(tf.test.TestCase):
    """ "Deploying a new model version": a new integer subdirectory is picked up
    and answers the next requests (the book's `0002`, and our next version)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tfx_ext_ch19_deploy_")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.models = os.path.join(self.tmp, "models")
        self.X_new = book_data()[2][:3]
        self.model_1 = book_model()
        self.model_2 = book_model(hidden=(50, 50))
        self.assertNotAllClose(
            self.model_1.predict(self.X_new, verbose=0), self.model_2.predict(self.X_new, verbose=0)
        )

    def served(self, port):
        url = f"http://localhost:{port}/v1/models/{MODEL_NAME}:predict"
        predictions = book_rest_predict(url, self.X_new)["predictions"]
        if predictions and isinstance(predictions[0], dict):
            return np.array([p["probabilities"] for p in predictions])
        return np.array(predictions)

    def answers_like(self, port, model):
        return np.allclose(self.served(port), model.predict(self.X_new, verbose=0), atol=1e-6)

    def status(self, port):
        body = requests.get(f"http://localhost:{port}/v1/models/{MODEL_NAME}").json()
        return {s["version"]: s["state"] for s in body["model_version_status"]}

    @pytest.mark.slow
    def test_book_saved_model_versions(self):
        tf.saved_model.save(self.model_1, os.path.join(self.models, MODEL_NAME, "0001"))
        port = free_port()
        with LocalModelServer(self.models, rest_port=port, grpc_port=0, poll_seconds=0.2):
            self.assertTrue(self.answers_like(port, self.model_1))
            model_version = "0002"
            model_path = os.path.join(self.models, MODEL_NAME, model_version)
            tf.saved_model.save(self.model_2, model_path)
            wait_for(lambda: self.answers_like(port, self.model_2))
            self.assertEqual(self.status(port)["2"], "AVAILABLE")

    def test_export_for_serving_versions(self):
        export_for_serving(self.model_1, self.models, MODEL_NAME)
        port = free_port()
        with LocalModelServer(self.models, rest_port=port, grpc_port=0, poll_seconds=0.2):
            self.assertTrue(self.answers_like(port, self.model_1))
            path = export_for_serving(self.model_2, self.models, MODEL_NAME)
            self.assertEqual(os.path.basename(path), "2")
            wait_for(lambda: self.answers_like(port, self.model_2))
            states = self.status(port)
            self.assertEqual(states["2"], "AVAILABLE")
            self.assertNotEqual(states.get("1"), "AVAILABLE")
