"""Replay of TF Serving's basic tutorial (`g3doc/serving_basic.md`): train and export
a softmax-regression digit classifier (`example/mnist_saved_model.py`), serve it,
and measure the error rate over gRPC Predict requests (`example/mnist_client.py`).

Substitutions: the 8x8 digits that scikit-learn ships (64 pixels) stand in for
MNIST (784 pixels, downloaded); the local server runs on a free 127.0.0.1 port
instead of `tensorflow/serving` in Docker on 8500.

Two exports are served side by side:

- `mnist`: the Keras 3 model exported with `tfx_ext.export.export_for_serving`.
  It cannot write the tutorial's signature names: Predict is `serving_default`
  (input `images`, output `scores` by `input_names` / `output_names`), and the
  classification signature is `classify` (the tutorial makes its default
  signature the classification one and names its Predict one `predict_images`).
  The client's one change is `signature_name = "serving_default"`.
- `mnist_tf1`: the tutorial's own export, rewritten here with TF1's
  `SavedModelBuilder` (signatures `predict_images` and a classification
  `serving_default`, a string lookup table initialised by `main_op`), which
  the tutorial's client queries unchanged.
"""

import os
import shutil
import tempfile
import threading

import grpc
import keras
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2, predict_pb2, prediction_service_pb2_grpc

from tests.datasets import digits
from tests.export.models import free_port
from tfx_ext.export import export_for_serving, inspect_saved_model
from tfx_ext.serving import LocalModelServer

PIXELS = 64
NUM_TESTS = 100


def softmax_regression():
    """The tutorial's model: y = softmax(x W + b), trained here with Keras."""
    inputs = keras.Input((PIXELS,), name="x")
    outputs = keras.layers.Dense(10, activation="softmax", name="y")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    x_train, y_train, _, _ = digits()
    model.fit(x_train, y_train, epochs=5, batch_size=50, verbose=0)
    return model


def export_tf1_tutorial_model(export_path, x_train, y_train, x_eval, steps=300):
    """The tutorial's TF1 export, in our own words: a graph that parses
    tf.train.Examples with feature `x`, a softmax regression trained by gradient
    descent, and the two signatures `predict_images` / `serving_default`.
    Returns the graph's own scores on `x_eval`, to compare the served ones with."""
    v1 = tf.compat.v1
    with tf.Graph().as_default(), v1.Session() as sess:
        serialized = v1.placeholder(tf.string, name="tf_example")
        parsed = tf.io.parse_example(serialized, {"x": tf.io.FixedLenFeature([PIXELS], tf.float32)})
        x = tf.identity(parsed["x"], name="x")
        labels = v1.placeholder(tf.float32, shape=[None, 10])
        weights = tf.Variable(tf.zeros([PIXELS, 10]))
        bias = tf.Variable(tf.zeros([10]))
        y = tf.nn.softmax(tf.matmul(x, weights) + bias, name="y")
        loss = -tf.reduce_sum(labels * tf.math.log(y + 1e-9))
        train = v1.train.GradientDescentOptimizer(0.001).minimize(loss)
        scores, indices = tf.nn.top_k(y, 10)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.range(10, dtype=tf.int64), tf.constant([str(i) for i in range(10)])
            ),
            default_value="",
        )
        classes = table.lookup(tf.cast(indices, tf.int64))
        sess.run(v1.global_variables_initializer())
        one_hot = np.eye(10, dtype="float32")[y_train]
        rng = np.random.default_rng(0)
        for _ in range(steps):
            batch = rng.choice(len(x_train), 50, replace=False)
            sess.run(train, {x: x_train[batch], labels: one_hot[batch]})

        info = v1.saved_model.utils.build_tensor_info
        constants = v1.saved_model.signature_constants
        classification = v1.saved_model.signature_def_utils.build_signature_def(
            inputs={constants.CLASSIFY_INPUTS: info(serialized)},
            outputs={
                constants.CLASSIFY_OUTPUT_CLASSES: info(classes),
                constants.CLASSIFY_OUTPUT_SCORES: info(scores),
            },
            method_name=constants.CLASSIFY_METHOD_NAME,
        )
        prediction = v1.saved_model.signature_def_utils.build_signature_def(
            inputs={"images": info(x)},
            outputs={"scores": info(y)},
            method_name=constants.PREDICT_METHOD_NAME,
        )
        builder = v1.saved_model.Builder(export_path)
        builder.add_meta_graph_and_variables(
            sess,
            [v1.saved_model.tag_constants.SERVING],
            signature_def_map={
                "predict_images": prediction,
                constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY: classification,
            },
            main_op=v1.tables_initializer(),
            strip_default_attrs=True,
        )
        builder.save()
        return sess.run(y, {x: x_eval})


def mnist_client(hostport, model_name, signature_name, images, labels, concurrency=4):
    """The tutorial client's procedure: one asynchronous Predict per image (at most
    `concurrency` in flight), `scores` read from `float_val`, the error rate
    against the labels. Returns (error rate, scores per image)."""
    channel = grpc.insecure_channel(hostport)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    slots = threading.Semaphore(concurrency)
    lock = threading.Lock()
    done = threading.Event()
    state = {"errors": 0, "done": 0, "exceptions": []}
    scores = [None] * len(images)

    def callback(index, label):
        def on_done(future):
            with lock:
                exception = future.exception()
                if exception is not None:
                    state["errors"] += 1
                    state["exceptions"].append(exception)
                else:
                    scores[index] = np.array(future.result().outputs["scores"].float_val)
                    if np.argmax(scores[index]) != label:
                        state["errors"] += 1
                state["done"] += 1
                if state["done"] == len(images):
                    done.set()
            slots.release()

        return on_done

    try:
        for index, (image, label) in enumerate(zip(images, labels)):
            request = predict_pb2.PredictRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = signature_name
            request.inputs["images"].CopyFrom(tf.make_tensor_proto(image, shape=[1, image.size]))
            slots.acquire()
            future = stub.Predict.future(request, 5.0)
            future.add_done_callback(callback(index, label))
        assert done.wait(60), "the server did not answer every request"
    finally:
        channel.close()
    return state["errors"] / len(images), scores, state["exceptions"]


class ServingBasicTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        cls.tmp = tempfile.mkdtemp(prefix="tfx_ext_serving_basic_")
        cls.base = os.path.join(cls.tmp, "models")
        x_train, y_train, x_test, y_test = digits()
        cls.images, cls.labels = x_test[:NUM_TESTS], y_test[:NUM_TESTS]
        cls.model = softmax_regression()
        # FLAGS.model_version defaults to 1: the export goes to <base>/mnist/1.
        cls.path = export_for_serving(
            cls.model,
            cls.base,
            "mnist",
            version=1,
            input_names=["images"],
            output_names=["scores"],
            example_spec={"x": tf.io.FixedLenFeature([PIXELS], tf.float32)},
        )
        cls.tf1_path = os.path.join(cls.base, "mnist_tf1", "1")
        cls.tf1_scores = export_tf1_tutorial_model(cls.tf1_path, x_train, y_train, cls.images)
        cls.grpc_port = free_port()
        cls.server = LocalModelServer(cls.base, rest_port=0, grpc_port=cls.grpc_port).start()
        cls.hostport = f"127.0.0.1:{cls.grpc_port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def test_export_directory_layout(self):
        # $ ls /tmp/mnist -> 1 ; $ ls /tmp/mnist/1 -> saved_model.pb variables
        self.assertEqual(os.listdir(os.path.join(self.base, "mnist")), ["1"])
        self.assertEqual(self.path, os.path.join(self.base, "mnist", "1"))
        content = os.listdir(self.path)
        self.assertIn("saved_model.pb", content)
        self.assertIn("variables", content)
        self.assertTrue(os.listdir(os.path.join(self.path, "variables")))

    def test_signatures_of_our_export(self):
        signatures = inspect_saved_model(self.path)
        self.assertNotIn("predict_images", signatures)  # a name our export cannot choose
        predict = signatures["serving_default"]
        self.assertEqual(predict.method_name, "tensorflow/serving/predict")
        self.assertEqual(
            [(t.name, t.dtype, t.shape) for t in predict.inputs],
            [("images", "float32", (None, PIXELS))],
        )
        self.assertEqual(
            [(t.name, t.dtype, t.shape) for t in predict.outputs],
            [
                ("class_ids", "int64", (None,)),
                ("probabilities", "float32", (None, 10)),
                ("scores", "float32", (None, 10)),
            ],
        )
        classify = signatures["classify"]
        self.assertEqual(classify.method_name, "tensorflow/serving/classify")
        self.assertEqual(
            [(t.name, t.dtype, t.shape) for t in classify.inputs], [("inputs", "string", (None,))]
        )
        self.assertEqual([t.name for t in classify.outputs], ["classes", "scores"])

    def test_mnist_client_error_rate(self):
        """The client with `signature_name = "serving_default"`: every answer equals
        model.predict, so the error rate is the model's own."""
        error_rate, scores, exceptions = mnist_client(
            self.hostport, "mnist", "serving_default", self.images, self.labels
        )
        self.assertEqual(exceptions, [])
        expected = self.model.predict(self.images, verbose=0)
        self.assertAllClose(np.stack(scores), expected, atol=1e-6)
        self.assertEqual(error_rate, np.mean(np.argmax(expected, -1) != self.labels))
        # The tutorial expects ~11% on MNIST for this model; digits are easier.
        self.assertLess(error_rate, 0.15)

    def test_tutorial_signature_name_on_our_export_fails_loudly(self):
        _, _, exceptions = mnist_client(
            self.hostport, "mnist", "predict_images", self.images[:3], self.labels[:3]
        )
        self.assertLen(exceptions, 3)
        # TF Serving's Predict answers FAILED_PRECONDITION here (predict_util.cc).
        self.assertEqual(exceptions[0].code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(
            exceptions[0].details(), 'Serving signature key "predict_images" not found.'
        )

    def test_classify_signature_answers_the_model_probabilities(self):
        """The tutorial's classification signature, under our name `classify`: each
        (class, score) pair is the model's probability of that class."""
        request = classification_pb2.ClassificationRequest()
        request.model_spec.name = "mnist"
        request.model_spec.signature_name = "classify"
        for image in self.images[:5]:
            example = request.input.example_list.examples.add()
            example.features.feature["x"].float_list.value.extend(image.tolist())
        channel = grpc.insecure_channel(self.hostport)
        self.addCleanup(channel.close)
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Classify(request, 5.0)
        expected = self.model.predict(self.images[:5], verbose=0)
        self.assertLen(response.result.classifications, 5)
        for row, classification in zip(expected, response.result.classifications):
            served = {c.label: c.score for c in classification.classes}
            self.assertEqual(sorted(served), [str(i) for i in range(10)])
            self.assertAllClose([served[str(i)] for i in range(10)], row, atol=1e-6)

    def test_tutorial_client_unchanged_on_the_tutorials_tf1_export(self):
        error_rate, scores, exceptions = mnist_client(
            self.hostport, "mnist_tf1", "predict_images", self.images, self.labels
        )
        self.assertEqual(exceptions, [])
        expected = self.tf1_scores
        self.assertAllClose(np.stack(scores), expected, atol=1e-6)
        self.assertEqual(error_rate, np.mean(np.argmax(expected, -1) != self.labels))
        self.assertLess(error_rate, 0.15)

    def test_tf1_default_signature_is_the_tutorials_classification(self):
        """Classify without a signature name uses the TF1 export's `serving_default`:
        classes sorted by score (top_k), labels from the lookup table."""
        request = classification_pb2.ClassificationRequest()
        request.model_spec.name = "mnist_tf1"
        for image in self.images[:3]:
            request.input.example_list.examples.add().features.feature["x"].float_list.value.extend(
                image.tolist()
            )
        channel = grpc.insecure_channel(self.hostport)
        self.addCleanup(channel.close)
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Classify(request, 5.0)
        expected = self.tf1_scores[:3]
        for row, classification in zip(expected, response.result.classifications):
            order = np.argsort(-row, kind="stable")
            self.assertEqual(
                [c.label for c in classification.classes][:3], [str(i) for i in order[:3]]
            )
            self.assertAllClose([c.score for c in classification.classes], row[order], atol=1e-6)
