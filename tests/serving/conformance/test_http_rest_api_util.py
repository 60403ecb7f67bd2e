"""TF Serving's `model_servers/http_rest_api_util_test.cc` (ParseModelInfo), ported to the
local server's path parser: percent-encoded reserved characters in model names and
labels, versions, labels, metadata; paths TF Serving does not parse are "Malformed
request"; a version beyond int64 fails to convert."""

import tensorflow as tf

from tfx_ext.serving.errors import ServingError
from tfx_ext.serving.rest_server import parse_path

RESERVED = "%21%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D"
DECODED = "!#$%&'()*+,/:;=?@[]"


class HttpRestApiUtilTest(tf.test.TestCase):
    def assertNotParsed(self, method, path):
        with self.assertRaisesRegex(ServingError, "Malformed request") as caught:
            parse_path(method, path)
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_TestParseModelInfoForGet(self):
        self.assertEqual(
            parse_path("GET", f"/v1/models/modelname{RESERVED}"),
            (f"modelname{DECODED}", None, None, ""),
        )
        self.assertEqual(
            parse_path("GET", "/v1/models/modelname/versions/99"), ("modelname", 99, None, "")
        )
        self.assertEqual(
            parse_path("GET", "/v1/models/modelname/labels/latest"),
            ("modelname", None, "latest", ""),
        )
        self.assertEqual(
            parse_path("GET", f"/v1/models/modelname/labels/latest{RESERVED}"),
            ("modelname", None, f"latest{DECODED}", ""),
        )
        self.assertEqual(
            parse_path("GET", "/v1/models/modelname/labels/latest/metadata"),
            ("modelname", None, "latest", "metadata"),
        )
        self.assertEqual(
            parse_path("GET", f"/v1/models/modelname{RESERVED}/labels/latest{RESERVED}/metadata"),
            (f"modelname{DECODED}", None, f"latest{DECODED}", "metadata"),
        )
        for path in ("/v1/foo", "/v1/models/foo:predict", "/v1/models/foo/version/50:predict"):
            self.assertNotParsed("GET", path)

    def test_TestParseModelInfoForPost(self):
        self.assertEqual(
            parse_path("POST", f"/v1/models/modelname{RESERVED}:predict"),
            (f"modelname{DECODED}", None, None, "predict"),
        )
        self.assertEqual(
            parse_path("POST", "/v1/models/modelname/versions/99:predict"),
            ("modelname", 99, None, "predict"),
        )
        self.assertEqual(
            parse_path("POST", "/v1/models/modelname/labels/latest:predict"),
            ("modelname", None, "latest", "predict"),
        )
        self.assertEqual(
            parse_path("POST", f"/v1/models/modelname/labels/latest{RESERVED}:predict"),
            ("modelname", None, f"latest{DECODED}", "predict"),
        )
        self.assertEqual(
            parse_path("POST", f"/v1/models/modelname{RESERVED}/labels/latest{RESERVED}:predict"),
            (f"modelname{DECODED}", None, f"latest{DECODED}", "predict"),
        )
        for path in (
            "/v1/foo",
            "/v1/models",
            "/v1/models/foo/version/50:predict",
            "/v1/models/foo/versions/string:predict",
            "/v1/models/foo/metadata",
            "/v1/models/foo/versions/50/labels/some_label:regress",
        ):
            self.assertNotParsed("POST", path)
        with self.assertRaisesRegex(ServingError, "Failed to convert version") as caught:
            parse_path("POST", f"/v1/models/foo/versions/{2**64 - 1}:predict")
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
