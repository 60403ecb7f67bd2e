"""TF Serving's REST API (port 8501) for the local server.

    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]            model status
    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata   signatures
    POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict    instances | inputs
    POST ...:classify | ...:regress                              examples

Errors are `{"error": message}` with 400 / 404 / 413 / 503, as TF Serving.
"""

import base64
import http.server
import json
import re

import numpy as np

from tfx_ext.serving import inference
from tfx_ext.serving.errors import ServingError, invalid_argument, not_found
from tfx_ext.serving.model_registry import signature_def_map

_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>predict|classify|regress))?/?$"
)


def _is_b64(value):
    return isinstance(value, dict) and set(value) == {"b64"}


def _decode(value):
    """JSON instance values to NumPy-friendly values ({"b64": ...} becomes bytes)."""
    if _is_b64(value):
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _array(value):
    """A JSON tensor value as an ndarray (binary values kept whole)."""
    try:
        return inference.as_array(_decode(value))
    except ValueError as error:
        raise invalid_argument(f"Tensor values must be rectangular (rows of the same length): {error}") from None


def _encode(array):
    """NumPy output to JSON (bytes as UTF-8 text, or {"b64": ...} when not text)."""
    array = np.asarray(array)
    if array.dtype.kind in "SO":
        def text(item):
            if isinstance(item, bytes):
                try:
                    return item.decode("utf-8")
                except UnicodeDecodeError:
                    return {"b64": base64.b64encode(item).decode()}
            return item

        return np.vectorize(text, otypes=[object])(array).tolist() if array.size else array.tolist()
    return array.tolist()


def parse_predict_body(body, input_names):
    """{input name: ndarray} and the response format ("row" or "columnar") of a predict body."""
    if not isinstance(body, dict):
        raise invalid_argument("JSON Value: must be an object with 'instances' or 'inputs'")
    if ("instances" in body) == ("inputs" in body):
        raise invalid_argument("Missing 'instances' or 'inputs' key (exactly one of them is required)")
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise invalid_argument("'instances' must be a non-empty JSON list")
        if all(isinstance(i, dict) and not _is_b64(i) for i in instances):  # named inputs
            names = set(instances[0])
            if any(set(i) != names for i in instances):
                raise invalid_argument("All 'instances' must have the same named inputs")
            return {n: _array([i[n] for i in instances]) for n in names}, "row"
        if len(input_names) != 1:
            raise invalid_argument(f"Signature has inputs {sorted(input_names)}: 'instances' must be objects")
        return {input_names[0]: _array(instances)}, "row"
    inputs = body["inputs"]
    if isinstance(inputs, dict) and not _is_b64(inputs):
        return {n: _array(v) for n, v in inputs.items()}, "columnar"
    if len(input_names) != 1:
        raise invalid_argument(f"Signature has inputs {sorted(input_names)}: 'inputs' must be an object")
    return {input_names[0]: _array(inputs)}, "columnar"


def format_predict_response(outputs, fmt):
    if fmt == "columnar":
        if len(outputs) == 1:
            return {"outputs": _encode(next(iter(outputs.values())))}
        return {"outputs": {k: _encode(v) for k, v in outputs.items()}}
    rows = len(next(iter(outputs.values())))
    if len(outputs) == 1:
        return {"predictions": _encode(next(iter(outputs.values())))}
    encoded = {k: _encode(v) for k, v in outputs.items()}
    return {"predictions": [{k: v[i] for k, v in encoded.items()} for i in range(rows)]}


def _status_json(model, version=None, label=None):
    if version is None and label is None:
        versions = sorted(model.loaded)
        if not versions:
            raise not_found(f"Could not find any versions of model {model.name}")
    else:
        versions = [model.resolve(version, label)[0]]
    return {
        "model_version_status": [
            {"version": str(v), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            for v in versions
        ]
    }


def _metadata_json(model, version, label):
    from google.protobuf import json_format

    version, _, _ = model.resolve(version, label)
    signature_map = signature_def_map(model, version)
    return {
        "model_spec": {"name": model.name, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": json_format.MessageToDict(signature_map, preserving_proto_field_name=True)},
    }


def make_handler(registry, max_body_bytes):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "tfx_ext-local-model-server"
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: tests and the demo print their own lines
            pass

        def _send(self, status, payload):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _route(self):
            match = _PATH.match(self.path.split("?", 1)[0])
            if not match:
                raise ServingError("NOT_FOUND", f"Malformed request: {self.command} {self.path}", 404)
            version = int(match["version"]) if match["version"] else None
            return registry.get(match["name"]), version, match["label"], match["metadata"], match["verb"]

        def do_GET(self):
            try:
                model, version, label, metadata, verb = self._route()
                if verb:
                    raise ServingError("NOT_FOUND", f"Malformed request: GET {self.path}", 404)
                self._send(200, _metadata_json(model, version, label) if metadata else _status_json(model, version, label))
            except ServingError as error:
                self._send(error.http_status, {"error": error.message})
            except Exception as error:  # keep serving whatever happens
                self._send(500, {"error": f"Internal error: {error}"})

        def do_POST(self):
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length > max_body_bytes:
                    self.close_connection = True
                    raise ServingError(
                        "RESOURCE_EXHAUSTED", f"Request body of {length} bytes exceeds the limit of {max_body_bytes}", 413
                    )
                raw = self.rfile.read(length)
                model, version, label, metadata, verb = self._route()
                if not verb:
                    raise ServingError("NOT_FOUND", f"Malformed request: POST {self.path}", 404)
                try:
                    body = json.loads(raw or b"null")
                except ValueError as error:
                    raise invalid_argument(f"JSON Parse error: {error}") from None
                self._send(200, self._answer(model, version, label, verb, body))
            except ServingError as error:
                self._send(error.http_status, {"error": error.message})
            except Exception as error:  # keep serving whatever happens
                self._send(500, {"error": f"Internal error: {error}"})

        def _answer(self, model, version, label, verb, body):
            if not isinstance(body, dict):
                raise invalid_argument("JSON Value: request body must be a JSON object")
            signature_name = body.get("signature_name")
            if verb == "predict":
                _, loaded, infos = model.resolve(version, label)
                name = signature_name or "serving_default"
                if name not in infos:
                    raise invalid_argument(f"Serving signature name: \"{name}\" not found in signature def")
                inputs, fmt = parse_predict_body(body, [t.name for t in infos[name].inputs])
                _, _, outputs = inference.predict(
                    registry, model.name, inputs, version, label, signature_name, coerce=True
                )
                return format_predict_response(outputs, fmt)
            examples = body.get("examples")
            if not isinstance(examples, list) or not examples:
                raise invalid_argument("'examples' must be a non-empty JSON list")
            context = body.get("context") or {}
            serialized = [inference.example_from_features({**context, **e}) for e in examples]
            if verb == "classify":
                _, _, classes, scores = inference.classify(registry, model.name, serialized, version, label, signature_name)
                results = [
                    [[c.decode() if isinstance(c, bytes) else c, float(s)] for c, s in zip(row_c, row_s)]
                    for row_c, row_s in zip(classes, scores)
                ]
            else:
                _, _, values = inference.regress(registry, model.name, serialized, version, label, signature_name)
                results = [float(v) for v in values]
            return {"results": results}

    return Handler
