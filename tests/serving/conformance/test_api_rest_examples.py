"""The examples of TF Serving's `g3doc/api_rest.md`, ported: the curl session on
`saved_model_half_plus_three`, the row / columnar formats, binary values,
NaN / Infinity, the float precision note, and TF Serving's number format."""

import base64
import json
import math

from tests.serving.conformance.harness import ServerTestCase, call_rest


class ApiRestExamplesTest(ServerTestCase):
    LAYOUT = "padded"
    MODELS = {
        "saved_model_half_plus_three": "saved_model_half_plus_three",
        "half_plus_two": "saved_model_half_plus_two_cpu",
        "echo": "echo",
    }

    def post(self, path, request, expected_status=200):
        status, headers, body = call_rest(f"http://{self.rest_address}/v1/models/{path}", request)
        self.assertEqual(status, expected_status, msg=body)
        self.assertEqual(headers["Content-Type"], "application/json")
        return body.decode()

    def test_model_status(self):
        status, headers, body = call_rest(
            f"http://{self.rest_address}/v1/models/saved_model_half_plus_three"
        )
        self.assertEqual(status, 200)
        self.assertEqual(
            json.loads(body),
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
        body = self.post("saved_model_half_plus_three:predict", {"instances": [1.0, 2.0, 5.0]})
        self.assertEqual(json.loads(body), {"predictions": [3.5, 4.0, 5.5]})

    def test_regress_on_a_non_default_signature(self):
        body = self.post(
            "saved_model_half_plus_three:regress",
            {"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]},
        )
        self.assertEqual(json.loads(body), {"results": [3.5, 4.0]})

    def test_unknown_model_is_404(self):
        body = self.post("half:predict", {"instances": [1.0, 5.0]}, expected_status=404)
        self.assertEqual(
            json.loads(body), {"error": "Servable not found for request: Latest(half)"}
        )

    def test_row_format_with_named_inputs_and_its_columnar_twin(self):
        rows = [
            {"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
            {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]},
        ]
        predictions = json.loads(self.post("echo:predict", {"instances": rows}))["predictions"]
        self.assertLen(predictions, 2)
        for row, prediction in zip(rows, predictions):
            self.assertEqual(prediction["signal"], row["signal"])
            self.assertEqual(prediction["sensor"], row["sensor"])
            self.assertEqual(prediction["signal_sum"], sum(row["signal"]))
            # Outputs whose name ends in _bytes are binary: written as {"b64": ...}.
            self.assertEqual(
                prediction["tag_bytes"], {"b64": base64.b64encode(row["tag"].encode()).decode()}
            )

        columns = {
            "tag": ["foo", "bar"],
            "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
            "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]],
        }
        outputs = json.loads(self.post("echo:predict", {"inputs": columns}))["outputs"]
        self.assertEqual(outputs["signal"], columns["signal"])
        self.assertEqual(outputs["sensor"], columns["sensor"])
        self.assertEqual(outputs["tag_bytes"], [{"b64": "Zm9v"}, {"b64": "YmFy"}])

    def test_one_input_row_formats(self):
        body = self.post(
            "echo:predict", {"signature_name": "strings", "instances": ["foo", "bar", "baz"]}
        )
        self.assertEqual(json.loads(body), {"predictions": ["foo", "bar", "baz"]})
        body = self.post(
            "echo:predict", {"signature_name": "double", "instances": [[[1, 2]], [[3, 4]]]}
        )
        self.assertEqual(json.loads(body), {"predictions": [[[2, 4]], [[6, 8]]]})

    def test_binary_input_values(self):
        body = self.post(
            "echo:predict",
            {"signature_name": "strings", "instances": [{"b64": "aW1hZ2UgYnl0ZXM="}]},
        )
        self.assertEqual(json.loads(body), {"predictions": ["image bytes"]})

    def test_nan_and_infinity(self):
        body = self.post(
            "echo:predict",
            {"signature_name": "double", "instances": [1.0, -3.14, math.nan, math.inf]},
        )
        self.assertIn("NaN", body)
        self.assertIn("Infinity", body)
        values = json.loads(body)["predictions"]
        self.assertEqual(values[:2], [2.0, -6.28])
        self.assertTrue(math.isnan(values[2]))
        self.assertEqual(values[3], math.inf)

    def test_float_precision_and_exponents(self):
        # "the input {"x": 1435774380} ... will be silently converted ... to 1435774336"
        body = self.post("echo:predict", {"signature_name": "double", "inputs": [1435774380]})
        self.assertEqual(json.loads(body), {"outputs": [2 * 1435774336]})
        body = self.post(
            "echo:predict", {"signature_name": "double", "inputs": json.loads("[1e2, 2.5E-1]")}
        )
        self.assertEqual(json.loads(body), {"outputs": [200.0, 0.5]})

    def test_floats_in_shortest_round_trip_form(self):
        body = self.post("half_plus_two:predict", {"inputs": [[0.1]]})
        self.assertEqual(body.replace(" ", ""), '{"outputs":[[2.05]]}')  # not 2.049999952316284

    def test_classify_with_context(self):
        body = self.post(
            "half_plus_two:classify",
            {
                "signature_name": "classify_x_to_y",
                "context": {"x": 2.0},
                "examples": [{"x2": 1.0}, {"x2": 5.0}],
            },
        )
        self.assertEqual(json.loads(body), {"results": [[["", 3.0]], [["", 3.0]]]})


class ApiRestExamplesPlainLayoutTest(ApiRestExamplesTest):
    LAYOUT = "plain"
