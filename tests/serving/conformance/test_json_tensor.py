"""TF Serving's `util/json_tensor_test.cc`, the request side, ported to the local server's
REST parsing (`predict_inputs`, `examples_from_body`): the same JSON bodies, the same
expected tensors and Examples, and the same error texts (TF Serving's tests match a
substring; so do these).

Not ported: `DeeplyNestedWellFormed` / `DeeplyNestedMalformed` (500,000 nested brackets
in a key TF Serving ignores: its iterative parser reads them, ours refuses documents
nested deeper than the Python parser's limit, see the README) and
`TensorFromNonNullTerminatedBuffer` (a C++ buffer concern); the response-side `FromJson*`
tests are covered over HTTP by `test_api_rest_examples.py`.
"""

import numpy as np
import tensorflow as tf
from tensorflow.core.example import example_pb2
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from tfx_ext.serving.errors import ServingError
from tfx_ext.serving.json_tensors import loads
from tfx_ext.serving.rest_server import _signature_name, examples_from_body, predict_inputs


def _sig(**dtypes):
    """A SignatureDef whose inputs have only dtypes (TF Serving's test `infomap`)."""
    sig = meta_graph_pb2.SignatureDef()
    for name, dtype in dtypes.items():
        sig.inputs[name].dtype = types_pb2.DataType.Value(dtype)
    return sig


def fill_predict(text, sig):
    body = loads(text.encode())
    _signature_name(body)
    return predict_inputs(body, sig, 2**24)


def fill_examples(text):
    body = loads(text.encode())
    _signature_name(body)
    return [example_pb2.Example.FromString(s) for s in examples_from_body(body)]


class JsonTensorTest(tf.test.TestCase):
    def assertRejected(self, fill, text, *args, substring):
        with self.assertRaises(ServingError) as caught:
            fill(text, *args)
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
        self.assertIn(substring, caught.exception.message)

    def test_SingleUnnamedTensor(self):
        tensors, fmt = fill_predict('{"instances": [[1,2],[3,4],[5,6]]}', _sig(default="DT_INT32"))
        self.assertEqual(fmt, "row")
        self.assertEqual(list(tensors), ["default"])
        self.assertEqual(tensors["default"].dtype, np.int32)
        self.assertAllEqual(tensors["default"], [[1, 2], [3, 4], [5, 6]])

    def test_MixedInputForFloatTensor(self):
        tensors, _ = fill_predict(
            '{"instances": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}', _sig(default="DT_FLOAT")
        )
        self.assertEqual(tensors["default"].dtype, np.float32)
        self.assertAllEqual(
            tensors["default"], np.array([1, 2.0, 3, 4, 5.003, 0.007, 0.0], np.float32)
        )

    def test_MixedInputForDoubleTensor(self):
        tensors, _ = fill_predict(
            '{"instances": [1.0, 2, 3, 4, 0.662, 0, 0.0]}', _sig(default="DT_DOUBLE")
        )
        self.assertEqual(tensors["default"].dtype, np.float64)
        self.assertAllEqual(tensors["default"], [1.0, 2, 3, 4, 0.662, 0, 0.0])

    def test_FloatTensorWithPrecisionLoss(self):
        for text in ("1435774380", "1435774380.0"):  # with or without a decimal point, alike
            tensors, _ = fill_predict(f'{{"instances": [{text}]}}', _sig(default="DT_FLOAT"))
            self.assertAllEqual(tensors["default"], np.array([1435774380], np.float32))

    def test_FloatTensorThatExceedsMaxReturnsInf(self):
        biggest = np.finfo(np.float64).max
        for value, expected in ((biggest, np.inf), (-biggest, -np.inf)):
            tensors, _ = fill_predict(
                f'{{"instances": [{float(value)!r}]}}', _sig(default="DT_FLOAT")
            )
            self.assertEqual(tensors["default"].tolist(), [expected])

    def test_FloatTensorThatExceedsMinReturnsZero(self):
        tiny = np.finfo(np.float64).tiny
        for value, sign in ((tiny, 1.0), (-tiny, -1.0)):
            tensors, _ = fill_predict(
                f'{{"instances": [{float(value)!r}]}}', _sig(default="DT_FLOAT")
            )
            self.assertEqual(tensors["default"].tolist(), [0.0])
            self.assertEqual(np.copysign(1.0, tensors["default"][0]), sign)  # -0 stays -0

    def test_SingleUnnamedTensorWithSignature(self):
        text = '{"signature_name": "predict_images", "instances": [[1,2]]}'
        self.assertEqual(_signature_name(loads(text.encode())), "predict_images")
        tensors, fmt = fill_predict(text, _sig(default="DT_INT32"))
        self.assertEqual(fmt, "row")
        self.assertAllEqual(tensors["default"], [[1, 2]])

    def test_SingleUnnamedTensorBase64Scalars(self):
        tensors, _ = fill_predict(
            '{"instances": [{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}]}', _sig(default="DT_STRING")
        )
        self.assertEqual(tensors["default"].shape, (2,))
        self.assertEqual(tensors["default"].tolist(), [b"hello", b"world"])

    def test_SingleUnnamedTensorBase64Lists(self):
        tensors, _ = fill_predict(
            '{"instances": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}',
            _sig(default="DT_STRING"),
        )
        self.assertEqual(tensors["default"].shape, (2, 1))
        self.assertEqual(tensors["default"].tolist(), [[b"hello"], [b"world"]])

    def test_SingleNamedTensorBase64(self):
        tensors, _ = fill_predict(
            '{"instances": [{"default": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}]}',
            _sig(default="DT_STRING"),
        )
        self.assertEqual(tensors["default"].shape, (1, 2, 1))
        self.assertEqual(tensors["default"].reshape(-1).tolist(), [b"hello", b"world"])

    def test_MultipleNamedTensor(self):
        sig = _sig(
            int_tensor="DT_INT32",
            str_tensor="DT_STRING",
            float_tensor="DT_FLOAT",
            dbl_tensor="DT_DOUBLE",
        )
        tensors, fmt = fill_predict(
            """{"instances": [
            {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"], "float_tensor": [1.0, NaN], "dbl_tensor": [NaN]},
            {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"], "float_tensor": [2.0, Infinity],
             "dbl_tensor": [2.0]}]}""",
            sig,
        )
        self.assertEqual(fmt, "row")
        self.assertEqual(len(tensors), 4)
        self.assertAllEqual(
            tensors["int_tensor"], [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]]
        )
        self.assertEqual(tensors["str_tensor"].tolist(), [[b"foo", b"bar"], [b"baz", b"bat"]])
        self.assertEqual(tensors["float_tensor"].dtype, np.float32)
        self.assertAllEqual(
            tensors["float_tensor"], np.array([[1.0, np.nan], [2.0, np.inf]], np.float32)
        )
        self.assertEqual(tensors["dbl_tensor"].dtype, np.float64)
        self.assertAllEqual(tensors["dbl_tensor"], [[np.nan], [2.0]])

    def test_SingleUnnamedTensorColumnarFormat(self):
        for text in (
            '{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]]}}',
            '{"inputs": [[[1,2],[3,4],[5,6]]]}',
        ):
            with self.subTest(text=text):
                tensors, fmt = fill_predict(text, _sig(int_tensor="DT_INT32"))
                self.assertEqual(fmt, "columnar")
                self.assertAllEqual(tensors["int_tensor"], [[[1, 2], [3, 4], [5, 6]]])

    def test_MultipleNamedTensorColumnarFormat(self):
        sig = _sig(int_tensor="DT_INT32", str_tensor="DT_STRING", bin_tensor="DT_STRING")
        tensors, fmt = fill_predict(
            '{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]], "str_tensor": ["foo", "bar"], '
            '"bin_tensor": {"b64": "aGVsbG8="}}}',
            sig,
        )
        self.assertEqual(fmt, "columnar")
        self.assertEqual(tensors["int_tensor"].shape, (1, 3, 2))
        self.assertEqual(tensors["str_tensor"].tolist(), [b"foo", b"bar"])
        self.assertEqual(tensors["bin_tensor"].shape, ())
        self.assertEqual(tensors["bin_tensor"].item(), b"hello")

    def test_SingleUnnamedTensorErrors(self):
        sig = _sig(default="DT_INT32")
        with self.assertRaisesRegex(ServingError, "document is empty"):
            fill_predict("", sig)
        cases = [
            ('{"signature_name": 5, "instances": [[1,2],[3,4],[5,6,7]]}', "must be a string value"),
            (
                '{"instances": [[1,2],[3,4],[5,6,7]], "inputs": [[1,2],[3,4],[5,6,7]]}',
                "Not formatted correctly",
            ),
            ('{"instances": [[1,2],[3,4],[5,6,7]]}', "Expecting tensor size"),
            ('{"instances": [[1,2],[3,4],[[5,6]]]}', "Expecting shape"),
            ('{"instances": [1, [1]]}', "Expecting shape"),
            ('{"instances": [[1,2],["a", "b"]]}', "not of expected type"),
        ]
        for text, substring in cases:
            with self.subTest(text=text):
                self.assertRejected(fill_predict, text, sig, substring=substring)

    def test_whole_texts_of_the_instance_checks(self):
        """The full messages (`AddInstanceItem`, `FillPredictRequestFromJson`)."""
        sig = _sig(default="DT_INT32")
        cases = [
            ('{"instances": [[1,2],[3,4],[5,6,7]]}', "Expecting tensor size: 2 but got: 3"),
            ('{"instances": [[1],[1,2]]}', "Expecting tensor size: 1 but got: 2"),
            ('{"instances": [[1,2],[3,4],[[5,6]]]}', "Expecting shape [2] but got: [1,2]"),
            ('{"instances": [1, [1]]}', "Expecting shape [] but got: [1]"),
            ('{"signature_name": "x"}', "Missing 'inputs' or 'instances' key"),
            ("{}", "Missing 'inputs' or 'instances' key"),
        ]
        for text, message in cases:
            with self.subTest(text=text):
                with self.assertRaises(ServingError) as caught:
                    fill_predict(text, sig)
                self.assertEqual(caught.exception.message, message)

    def test_MultipleNamedTensorErrors(self):
        sig = _sig(int_tensor="DT_INT32", str_tensor="DT_STRING")
        shape = """{"instances": [
            {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"]},
            {"int_tensor": [[[7,8],[9,0],[1,2]]], "str_tensor": ["baz", "bat"]}]}"""
        size = """{"instances": [
            {"int_tensor": [[1,2],[3,4],[5,6],[7,8]], "str_tensor": ["foo", "bar"]},
            {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"]}]}"""
        mixed = """{"instances": [
            {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"]},
            [1, 20, 30],
            {"int_tensor": [[[7,8],[9,0],[1,2]]], "str_tensor": ["baz", "bat"]}]}"""
        self.assertRejected(fill_predict, shape, sig, substring="Expecting shape")
        self.assertRejected(fill_predict, size, sig, substring="Expecting tensor size")
        self.assertRejected(fill_predict, mixed, sig, substring="Expecting object but got list")
        self.assertRejected(
            fill_predict,
            '{"instances": [["baz", "bar"], {"str_tensor": ["baz", "bat"]}]}',
            _sig(str_tensor="DT_STRING"),
            substring="Expecting value/list but got object",
        )


def _feature(example, name):
    feature = example.features.feature[name]
    kind = feature.WhichOneof("kind")
    return kind, list(getattr(feature, kind).value) if kind else []


class ClassifyRegressRequestTest(tf.test.TestCase):
    """TF Serving runs these for Classify and Regress alike: one parser."""

    def test_RequestNoContext(self):
        first, second = fill_examples("""{"examples": [
            {"names": ["foo", "bar"], "ratings": [8.0, 9.0], "age": 20},
            {"names": ["baz"], "ratings": 6.0}]}""")
        self.assertEqual(_feature(first, "names"), ("bytes_list", [b"foo", b"bar"]))
        self.assertEqual(_feature(first, "ratings"), ("float_list", [8.0, 9.0]))
        self.assertEqual(_feature(first, "age"), ("int64_list", [20]))
        self.assertEqual(_feature(second, "names"), ("bytes_list", [b"baz"]))
        self.assertEqual(_feature(second, "ratings"), ("float_list", [6.0]))
        self.assertNotIn("age", second.features.feature)

    def test_RequestWithContextAndSignature(self):
        text = """{
            "signature_name": "custom_signture",
            "context": {"query": "pizza", "location": ["sfo"]},
            "examples": [
                {"names": ["foo", "bar"], "ratings": [8.0, 9.0, NaN, Infinity], "age": 20},
                {"names": ["baz", {"b64": "aGVsbG8="}], "ratings": 6.0, "intboolmix": [1, true, false]}]}"""
        self.assertEqual(_signature_name(loads(text.encode())), "custom_signture")
        first, second = fill_examples(text)
        for example in (first, second):  # the context's features come with every example
            self.assertEqual(_feature(example, "query"), ("bytes_list", [b"pizza"]))
            self.assertEqual(_feature(example, "location"), ("bytes_list", [b"sfo"]))
        kind, ratings = _feature(first, "ratings")
        self.assertEqual(kind, "float_list")
        self.assertEqual(ratings[:2], [8.0, 9.0])
        self.assertTrue(np.isnan(ratings[2]))
        self.assertEqual(ratings[3], np.inf)
        self.assertEqual(_feature(second, "names"), ("bytes_list", [b"baz", b"hello"]))
        self.assertEqual(_feature(second, "intboolmix"), ("int64_list", [1, 1, 0]))

    def test_example_features_override_the_context_s(self):
        """TF Serving sends the context's serialized bytes followed by the example's: a
        feature named in both parses to the example's value."""
        (example,) = fill_examples('{"context": {"x": 1.0, "q": "a"}, "examples": [{"x": 2.0}]}')
        self.assertEqual(_feature(example, "x"), ("float_list", [2.0]))
        self.assertEqual(_feature(example, "q"), ("bytes_list", [b"a"]))

    def test_JsonErrors(self):
        cases = [
            (
                '{"signature_name": ["hello"], "examples": [{"names": ["foo", "bar"]}]}',
                "'signature_name' key must be a string",
            ),
            ('{"context": [{"names": ["foo", "bar"]}]}', "Example must be JSON object"),
            ('{"examples": {"names": ["foo", "bar"]}}', "list/array"),
            ('{"examples": [[{"names": ["foo", "bar"]}]]}', "Example must be JSON object"),
            (
                '{"examples": [{"names": [10, null]}]}',
                "names has element with unexpected JSON type: Null",
            ),
            ('{"examples": [{"names": [10, 10.0]}]}', "feature: names expecting type: int64"),
            (
                '{"examples": [{"names": [10, {"test": 10}]}]}',
                "names has element with unexpected JSON type: Object",
            ),
            (
                '{"examples": [{"names": [[10], 20]}]}',
                "names has element with unexpected JSON type: Array",
            ),
            ('{"examples": [{"names": [20, 18446744073709551603]}]}', "Only int64_t is supported"),
        ]
        for text, substring in cases:
            with self.subTest(text=text):
                with self.assertRaises(ServingError) as caught:
                    fill_examples(text)
                self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
                self.assertIn(substring, caught.exception.message)

    def test_whole_texts_of_the_examples_checks(self):
        cases = [
            (
                '{"instances": [1]}',
                "JSON Value: {\"instances\":[1]} When method is classify, key 'examples' is expected and was not found",
            ),
            (
                '{"examples": []}',
                "JSON Value: {\"examples\":[]} 'examples' value is an empty array",
            ),
            ('{"examples": [3]}', "Example must be JSON object but got JSON Number"),
            # IsValBase64Object wants a string under "b64": anything else is an object.
            (
                '{"examples": [{"f": {"b64": 5}}]}',
                "Feature: f has element with unexpected JSON type: Object",
            ),
        ]
        for text, message in cases:
            with self.subTest(text=text):
                with self.assertRaises(ServingError) as caught:
                    fill_examples(text)
                self.assertEqual(caught.exception.message, message)
