"""Client for TF Serving's REST API (port 8501)."""

import time

import numpy as np

from tfx_ext._core.arguments import check_int, check_name, check_number, check_port
from tfx_ext.serving.errors import ServingError
from tfx_ext.serving.json_values import example_features as _features
from tfx_ext.serving.json_values import jsonable as _jsonable

_CODES = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    413: "RESOURCE_EXHAUSTED",
    429: "RESOURCE_EXHAUSTED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class RestClient:
    """Predict / classify / regress / metadata / status over TF Serving's REST API.

    NumPy in, NumPy out. Retries with exponential backoff on 503 (UNAVAILABLE)
    only; other errors raise `ServingError` with the server's status and
    message.

    Args:
        host, port: The server (TF Serving's REST port is 8501).
        model_name: The model.
        version: Optional version number; or `label` (e.g. "canary"), not both.
        timeout: Seconds per request.
        retries: Extra attempts on 503.
        backoff: First retry delay in seconds (doubles each time).

    Example:

    >>> client = RestClient("localhost", 8501, "digits", label="stable")
    >>> client.predict(x_test[:5])["digit"]
    """

    def __init__(
        self, host, port, model_name, version=None, label=None, timeout=10.0, retries=3, backoff=0.2
    ):
        if version is not None and label is not None:
            raise ValueError(
                f"Invalid arguments: give `version` or `label`, not both. Received: version={version!r}, label={label!r}"
            )
        self.port = check_port("port", port)
        self.host = host
        self.model_name = check_name("model_name", model_name)
        self.version = None if version is None else check_int("version", version, minimum=1)
        self.label = label
        self.timeout = check_number("timeout", timeout, low=0.0, low_open=True)
        self.retries = check_int("retries", retries, minimum=0)
        self.backoff = check_number("backoff", backoff, low=0.0)
        import requests

        self._session = requests.Session()

    @property
    def model_url(self):
        url = f"http://{self.host}:{self.port}/v1/models/{self.model_name}"
        if self.version is not None:
            url += f"/versions/{self.version}"
        elif self.label is not None:
            url += f"/labels/{self.label}"
        return url

    def _request(self, method, url, payload=None):
        delay = self.backoff
        for attempt in range(self.retries + 1):
            response = self._session.request(method, url, json=payload, timeout=self.timeout)
            if response.status_code == 503 and attempt < self.retries:
                time.sleep(delay)
                delay *= 2
                continue
            try:
                body = response.json()
            except ValueError:
                body = {"error": response.text}
            if response.status_code != 200:
                raise ServingError(
                    _CODES.get(response.status_code, "UNKNOWN"),
                    body.get("error", response.text),
                    response.status_code,
                )
            return body

    def predict(self, inputs, signature_name=None, columnar=False):
        """Runs a Predict request.

        Args:
            inputs: An array (the signature's single input) or `{name: array}`.
            signature_name: Defaults to `serving_default`.
            columnar: Send `inputs` (columnar) instead of `instances` (rows).

        Returns:
            An array when the signature has one output, else `{name: array}`.
        """
        payload = {} if signature_name is None else {"signature_name": signature_name}
        if columnar:
            payload["inputs"] = (
                {k: _jsonable(v) for k, v in inputs.items()}
                if isinstance(inputs, dict)
                else _jsonable(inputs)
            )
        elif isinstance(inputs, dict):
            columns = {k: _jsonable(v) for k, v in inputs.items()}
            rows = len(next(iter(columns.values())))
            payload["instances"] = [{k: v[i] for k, v in columns.items()} for i in range(rows)]
        else:
            payload["instances"] = _jsonable(inputs)
        body = self._request("POST", self.model_url + ":predict", payload)
        if columnar:
            outputs = body["outputs"]
            return (
                {k: np.asarray(v) for k, v in outputs.items()}
                if isinstance(outputs, dict)
                else np.asarray(outputs)
            )
        predictions = body["predictions"]
        if predictions and isinstance(predictions[0], dict):
            return {k: np.asarray([p[k] for p in predictions]) for k in predictions[0]}
        return np.asarray(predictions)

    def classify(self, examples, signature_name="classify"):
        """`examples`: a list of `{feature: value}`; returns `[[(class, score), ...], ...]`."""
        body = self._request(
            "POST",
            self.model_url + ":classify",
            {"signature_name": signature_name, "examples": [_features(e) for e in examples]},
        )
        return [[(label, float(score)) for label, score in result] for result in body["results"]]

    def regress(self, examples, signature_name="regress"):
        """`examples`: a list of `{feature: value}`; returns an array of values."""
        body = self._request(
            "POST",
            self.model_url + ":regress",
            {"signature_name": signature_name, "examples": [_features(e) for e in examples]},
        )
        return np.asarray(body["results"], dtype=np.float32)

    def metadata(self):
        """The model's signature definitions (TF Serving's metadata JSON)."""
        return self._request("GET", self.model_url + "/metadata")

    def status(self):
        """`[(version, state), ...]` of the model (or of the requested version / label).

        TF Serving's status API ignores a label (it lists every version), so with
        a label the version it points at is looked up in the metadata first.
        """
        url = f"http://{self.host}:{self.port}/v1/models/{self.model_name}"
        if self.version is not None:
            url += f"/versions/{self.version}"
        elif self.label is not None:
            url += f"/versions/{int(self.metadata()['model_spec']['version'])}"
        body = self._request("GET", url)
        return [(int(s["version"]), s["state"]) for s in body["model_version_status"]]
