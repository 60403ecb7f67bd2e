"""What the ported TF Serving tests share: a server per test class, raw REST calls.

A conformance class names its models (`MODELS`: served name -> testdata model
or a path builder) and its layout (`LAYOUT`: "padded" = `00000123`, "plain" =
`123`); `ServerTestCase.setUpClass` writes a models.config and starts one
`LocalModelServer` for the whole class.
"""

import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request

import tensorflow as tf

from tests.export.models import free_port
from tests.serving.conformance.testdata_models import build_testdata
from tfx_ext.export import ModelEntry, write_model_config
from tfx_ext.serving import LocalModelServer

RPC_TIMEOUT = 20.0


def call_rest(url, request=None, data=None, method=None, headers=None):
    """`(HTTP status, headers, body bytes)`; POSTs `request` as JSON (or raw `data`) when given."""
    if request is not None:
        data = json.dumps(request).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=RPC_TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sorted_object(obj):
    """TF Serving's SortedObject: nested lists and dicts in a canonical order."""
    if isinstance(obj, dict):
        return sorted((k, sorted_object(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return sorted((sorted_object(x) for x in obj), key=repr)
    return obj


class ServerTestCase(tf.test.TestCase):
    LAYOUT = "padded"
    MODELS = {}  # served name -> testdata model name, or a callable(layout) -> base path
    LABELS = {}  # served name -> {label: version}
    VERSIONS = {}  # served name -> [versions] (specific policy)
    SERVER_ARGS = {}

    @classmethod
    def model_path(cls, name):
        source = cls.MODELS[name]
        return source(cls.LAYOUT) if callable(source) else build_testdata()[cls.LAYOUT][source]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="tfx_ext_conformance_")
        entries = [
            ModelEntry(
                name,
                cls.model_path(name),
                versions=cls.VERSIONS.get(name),
                labels=cls.LABELS.get(name),
            )
            for name in cls.MODELS
        ]
        cls.config_file = write_model_config(os.path.join(cls.tmp, "models.config"), entries)
        cls.rest_port, cls.grpc_port = free_port(), free_port()
        cls.server = LocalModelServer(
            model_config_file=cls.config_file,
            rest_port=cls.rest_port,
            grpc_port=cls.grpc_port,
            **cls.server_args(),
        ).start()
        cls.grpc_address = f"127.0.0.1:{cls.grpc_port}"
        cls.rest_address = f"127.0.0.1:{cls.rest_port}"

    @classmethod
    def server_args(cls):
        return dict(cls.SERVER_ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()
