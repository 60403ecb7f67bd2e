"""TF Serving's REST API (port 8501) for the local server.

    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]            model status
    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata   signatures
    POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict    instances | inputs
    POST ...:classify | ...:regress                              examples

Paths are matched with TF Serving's own patterns (case-insensitive); any other
path under `/v1/` is a 400 "Malformed request", outside `/v1/` a 404. Errors
are `{"error": message}` with TF Serving's statuses (400 / 404 / 503 ...);
a body above `max_body_bytes` is a 413. Bodies may be chunked; a body that
does not arrive within `read_timeout` seconds closes the connection.
"""

import http.server
import re
import time
import urllib.parse

from tfx_ext.serving import inference
from tfx_ext.serving.errors import ServingError, invalid_argument
from tfx_ext.serving.json_tensors import (
    Rows,
    Tensor,
    debug_string,
    dumps,
    is_b64,
    loads,
    tensor_from_json,
)
from tfx_ext.serving.model_registry import signature_def_map

# TF Serving's http_rest_api_util.cc patterns.
_PREDICTION_PATH = re.compile(
    r"(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)"
)
_STATUS_PATH = re.compile(
    r"(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?"
)
_HANDLED = re.compile(r"(?i)/v1/.*")
_MAX_CHUNK_LINE = 1024


class _BadBody(Exception):
    """The body cannot be read: answer 400/413 and close the connection."""

    def __init__(self, error):
        super().__init__(error.message)
        self.error = error


def parse_path(method, path):
    """`(model name, version, label, verb or "metadata"/"")` of a request, or TF Serving's error."""
    malformed = invalid_argument(f"Malformed request: {method} {path}")
    if method == "POST":
        match = _PREDICTION_PATH.fullmatch(path)
    elif method == "GET":
        match = _STATUS_PATH.fullmatch(path)
    else:
        match = None
    if match is None:
        raise malformed
    name, version, label, verb = match.groups()
    name = urllib.parse.unquote(name) if name else ""
    if version:
        number = int(version)
        if number >= 2**63:
            raise invalid_argument(f"Failed to convert version: {version} to numeric.")
        version = number
    else:
        version = None
    label = urllib.parse.unquote(label) if label else None
    if method == "POST" and verb not in ("classify", "regress", "predict"):
        raise malformed  # the pattern is case-insensitive but the dispatch is not
    if method == "GET" and verb not in (None, "metadata"):
        raise malformed
    if not name:
        raise invalid_argument("Missing model name in request.")
    return name, version, label, verb or ""


def _version_json(version):
    return str(version)


def status_json(model, version=None):
    return {
        "model_version_status": [
            {
                "version": _version_json(v),
                "state": state.state,
                "status": {"error_code": state.error_code, "error_message": state.error_message},
            }
            for v, state in model.status(version)
        ]
    }


def metadata_json(model, version, label):
    from google.protobuf import json_format

    served = model.resolve(version, label)
    signature_map = signature_def_map(model, served.version)
    return {
        "model_spec": {
            "name": model.name,
            "signature_name": "",
            "version": _version_json(served.version),
        },
        "metadata": {
            "signature_def": json_format.MessageToDict(
                signature_map,
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
            )
        },
    }


def _signature_name(body):
    if not isinstance(body, dict):
        raise invalid_argument(f"JSON Value: {debug_string(body)} Is not object")
    name = body.get("signature_name")
    if name is not None and not isinstance(name, str):
        raise invalid_argument(
            f"JSON Value: {debug_string(name)} not formatted correctly. 'signature_name' key must be a string value."
        )
    return name


def _named(value):
    return isinstance(value, dict) and not is_b64(value)


def predict_inputs(body, sig, max_elements):
    """`({input: ndarray}, "row" | "columnar")` from a predict body, by the signature's dtypes."""
    infos = dict(sig.inputs)
    has_instances, has_inputs = "instances" in body, "inputs" in body
    if not has_instances and not has_inputs:
        raise invalid_argument("Missing 'inputs' or 'instances' key")
    if has_instances and has_inputs:
        raise invalid_argument(
            f"JSON Value: {debug_string(body)} Not formatted correctly expecting only one of 'inputs' or "
            "'instances' keys to exist "
        )
    if has_instances:
        instances = body["instances"]
        if not isinstance(instances, list):
            raise invalid_argument(
                f"JSON Value: {debug_string(body)} Expecting 'instances' to be an list/array"
            )
        if not instances:
            raise invalid_argument(
                f"JSON Value: {debug_string(body)} No values in 'instances' array"
            )
        if _named(instances[0]):
            names = sorted(infos)
            for index, item in enumerate(instances):
                if not _named(item):
                    raise invalid_argument(
                        f"Expecting object but got list at item {index} of input list"
                    )
                if set(item) != set(names):
                    raise invalid_argument(
                        f"Failed to process element: {index} of 'instances' list. JSON object: "
                        f"{debug_string(item)} keys must be equal to: {','.join(names)}"
                    )
            try:
                return {
                    n: tensor_from_json(
                        [i[n] for i in instances], _dtype(infos[n]), max_elements, n
                    )
                    for n in names
                }, "row"
            except ServingError:
                _explain_instances(
                    [(k, v) for item in instances for k, v in item.items()], infos, max_elements
                )
                raise
        if len(infos) != 1:
            raise invalid_argument(
                "instances is a plain list, but expecting list of objects as multiple input tensors required as "
                "per tensorinfo_map"
            )
        for index, item in enumerate(instances):
            if _named(item):
                raise invalid_argument(
                    f"Expecting value/list but got object at item {index} of input list"
                )
        name = next(iter(infos))
        try:
            return {
                name: tensor_from_json(instances, _dtype(infos[name]), max_elements, name)
            }, "row"
        except ServingError:
            _explain_instances([(name, item) for item in instances], infos, max_elements)
            raise
    inputs = body["inputs"]
    if _named(inputs):
        tensors = {}
        for name in sorted(infos):
            if name not in inputs:
                raise invalid_argument(f"Missing named input: {name} in 'inputs' object.")
            tensors[name] = tensor_from_json(inputs[name], _dtype(infos[name]), max_elements, name)
        return tensors, "columnar"
    if len(infos) != 1:
        raise invalid_argument(
            "inputs is a plain value/list, but expecting an object as multiple input tensors required as per "
            "tensorinfo_map"
        )
    name = next(iter(infos))
    return {name: tensor_from_json(inputs, _dtype(infos[name]), max_elements, name)}, "columnar"


def _explain_instances(items, infos, max_elements):
    """TF Serving's error for a list of instances that is not one tensor: it converts the
    instances one at a time (`AddInstanceItem`), so the first instance that fails, or that
    differs from the first of its input in size, then in shape, is reported. `items` is
    `[(input name, instance value)]` in request order. Returns if every instance converts
    and agrees (the caller's own error then stands)."""
    first = {}  # input name -> the first instance's tensor
    for name, value in items:
        tensor = tensor_from_json(value, _dtype(infos[name]), max_elements, name)
        expected = first.setdefault(name, tensor)
        if expected.size != tensor.size:
            raise invalid_argument(f"Expecting tensor size: {expected.size} but got: {tensor.size}")
        if expected.shape != tensor.shape:
            raise invalid_argument(
                f"Expecting shape {_shape_text(expected.shape)} but got: {_shape_text(tensor.shape)}"
            )


def _shape_text(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def _dtype(info):
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Name(info.dtype)


def predict_response(outputs, fmt):
    if fmt == "columnar":
        if len(outputs) == 1:
            name, value = next(iter(outputs.items()))
            return {"outputs": Tensor(value, name)}
        return {"outputs": {k: Tensor(v, k) for k, v in sorted(outputs.items())}}
    if len(outputs) == 1:
        name, value = next(iter(outputs.items()))
        return {"predictions": Tensor(value, name)}
    batch = None
    for name, value in sorted(outputs.items()):
        if value.ndim == 0:
            raise invalid_argument(f"Tensor name: {name} has no shape information ")
        if batch is None:
            batch = value.shape[0]
        elif value.shape[0] != batch:
            raise invalid_argument(
                f"Tensor name: {name} has inconsistent batch size: {value.shape[0]} expecting: {batch}"
            )
    return {"predictions": Rows(dict(sorted(outputs.items())))}


def examples_from_body(body):
    """The serialized examples of a classify / regress body, with TF Serving's checks in its
    order (`FillClassifyRegressRequestFromJson`): the context, then the examples. Each
    example is sent as TF Serving sends it, the context's serialized bytes followed by the
    example's: a feature in both takes the example's value."""
    context = b""
    if "context" in body:
        context = inference.example_message(body["context"]).SerializeToString()
    if "examples" not in body:
        raise invalid_argument(
            f"JSON Value: {debug_string(body)} When method is classify, key 'examples' is expected and was not found"
        )
    examples = body["examples"]
    if not isinstance(examples, list):
        raise invalid_argument(
            f"JSON Value: {debug_string(body)} Expecting 'examples' value to be an list/array"
        )
    if not examples:
        raise invalid_argument(
            f"JSON Value: {debug_string(body)} 'examples' value is an empty array"
        )
    return [
        context + inference.example_message(example).SerializeToString() for example in examples
    ]


def make_handler(
    registry,
    max_body_bytes,
    max_tensor_elements=2**24,
    read_timeout=30.0,
    metrics=None,
    metrics_path=None,
    method_check=False,
):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "tfx_ext-local-model-server"
        protocol_version = "HTTP/1.1"
        timeout = read_timeout  # socket timeout: a slow body frees its thread

        def log_message(self, *args):  # quiet: tests and the demo print their own lines
            pass

        def _send(self, status, payload, content_type="application/json"):
            # Status line, headers and body leave in one send: written in pieces, the body
            # waits for the client's delayed ACK of the headers (Nagle), ~40 ms a request.
            body = (
                payload
                if isinstance(payload, bytes)
                else (payload if isinstance(payload, str) else dumps(payload)).encode()
            )
            self.log_request(status)
            phrase = self.responses.get(status, ("",))[0]
            head = [
                f"{self.protocol_version} {status} {phrase}",
                f"Server: {self.version_string()}",
                f"Date: {self.date_time_string()}",
                f"Content-Type: {content_type}",
                f"Content-Length: {len(body)}",
            ]
            if self.close_connection:
                head.append("Connection: close")
            self.wfile.write("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)

        def _read_exact(self, n):
            data = self.rfile.read(n)
            if len(data) != n:
                raise _BadBody(invalid_argument("Request body ended before its declared length"))
            return data

        def _read_chunked(self):
            parts, total = [], 0
            while True:
                line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
                if not line.endswith(b"\n"):
                    raise _BadBody(invalid_argument("Malformed chunked request body"))
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _BadBody(invalid_argument("Malformed chunked request body")) from None
                if size < 0:
                    raise _BadBody(invalid_argument("Malformed chunked request body"))
                if size == 0:
                    while self.rfile.readline(_MAX_CHUNK_LINE + 1).strip():
                        pass  # trailers
                    return b"".join(parts)
                total += size
                if total > max_body_bytes:
                    raise _BadBody(
                        ServingError(
                            "RESOURCE_EXHAUSTED",
                            f"Request body exceeds the limit of {max_body_bytes} bytes",
                            413,
                        )
                    )
                parts.append(self._read_exact(size))
                if self.rfile.readline(_MAX_CHUNK_LINE + 1).strip():
                    raise _BadBody(invalid_argument("Malformed chunked request body"))

        def _read_body(self):
            encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
            if encoding:
                if encoding != "chunked":
                    raise _BadBody(invalid_argument(f"Unsupported Transfer-Encoding: {encoding}"))
                return self._read_chunked()
            declared = self.headers.get_all("Content-Length") or []
            if not declared:
                return b""
            if len(set(declared)) != 1 or not re.fullmatch(r"[0-9]{1,19}", declared[0].strip()):
                raise _BadBody(invalid_argument(f"Invalid Content-Length: {', '.join(declared)}"))
            length = int(declared[0])
            if length > max_body_bytes:
                raise _BadBody(
                    ServingError(
                        "RESOURCE_EXHAUSTED",
                        f"Request body of {length} bytes exceeds the limit of {max_body_bytes}",
                        413,
                    )
                )
            return self._read_exact(length)

        def _handle(self, method):
            start = time.monotonic()
            path = self.path.split("?", 1)[0]
            model_name, api = "", method.lower()
            try:
                try:
                    raw = self._read_body()
                except (TimeoutError, OSError):
                    self.close_connection = True
                    return
                if metrics_path is not None and path == metrics_path and method == "GET":
                    self._send(200, metrics.prometheus_text(), "text/plain; version=0.0.4")
                    return
                if not _HANDLED.fullmatch(path):
                    raise ServingError("NOT_FOUND", f"Not found: {method} {path}", 404)
                model_name, version, label, verb = parse_path(method, path)
                api = verb or "status"
                self._send(200, self._answer(method, model_name, version, label, verb, raw))
                self._record(model_name, api, "OK", start)
            except _BadBody as bad:
                self.close_connection = True
                self._send(bad.error.http_status, {"error": bad.error.message})
            except ServingError as error:
                self._send(error.http_status, {"error": error.message})
                self._record(model_name, api, error.code, start)
            except Exception:  # keep serving whatever happens; no Python internals in the answer
                self._send(500, {"error": "Internal error while handling the request"})
                self._record(model_name, api, "INTERNAL", start)

        def _record(self, model_name, api, status, start):
            if metrics is not None and model_name:
                metrics.record(model_name, api, "REST", status, time.monotonic() - start)

        def _answer(self, method, name, version, label, verb, raw):
            if method == "GET":
                if verb == "metadata":
                    return metadata_json(registry.get(name), version, label)
                if name not in registry.models:
                    raise ServingError("NOT_FOUND", f"Could not find any versions of model {name}")
                return status_json(registry.models[name], version)
            body = loads(raw)
            signature_name = _signature_name(body)
            # TF Serving parses a classify / regress body before it looks the model up.
            examples = examples_from_body(body) if verb != "predict" else None
            served = registry.get(name).resolve(version, label)
            method_name = {
                "predict": inference.PREDICT_METHOD,
                "classify": inference.CLASSIFY_METHOD,
                "regress": inference.REGRESS_METHOD,
            }[verb]
            key, sig = inference.signature(served, signature_name, method_name, method_check)
            if verb == "predict":
                inputs, fmt = predict_inputs(body, sig, max_tensor_elements)
                return predict_response(inference.predict(served, key, sig, inputs), fmt)
            if verb == "classify":
                return {
                    "results": [
                        [[label, score] for label, score in row]
                        for row in inference.classify(served, key, sig, examples)
                    ]
                }
            return {"results": inference.regress(served, key, sig, examples)}

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_PUT(self):
            self._handle("PUT")

        def do_DELETE(self):
            self._handle("DELETE")

        def do_PATCH(self):
            self._handle("PATCH")

    return Handler
