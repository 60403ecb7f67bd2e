import base64
import json
import os
import shutil
import tempfile
import time

import grpc
import keras
import numpy as np
import requests
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tests.datasets import diabetes
from tests.export.models import (
    DIABETES_SPEC,
    PIXELS_SPEC,
    diabetes_regressor,
    digits_classifier,
    digits_test_split,
    float_example,
    free_port,
    predict,
    temp_dir,
)
from tfx_ext.export import ModelEntry, export_for_serving, write_model_config
from tfx_ext.serving import GrpcClient, LocalModelServer, RestClient, ServingError

MAX_BODY = 100_000


def _signature_defs(path):
    """All the signature defs of a SavedModel: TF Serving's metadata lists them all,
    `__saved_model_init_op` included (its saved_model_half_plus_two_tf2 metadata file does)."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    return dict(proto.meta_graphs[0].signature_def)


def _available(status):
    """The AVAILABLE versions of a status list (TF Serving also lists unloaded ones, state END)."""
    return [(v, state) for v, state in status if state == "AVAILABLE"]


class LocalServerTest(tf.test.TestCase):
    """Two digits versions behind stable / canary labels, and a regression model."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        cls.tmp = tempfile.mkdtemp(prefix="tfx_ext_serving_")
        base = os.path.join(cls.tmp, "models")
        cls.v1 = digits_classifier(epochs=2)
        cls.v2 = digits_classifier(epochs=4, units=24)
        cls.regressor = diabetes_regressor(epochs=2)
        cls.v1_path = export_for_serving(cls.v1, base, "digits", example_spec=PIXELS_SPEC)
        cls.v2_path = export_for_serving(cls.v2, base, "digits", example_spec=PIXELS_SPEC)
        export_for_serving(cls.regressor, base, "diabetes", example_spec=DIABETES_SPEC)
        config = write_model_config(
            os.path.join(cls.tmp, "models.config"),
            [
                ModelEntry(
                    "digits",
                    os.path.join(base, "digits"),
                    versions=[1, 2],
                    labels={"stable": 1, "canary": 2},
                ),
                ModelEntry("diabetes", "models/diabetes"),  # relative to the config file
            ],
        )
        cls.rest_port, cls.grpc_port = free_port(), free_port()
        cls.server = LocalModelServer(
            model_config_file=config,
            rest_port=cls.rest_port,
            grpc_port=cls.grpc_port,
            max_body_bytes=MAX_BODY,
        ).start()
        cls.url = f"http://127.0.0.1:{cls.rest_port}/v1/models"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x = digits_test_split()[0][:32]
        self.expected = {1: predict(self.v1, self.x), 2: predict(self.v2, self.x)}

    def rest(self, **kwargs):
        client = RestClient("127.0.0.1", self.rest_port, kwargs.pop("model", "digits"), **kwargs)
        self.addCleanup(client._session.close)
        return client

    def grpc(self, **kwargs):
        client = GrpcClient("127.0.0.1", self.grpc_port, kwargs.pop("model", "digits"), **kwargs)
        self.addCleanup(client.close)
        return client

    def assertStillServing(self):
        response = requests.post(
            f"{self.url}/digits/versions/1:predict", json={"instances": self.x[:2].tolist()}
        )
        self.assertEqual(response.status_code, 200, msg=response.text)
        self.assertAllClose(
            [p["digit"] for p in response.json()["predictions"]], self.expected[1][:2], atol=1e-5
        )

    # --- predict -----------------------------------------------------------------------------

    def test_predict_each_version_and_label(self):
        self.assertNotAllClose(self.expected[1], self.expected[2])
        for kwargs, version in [
            ({"version": 1}, 1),
            ({"version": 2}, 2),
            ({"label": "stable"}, 1),
            ({"label": "canary"}, 2),
            ({}, 2),  # latest of the listed versions
        ]:
            for client in (self.rest(**kwargs), self.grpc(**kwargs)):
                outputs = client.predict(self.x)
                self.assertEqual(set(outputs), {"digit", "probabilities", "class_ids"})
                self.assertAllClose(
                    outputs["digit"], self.expected[version], atol=1e-5, msg=(client, kwargs)
                )
                self.assertAllClose(outputs["probabilities"], self.expected[version], atol=1e-5)
                self.assertAllEqual(outputs["class_ids"], self.expected[version].argmax(-1))

    def test_grpc_output_filter(self):
        class_ids = self.grpc(version=2).predict(self.x, output_filter=["class_ids"])
        self.assertAllEqual(class_ids, self.expected[2].argmax(-1))

    def test_row_and_columnar_formats(self):
        url = f"{self.url}/digits/labels/canary:predict"
        expected = self.expected[2]
        row = requests.post(url, json={"instances": self.x.tolist()}).json()
        self.assertLen(row["predictions"], len(self.x))
        self.assertAllClose([p["digit"] for p in row["predictions"]], expected, atol=1e-5)
        self.assertEqual([p["class_ids"] for p in row["predictions"]], expected.argmax(-1).tolist())

        named = requests.post(
            url, json={"instances": [{"pixels": r} for r in self.x.tolist()]}
        ).json()
        self.assertAllClose([p["probabilities"] for p in named["predictions"]], expected, atol=1e-5)

        columnar = requests.post(url, json={"inputs": self.x.tolist()}).json()
        self.assertEqual(set(columnar["outputs"]), {"digit", "probabilities", "class_ids"})
        self.assertAllClose(columnar["outputs"]["digit"], expected, atol=1e-5)
        columnar = requests.post(url, json={"inputs": {"pixels": self.x.tolist()}}).json()
        self.assertAllClose(columnar["outputs"]["probabilities"], expected, atol=1e-5)

        outputs = self.rest(label="canary").predict(self.x, columnar=True)
        self.assertAllClose(outputs["digit"], expected, atol=1e-5)
        outputs = self.rest(label="canary").predict({"pixels": self.x})
        self.assertAllClose(outputs["digit"], expected, atol=1e-5)

    def test_single_output_signature_has_unnamed_predictions(self):
        x = diabetes()[0][:6]
        body = requests.post(f"{self.url}/diabetes:predict", json={"instances": x.tolist()}).json()
        self.assertAllClose(body["predictions"], predict(self.regressor, x), atol=1e-5)
        body = requests.post(f"{self.url}/diabetes:predict", json={"inputs": x.tolist()}).json()
        self.assertAllClose(body["outputs"], predict(self.regressor, x), atol=1e-5)

    # --- classify / regress ------------------------------------------------------------------

    def test_classify(self):
        examples = [{"pixels": row} for row in self.x[:8]]
        for client, version in [
            (self.rest(version=1), 1),
            (self.grpc(label="canary"), 2),
            (self.rest(), 2),
        ]:
            results = client.classify(examples)
            self.assertLen(results, 8)
            for result, scores in zip(results, self.expected[version][:8]):
                self.assertEqual([label for label, _ in result], [str(i) for i in range(10)])
                self.assertAllClose([score for _, score in result], scores, atol=1e-5)

        body = {
            "signature_name": "classify",
            "examples": [{"pixels": r} for r in self.x[:3].tolist()],
        }
        raw = requests.post(f"{self.url}/digits/versions/2:classify", json=body).json()
        self.assertAllClose(
            [[s for _, s in r] for r in raw["results"]], self.expected[2][:3], atol=1e-5
        )

    def test_regress(self):
        x = diabetes()[0][:10]
        expected = predict(self.regressor, x)[:, 0]
        examples = [{"features": row} for row in x]
        self.assertAllClose(self.rest(model="diabetes").regress(examples), expected, atol=1e-5)
        self.assertAllClose(self.grpc(model="diabetes").regress(examples), expected, atol=1e-5)
        body = {"signature_name": "regress", "examples": [{"features": r} for r in x.tolist()]}
        raw = requests.post(f"{self.url}/diabetes:regress", json=body).json()
        self.assertAllClose(raw["results"], expected, atol=1e-5)

    def test_classify_needs_a_classify_signature(self):
        with self.assertRaises(ServingError) as caught:
            self.rest().classify([{"pixels": self.x[0]}], signature_name="serving_default")
        self.assertEqual(caught.exception.http_status, 400)
        with self.assertRaises(ServingError) as caught:
            self.grpc(model="diabetes").classify(
                [{"features": np.zeros(10)}], signature_name="regress"
            )
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    # --- metadata / status -------------------------------------------------------------------

    def test_metadata(self):
        on_disk = _signature_defs(self.v1_path)
        self.assertEqual(set(on_disk), {"serving_default", "classify", "__saved_model_init_op"})

        body = self.rest(version=1).metadata()
        self.assertEqual(body["model_spec"]["name"], "digits")
        self.assertEqual(body["model_spec"]["version"], "1")
        signatures = body["metadata"]["signature_def"]["signature_def"]
        self.assertEqual(set(signatures), set(on_disk))
        self.assertEqual(signatures["classify"]["method_name"], "tensorflow/serving/classify")
        self.assertEqual(signatures["serving_default"]["method_name"], "tensorflow/serving/predict")
        self.assertEqual(signatures["serving_default"]["inputs"]["pixels"]["dtype"], "DT_FLOAT")
        self.assertEqual(
            [
                d["size"]
                for d in signatures["serving_default"]["inputs"]["pixels"]["tensor_shape"]["dim"]
            ],
            ["-1", "64"],
        )
        self.assertEqual(
            set(signatures["serving_default"]["outputs"]), {"digit", "probabilities", "class_ids"}
        )

        grpc_signatures = self.grpc(label="stable").metadata()
        self.assertEqual(set(grpc_signatures), set(on_disk))
        for name, signature in on_disk.items():
            self.assertProtoEquals(signature, grpc_signatures[name])

    def test_status(self):
        body = requests.get(f"{self.url}/digits").json()
        self.assertEqual(
            sorted(
                (s["version"], s["state"], s["status"]["error_code"])
                for s in body["model_version_status"]
            ),
            [("1", "AVAILABLE", "OK"), ("2", "AVAILABLE", "OK")],
        )
        # The clients resolve a label to its version: the server's status API ignores labels.
        self.assertEqual(self.rest(label="canary").status(), [(2, "AVAILABLE")])
        self.assertEqual(self.rest(version=2).status(), [(2, "AVAILABLE")])
        self.assertEqual(sorted(self.grpc().status()), [(1, "AVAILABLE"), (2, "AVAILABLE")])
        self.assertEqual(self.grpc(label="stable").status(), [(1, "AVAILABLE")])
        self.assertEqual(self.grpc(version=1).status(), [(1, "AVAILABLE")])
        # On the wire, as TF Serving: a label is ignored and every version listed.
        body = requests.get(f"{self.url}/digits/labels/canary").json()
        self.assertEqual([s["version"] for s in body["model_version_status"]], ["1", "2"])
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = "digits"
        request.model_spec.version_label = "stable"
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            response = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
                request, timeout=10
            )
        self.assertEqual([s.version for s in response.model_version_status], [1, 2])
        self.assertEqual(self.rest(model="diabetes").status(), [(1, "AVAILABLE")])

    # --- errors ------------------------------------------------------------------------------

    def assertRestError(self, status, response):
        self.assertEqual(response.status_code, status, msg=response.text)
        self.assertEqual(response.headers["Content-Type"], "application/json")
        body = response.json()
        self.assertEqual(set(body), {"error"})
        self.assertIsInstance(body["error"], str)
        self.assertStillServing()
        return body["error"]

    def test_rest_errors(self):
        rows = self.x[:2].tolist()
        response = requests.post(f"{self.url}/x:predict", json={"instances": rows})
        self.assertRestError(404, response)
        self.assertEqual(response.json(), {"error": "Servable not found for request: Latest(x)"})
        self.assertRestError(404, requests.get(f"{self.url}/x"))
        self.assertRestError(
            404, requests.post(f"{self.url}/digits/versions/9:predict", json={"instances": rows})
        )
        self.assertRestError(404, requests.get(f"{self.url}/digits/versions/9/metadata"))
        self.assertRestError(
            400, requests.post(f"{self.url}/digits/labels/nope:predict", json={"instances": rows})
        )

        url = f"{self.url}/digits:predict"
        self.assertRestError(
            400, requests.post(url, json={"instances": [{"image": r} for r in rows]})
        )
        self.assertRestError(400, requests.post(url, json={"instances": [r[:10] for r in rows]}))
        self.assertRestError(400, requests.post(url, json={"instances": [["a"] * 64]}))
        self.assertRestError(
            400, requests.post(url, json={"instances": [rows[0], rows[1][:3]]})
        )  # ragged
        self.assertRestError(400, requests.post(url, json={"instances": rows, "inputs": rows}))
        self.assertRestError(
            400, requests.post(url, json={"instances": rows, "signature_name": "nope"})
        )
        self.assertRestError(
            400, requests.post(url, data=b"{not json", headers={"Content-Type": "application/json"})
        )
        self.assertRestError(400, requests.post(url, json=[1, 2]))
        self.assertRestError(413, requests.post(url, data=b"0" * (MAX_BODY + 1)))

        # Under /v1/, TF Serving answers unsupported paths 400 "Malformed request"; elsewhere 404.
        self.assertRestError(
            400,
            requests.post(f"http://127.0.0.1:{self.rest_port}/v1/model/digits:predict", json={}),
        )
        self.assertRestError(
            400, requests.post(f"{self.url}/digits:explain", json={"instances": rows})
        )
        self.assertRestError(400, requests.get(f"{self.url}/digits:predict"))
        self.assertRestError(400, requests.post(f"{self.url}/digits", json={"instances": rows}))
        self.assertRestError(
            404, requests.get(f"http://127.0.0.1:{self.rest_port}/v2/models/digits")
        )

    def test_client_raises_serving_errors(self):
        with self.assertRaises(ServingError) as caught:
            self.rest(model="x").predict(self.x)
        self.assertEqual((caught.exception.code, caught.exception.http_status), ("NOT_FOUND", 404))
        self.assertEqual(caught.exception.message, "Servable not found for request: Latest(x)")
        with self.assertRaises(ServingError) as caught:
            self.rest().predict(self.x[:, :10])
        self.assertEqual(
            (caught.exception.code, caught.exception.http_status), ("INVALID_ARGUMENT", 400)
        )

    def test_grpc_errors(self):
        x = self.x[:2]
        cases = [
            (self.grpc(model="x"), {"pixels": x}, "NOT_FOUND"),
            (self.grpc(version=9), {"pixels": x}, "NOT_FOUND"),
            (self.grpc(), {"image": x}, "INVALID_ARGUMENT"),
            (self.grpc(), {"pixels": x[:, :10]}, "INVALID_ARGUMENT"),
            (self.grpc(), {"pixels": x.astype("float64")}, "INVALID_ARGUMENT"),
        ]
        for client, inputs, code in cases:
            with self.assertRaises(ServingError) as caught:
                client.predict(inputs)
            self.assertEqual(caught.exception.code, code, msg=str(caught.exception))
            self.assertTrue(caught.exception.message)
        with self.assertRaises(ServingError) as caught:
            self.grpc().predict({"pixels": x}, signature_name="nope")
        self.assertEqual(
            caught.exception.code, "FAILED_PRECONDITION"
        )  # TF Serving's gRPC Predict code

        # The status codes on the wire, seen by a plain stub.
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name="x"))
            request.inputs["pixels"].CopyFrom(tf.make_tensor_proto(x))
            with self.assertRaises(grpc.RpcError) as caught:
                stub.Predict(request, timeout=10)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
            self.assertEqual(
                caught.exception.details(), "Servable not found for request: Latest(x)"
            )
            request.model_spec.name = "digits"
            request.inputs["pixels"].CopyFrom(tf.make_tensor_proto(x[:, :10]))
            with self.assertRaises(grpc.RpcError) as caught:
                stub.Predict(request, timeout=10)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertAllClose(
            self.grpc(version=1).predict(x)["digit"], self.expected[1][:2], atol=1e-5
        )

    # --- binary (b64) values -----------------------------------------------------------------

    def test_b64_string_inputs(self):
        """The classify signature takes serialized Examples (DT_STRING): send them through predict."""
        rows = self.x[:4].copy()
        rows[:, -1] = 0.0  # serialized Examples then end in NUL bytes
        examples = [float_example(pixels=row) for row in rows]
        self.assertTrue(all(e.endswith(b"\x00") for e in examples))
        expected = predict(self.v2, rows)
        encoded = [{"b64": base64.b64encode(e).decode()} for e in examples]
        url = f"{self.url}/digits:predict"
        for body, key in [
            ({"signature_name": "classify", "instances": encoded}, "predictions"),
            (
                {"signature_name": "classify", "instances": [{"inputs": e} for e in encoded]},
                "predictions",
            ),
            ({"signature_name": "classify", "inputs": encoded}, "outputs"),
        ]:
            response = requests.post(url, json=body)
            self.assertEqual(response.status_code, 200, msg=(body, response.text))
            result = response.json()[key]
            scores = [r["scores"] for r in result] if key == "predictions" else result["scores"]
            self.assertAllClose(scores, expected, atol=1e-5)

        self.assertAllClose(
            self.rest().predict(examples, signature_name="classify")["scores"], expected, atol=1e-5
        )
        self.assertAllClose(
            self.rest().predict(examples, signature_name="classify", columnar=True)["scores"],
            expected,
            atol=1e-5,
        )
        self.assertAllClose(
            self.grpc().predict(examples, signature_name="classify")["scores"], expected, atol=1e-5
        )

    def test_b64_encoding_helpers_round_trip(self):
        from tfx_ext.serving.json_tensors import tensor_from_json
        from tfx_ext.serving.rest_client import _jsonable

        values = [b"\x00\xffbinary\x00", b"text", b"\x00\x00"]
        encoded = _jsonable(values)
        self.assertEqual(encoded, [{"b64": base64.b64encode(v).decode()} for v in values])
        self.assertEqual(
            tensor_from_json(json.loads(json.dumps(encoded)), "DT_STRING", 100).tolist(), values
        )
        self.assertEqual(_jsonable([[1.5, 2.0]]), [[1.5, 2.0]])
        self.assertEqual(_jsonable(np.array(["a", "b"])), ["a", "b"])


class LatestPolicyTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.base = temp_dir(self)
        self.x = digits_test_split()[0][:16]

    def test_new_version_becomes_latest_while_serving(self):
        first = digits_classifier(epochs=0)
        export_for_serving(first, self.base, "digits")
        export_for_serving(first, self.base, "digits")
        os.makedirs(
            os.path.join(self.base, "digits", ".tmp-9-unfinished")
        )  # TF Serving skips non-integer names
        rest_port, grpc_port = free_port(), free_port()
        poll = 0.2
        with LocalModelServer(
            self.base, rest_port=rest_port, grpc_port=grpc_port, poll_seconds=poll
        ):
            rest = RestClient("127.0.0.1", rest_port, "digits")
            self.addCleanup(rest._session.close)
            self.assertEqual(_available(rest.status()), [(2, "AVAILABLE")])
            self.assertAllClose(rest.predict(self.x)["digit"], predict(first, self.x), atol=1e-5)

            third = digits_classifier(epochs=0, units=12)
            export_for_serving(third, self.base, "digits")
            deadline = time.monotonic() + 10 * poll + 10
            while _available(rest.status()) != [(3, "AVAILABLE")] and time.monotonic() < deadline:
                time.sleep(poll / 2)
            self.assertEqual(rest.status(), [(2, "END"), (3, "AVAILABLE")])
            self.assertAllClose(rest.predict(self.x)["digit"], predict(third, self.x), atol=1e-5)
            with GrpcClient("127.0.0.1", grpc_port, "digits") as client:
                self.assertAllClose(
                    client.predict(self.x)["digit"], predict(third, self.x), atol=1e-5
                )
                self.assertEqual(client.status(), [(2, "END"), (3, "AVAILABLE")])
            with self.assertRaises(ServingError) as caught:  # the latest policy unloaded version 2
                RestClient("127.0.0.1", rest_port, "digits", version=2).predict(self.x)
            self.assertEqual(caught.exception.http_status, 404)

    def test_a_broken_version_does_not_stop_other_models_updating(self):
        model = digits_classifier(epochs=0)
        export_for_serving(model, self.base, "a")
        export_for_serving(model, self.base, "b")
        rest_port = free_port()
        poll = 0.2
        with LocalModelServer(self.base, rest_port=rest_port, grpc_port=0, poll_seconds=poll):
            # A half-copied version (what a non-atomic copy leaves): it cannot load.
            broken = os.path.join(self.base, "a", "2")
            os.makedirs(broken)
            with open(os.path.join(broken, "saved_model.pb"), "wb") as f:
                f.write(b"\x00 not a SavedModel")
            newer = digits_classifier(epochs=0, units=12)
            export_for_serving(newer, self.base, "b")
            rest_a = RestClient("127.0.0.1", rest_port, "a")
            rest_b = RestClient("127.0.0.1", rest_port, "b")
            self.addCleanup(rest_a._session.close)
            self.addCleanup(rest_b._session.close)
            deadline = time.monotonic() + 10 * poll + 10
            while _available(rest_b.status()) != [(2, "AVAILABLE")] and time.monotonic() < deadline:
                time.sleep(poll / 2)
            self.assertEqual(rest_b.status(), [(1, "END"), (2, "AVAILABLE")])
            self.assertAllClose(rest_b.predict(self.x)["digit"], predict(newer, self.x), atol=1e-5)
            # "a" keeps serving its last good version.
            # ... and its broken version is reported as failed (state END with its error).
            self.assertEqual(rest_a.status(), [(1, "AVAILABLE"), (2, "END")])
            failed = requests.get(f"http://127.0.0.1:{rest_port}/v1/models/a/versions/2").json()
            self.assertNotEqual(failed["model_version_status"][0]["status"]["error_code"], "OK")
            self.assertIn(
                "Failed to load version 2",
                failed["model_version_status"][0]["status"]["error_message"],
            )
            self.assertAllClose(rest_a.predict(self.x)["digit"], predict(model, self.x), atol=1e-5)
