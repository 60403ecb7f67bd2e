"""TF Serving's `model_servers/tensorflow_model_server_test.py` (+ its test base), ported.

Same requests, same expected answers, against `LocalModelServer` serving our own
builds of the testdata models (`testdata_models.py`), in TF Serving's
zero-padded layout (`00000123`) and in the plain one (`123`).

Not ported (the README says why): testGoodGrpcChannelArgs (no
--grpc_channel_arguments), testPredictUDS (no unix socket), testPredictOnTfLite
and testPredictWithSignatureDefOnTfLite (no TFLite servables),
test_distrat_sequential_keras_saved_model_save (virtual CPUs must be set before
TensorFlow starts, which a shared test process cannot do),
test_profiler_service_with_valid_trace_request (no profiler service), test_tf_text
(no tensorflow-text). `_TestBadModel` is a helper TF Serving never runs.
"""

import contextlib
import io
import json
import os
import shutil
import time

import grpc
import keras
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from tests.export.models import free_port, temp_dir
from tests.serving.conformance.expected_metadata import half_plus_two_model_metadata
from tests.serving.conformance.harness import RPC_TIMEOUT, ServerTestCase, call_rest, sorted_object
from tests.serving.conformance.testdata_models import build_testdata
from tfx_ext import cli
from tfx_ext.serving import LocalModelServer

_SAVED = {}


def _once(name, build):
    """Models the peer's tests build themselves, built once per process in both layouts."""
    if name not in _SAVED:
        root = os.path.join(
            os.path.dirname(build_testdata()["padded"]["echo"]), "..", "extra", name
        )
        build(os.path.join(root, "padded", "00000123"))
        shutil.copytree(
            os.path.join(root, "padded", "00000123"), os.path.join(root, "plain", "123")
        )
        _SAVED[name] = {
            "padded": os.path.join(root, "padded"),
            "plain": os.path.join(root, "plain"),
        }
    return _SAVED[name]


def _tf_saved_model_save(export_path):
    root = tf.train.Checkpoint()
    root.v1 = tf.Variable(3.0)
    root.v2 = tf.Variable(2.0)
    root.f = tf.function(lambda x: {"y": root.v1 * root.v2 * x})
    to_save = root.f.get_concrete_function(tf.TensorSpec(None, tf.float32))
    tf.saved_model.save(root, export_path, to_save)


def _tf_saved_model_save_multiple_signatures(export_path):
    root = tf.train.Checkpoint()
    root.f = tf.function(lambda x: {"y": 1.0}, input_signature=[tf.TensorSpec(None, tf.float32)])
    root.g = tf.function(lambda x: {"y": 2.0}, input_signature=[tf.TensorSpec(None, tf.float32)])
    tf.saved_model.save(
        root, export_path, signatures={"serving_default": root.f, "custom_signature_key": root.g}
    )


def _sequential_keras(export_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input(shape=(1,), name="x", dtype="float32"), keras.layers.Identity(name="y")]
    )
    # tf.saved_model.save of a Keras 3 model names the input `inputs` (the call argument), not
    # `x`; Keras 3's `export` keeps `x`. Both name the output `output_0`, not `y`.
    model.export(export_path, format="tf_saved_model", verbose=False)


def _path(name, build):
    return lambda layout: _once(name, build)[layout]


class TensorflowModelServerTest(ServerTestCase):
    """One server for all the cases that TF Serving runs with `RunServer('default', ...)`
    (the TF2 model is served as `default_tf2`, the models of good_model_config.txt by name)."""

    LAYOUT = "padded"
    MODELS = {
        "default": "saved_model_half_plus_two_cpu",
        "default_tf2": "saved_model_half_plus_two_tf2_cpu",
        "half_plus_two": "saved_model_half_plus_two_cpu",
        "half_plus_three": "saved_model_half_plus_three",
        "tf_saved_model_save": _path("tf_saved_model_save", _tf_saved_model_save),
        "tf_saved_model_save_multiple_signatures": _path(
            "multiple_signatures", _tf_saved_model_save_multiple_signatures
        ),
        "keras_sequential_saved_model_save": _path("keras_sequential", _sequential_keras),
    }

    @classmethod
    def server_args(cls):
        monitoring = os.path.join(cls.tmp, "monitoring_config.txt")
        with open(monitoring, "w") as f:  # TF Serving's testdata/monitoring_config.txt
            f.write(
                'prometheus_config: {\n  enable: true,\n  path: "/monitoring/prometheus/metrics"\n}\n'
            )
        return {"monitoring_config_file": monitoring}

    def model_version(self, name):
        """TF Serving's _GetModelVersion: the integer name of the only directory."""
        return int(os.listdir(self.model_path(name))[0])

    def stub(self):
        channel = grpc.insecure_channel(self.grpc_address)
        self.addCleanup(channel.close)
        return prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def verify_model_spec(self, spec, name, signature_name, version):
        self.assertEqual(spec.name, name)
        self.assertEqual(spec.signature_name, signature_name)
        self.assertEqual(spec.version.value, version)

    def verify_predict_request(
        self,
        expected_output,
        expected_version,
        model_name="default",
        specify_output=True,
        batch_input=False,
        signature_name="serving_default",
    ):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = signature_name
        request.inputs["x"].dtype = types_pb2.DT_FLOAT
        request.inputs["x"].float_val.append(2.0)
        request.inputs["x"].tensor_shape.dim.add().size = 1
        if batch_input:
            request.inputs["x"].tensor_shape.dim.add().size = 1
        if specify_output:
            request.output_filter.append("y")
        result = self.stub().Predict(request, RPC_TIMEOUT)
        self.assertIn("y", result.outputs)
        self.assertEqual(types_pb2.DT_FLOAT, result.outputs["y"].dtype)
        self.assertEqual(1, len(result.outputs["y"].float_val))
        self.assertEqual(expected_output, result.outputs["y"].float_val[0])
        self.verify_model_spec(result.model_spec, model_name, signature_name, expected_version)

    # --- gRPC ----------------------------------------------------------------------------------

    def testGetModelStatus(self):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = "default"
        with grpc.insecure_channel(self.grpc_address) as channel:
            result = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
                request, RPC_TIMEOUT
            )
        self.assertEqual(1, len(result.model_version_status))
        self.assertEqual(123, result.model_version_status[0].version)
        self.assertEqual(0, result.model_version_status[0].status.error_code)

    def testGetModelMetadata(self):
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        request.model_spec.name = "default"
        request.metadata_field.append("signature_def")
        result = self.stub().GetModelMetadata(request, RPC_TIMEOUT)
        self.assertEqual("default", result.model_spec.name)
        self.assertEqual(self.model_version("default"), result.model_spec.version.value)
        self.assertEqual(1, len(result.metadata))
        self.assertIn("signature_def", result.metadata)

    def _test_classify(self, model_name):
        request = classification_pb2.ClassificationRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = "classify_x_to_y"
        example = request.input.example_list.examples.add()
        example.features.feature["x"].float_list.value.extend([2.0])
        result = self.stub().Classify(request, RPC_TIMEOUT)
        self.assertEqual(1, len(result.result.classifications))
        self.assertEqual(1, len(result.result.classifications[0].classes))
        self.assertEqual(3.0, result.result.classifications[0].classes[0].score)
        self.verify_model_spec(
            result.model_spec, model_name, "classify_x_to_y", self.model_version(model_name)
        )

    def testClassify(self):
        self._test_classify("default")

    def testClassifyTf2(self):
        self._test_classify("default_tf2")

    def _test_regress(self, model_name):
        request = regression_pb2.RegressionRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = "regress_x_to_y"
        example = request.input.example_list.examples.add()
        example.features.feature["x"].float_list.value.extend([2.0])
        result = self.stub().Regress(request, RPC_TIMEOUT)
        self.assertEqual(1, len(result.result.regressions))
        self.assertEqual(3.0, result.result.regressions[0].value)
        self.verify_model_spec(
            result.model_spec, model_name, "regress_x_to_y", self.model_version(model_name)
        )

    def testRegress(self):
        self._test_regress("default")

    def testRegressTf2(self):
        self._test_regress("default_tf2")

    def _test_multi_inference(self, model_name):
        request = inference_pb2.MultiInferenceRequest()
        request.tasks.add().model_spec.name = model_name
        request.tasks[0].model_spec.signature_name = "regress_x_to_y"
        request.tasks[0].method_name = "tensorflow/serving/regress"
        request.tasks.add().model_spec.name = model_name
        request.tasks[1].model_spec.signature_name = "classify_x_to_y"
        request.tasks[1].method_name = "tensorflow/serving/classify"
        example = request.input.example_list.examples.add()
        example.features.feature["x"].float_list.value.extend([2.0])
        result = self.stub().MultiInference(request, RPC_TIMEOUT)
        self.assertEqual(2, len(result.results))
        self.assertEqual(3.0, result.results[0].regression_result.regressions[0].value)
        self.assertEqual(
            3.0, result.results[1].classification_result.classifications[0].classes[0].score
        )
        for i in range(2):
            self.verify_model_spec(
                result.results[i].model_spec,
                model_name,
                request.tasks[i].model_spec.signature_name,
                self.model_version(model_name),
            )

    def testMultiInference(self):
        self._test_multi_inference("default")

    def testMultiInferenceTf2(self):
        self._test_multi_inference("default_tf2")

    def testPredictSavedModel(self):
        version = self.model_version("default")
        self.verify_predict_request(expected_output=3.0, expected_version=version)
        self.verify_predict_request(
            expected_output=3.0, specify_output=False, expected_version=version
        )

    def testGoodModelConfig(self):
        for specify_output in (True, False):
            self.verify_predict_request(
                model_name="half_plus_two",
                expected_output=3.0,
                specify_output=specify_output,
                expected_version=self.model_version("half_plus_two"),
            )
            self.verify_predict_request(
                model_name="half_plus_three",
                expected_output=4.0,
                specify_output=specify_output,
                expected_version=self.model_version("half_plus_three"),
            )

    def test_tf_saved_model_save(self):
        self.verify_predict_request(
            model_name="tf_saved_model_save",
            expected_output=12.0,
            specify_output=False,
            expected_version=self.model_version("tf_saved_model_save"),
        )

    def test_tf_saved_model_save_multiple_signatures(self):
        name = "tf_saved_model_save_multiple_signatures"
        version = self.model_version(name)
        self.verify_predict_request(
            model_name=name,
            expected_output=2.0,
            expected_version=version,
            signature_name="custom_signature_key",
        )
        self.verify_predict_request(model_name=name, expected_output=1.0, expected_version=version)

    def test_sequential_keras_saved_model_save(self):
        name = "keras_sequential_saved_model_save"
        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.model_spec.signature_name = "serving_default"
        request.inputs["x"].dtype = types_pb2.DT_FLOAT
        request.inputs["x"].float_val.append(2.0)
        request.inputs["x"].tensor_shape.dim.add().size = 1
        request.inputs["x"].tensor_shape.dim.add().size = 1  # batch_input=True
        result = self.stub().Predict(request, RPC_TIMEOUT)
        self.assertEqual(
            list(result.outputs), ["output_0"]
        )  # Keras 2 named it after the last layer, `y`
        output = result.outputs["output_0"]
        self.assertEqual(types_pb2.DT_FLOAT, output.dtype)
        self.assertEqual([2.0], list(output.float_val))
        self.verify_model_spec(result.model_spec, name, "serving_default", self.model_version(name))

    # --- REST ----------------------------------------------------------------------------------

    def rest(self, path, request=None):
        status, headers, body = call_rest(f"http://{self.rest_address}{path}", request)
        self.assertEqual(status, 200, msg=body)
        return body

    def testClassifyREST(self):
        body = self.rest(
            "/v1/models/default:classify",
            {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]},
        )
        self.assertEqual(json.loads(body.decode()), {"results": [[["", 3.0]]]})

    def testRegressREST(self):
        body = self.rest(
            "/v1/models/default:regress",
            {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]},
        )
        self.assertEqual(json.loads(body.decode()), {"results": [3.0]})

    def testPredictREST(self):
        body = self.rest("/v1/models/default:predict", {"instances": [2.0, 3.0, 4.0]})
        self.assertEqual(json.loads(body.decode()), {"predictions": [3.0, 3.5, 4.0]})

    def testPredictColumnarREST(self):
        body = self.rest("/v1/models/default:predict", {"inputs": [2.0, 3.0, 4.0]})
        self.assertEqual(json.loads(body.decode()), {"outputs": [3.0, 3.5, 4.0]})

    def testGetStatusREST(self):
        body = self.rest("/v1/models/default")
        self.assertEqual(
            json.loads(body.decode()),
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

    def testGetModelMetadataREST(self):
        body = self.rest("/v1/models/default/metadata")
        self.assertEqual(
            sorted_object(json.loads(body.decode())), sorted_object(half_plus_two_model_metadata())
        )

    def testPrometheusEndpoint(self):
        self.rest("/v1/models/default:predict", {"instances": [2.0]})
        body = self.rest("/monitoring/prometheus/metrics")
        self.assertIn("# TYPE", body.decode("utf-8"))
        # As TF Serving's request_count: per model and status.
        self.assertRegex(
            body.decode(),
            r':tensorflow:serving:request_count\{model_name="default",status="OK"\} [1-9]',
        )


class TensorflowModelServerPlainLayoutTest(TensorflowModelServerTest):
    LAYOUT = "plain"


class ModelConfigTest(tf.test.TestCase):
    """testBadModelConfig, testModelConfigReload, testModelConfigReloadWithZeroPollPeriod."""

    LAYOUT = "padded"

    BASE_CONFIG = """
    model_config_list: {{
      config: {{
        name: "{name}",
        base_path: "{model_path}",
        model_platform: "tensorflow"
      }}
    }}
    """

    def setUp(self):
        self.tmp = temp_dir(self)
        self.config_path = os.path.join(self.tmp, "model_config.txt")
        self.testdata = build_testdata()[self.LAYOUT]

    def write_config(self, name, model):
        with open(self.config_path, "w") as f:
            f.write(self.BASE_CONFIG.format(name=name, model_path=self.testdata[model]))

    def verify_predict(self, grpc_port, model_name, expected_output):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = "serving_default"
        request.inputs["x"].dtype = types_pb2.DT_FLOAT
        request.inputs["x"].float_val.append(2.0)
        request.inputs["x"].tensor_shape.dim.add().size = 1
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            result = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
                request, RPC_TIMEOUT
            )
        self.assertEqual(expected_output, result.outputs["y"].float_val[0])
        self.assertEqual(123, result.model_spec.version.value)

    def testBadModelConfig(self):
        bad = os.path.join(self.tmp, "bad_model_config.txt")
        with open(bad, "w") as f:
            f.write("improperly formatted file")  # TF Serving's testdata/bad_model_config.txt
        with (
            contextlib.redirect_stderr(io.StringIO()) as err,
            self.assertRaises(SystemExit) as caught,
        ):
            cli.main(
                [
                    "serve",
                    "--model-config-file",
                    bad,
                    "--rest-port",
                    str(free_port()),
                    "--grpc-port",
                    "0",
                ]
            )
        self.assertEqual(caught.exception.code, 2)
        self.assertGreater(
            err.getvalue().find("Error parsing text-format tensorflow.serving.ModelServerConfig"),
            -1,
        )
        self.assertIn(bad, err.getvalue())  # ours also names the file, on one line
        self.assertEqual(len(err.getvalue().strip().splitlines()), 1)

    def _serve(self, poll):
        grpc_port = free_port()
        server = LocalModelServer(
            model_config_file=self.config_path,
            rest_port=0,
            grpc_port=grpc_port,
            poll_seconds=0.2,
            model_config_poll_seconds=poll,
        ).start()
        self.addCleanup(server.stop)
        return grpc_port

    def testModelConfigReload(self):
        self.write_config("half_plus_two", "saved_model_half_plus_two_cpu")
        grpc_port = self._serve(poll=0.5)  # TF Serving's test polls each second and waits 10 s
        self.verify_predict(grpc_port, "half_plus_two", 3.0)
        self.write_config("half_plus_three", "saved_model_half_plus_three")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.verify_predict(grpc_port, "half_plus_three", 4.0)
                break
            except grpc.RpcError:
                time.sleep(0.2)
        self.verify_predict(grpc_port, "half_plus_three", 4.0)

    def testModelConfigReloadWithZeroPollPeriod(self):
        self.write_config("half_plus_two", "saved_model_half_plus_two_cpu")
        poll_period = 0
        grpc_port = self._serve(poll=poll_period)
        self.verify_predict(grpc_port, "half_plus_two", 3.0)
        self.write_config("half_plus_three", "saved_model_half_plus_three")
        time.sleep(poll_period + 1)
        self.verify_predict(grpc_port, "half_plus_two", 3.0)


class ModelConfigPlainLayoutTest(ModelConfigTest):
    LAYOUT = "plain"
