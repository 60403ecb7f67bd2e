"""Request counts and latencies per model, in Prometheus text format, as TF Serving
exposes them at the path its `--monitoring_config_file` names."""

import re
import threading

from tfx_ext._core.arguments import invalid

# TF Serving's metric names (its monitoring exports them with these colon-separated names).
REQUEST_COUNT = ":tensorflow:serving:request_count"
REQUEST_LATENCY = ":tensorflow:serving:request_latency"
# Latency buckets in microseconds, as TF Serving's request_latency histogram.
_BUCKETS = [10 * 1.8**i for i in range(33)]

_CONFIG = re.compile(r"^\s*prometheus_config\s*:?\s*\{(?P<body>[^{}]*)\}\s*$", re.S)
_FIELD = re.compile(r'\s*(?P<key>enable|path)\s*:\s*(?P<value>true|false|"[^"\n]*")\s*[,;]?')


def read_monitoring_config(path):
    """The Prometheus path a `MonitoringConfig` text file enables, or None when disabled.

    Raises:
        ValueError: naming the file, when it is not a MonitoringConfig in text format.
    """
    with open(path) as f:
        text = re.sub(r"#[^\n]*", "", f.read())
    match = _CONFIG.match(text)
    fields = {}
    body = match["body"] if match else None
    position = 0
    while body is not None and position < len(body.rstrip()):
        field = _FIELD.match(body, position)
        if field is None:
            body = None
            break
        fields[field["key"]] = field["value"]
        position = field.end()
    if body is None:
        raise ValueError(f"Error parsing text-format tensorflow.serving.MonitoringConfig in {path}")
    if fields.get("enable") != "true":
        return None
    route = fields.get("path", '"/monitoring/prometheus/metrics"').strip('"')
    if not route.startswith("/"):
        raise invalid("monitoring_config_file", "a Prometheus path starting with '/'", route)
    return route


class Metrics:
    """Thread-safe counters of requests by model and status, latency histograms by model and API."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}
        self._latency = {}

    def record(self, model_name, api, entrypoint, status, seconds):
        with self._lock:
            key = (model_name, status)
            self._counts[key] = self._counts.get(key, 0) + 1
            key = (model_name, api, entrypoint)
            buckets, total, count = self._latency.get(key, ([0] * len(_BUCKETS), 0.0, 0))
            micros = seconds * 1e6
            for i, bound in enumerate(_BUCKETS):
                if micros <= bound:
                    buckets[i] += 1
            self._latency[key] = (buckets, total + micros, count + 1)

    def prometheus_text(self):
        def labels(**kv):
            return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in kv.items()) + "}"

        lines = [f"# TYPE {REQUEST_COUNT} counter"]
        with self._lock:
            for (model, status), n in sorted(self._counts.items()):
                lines.append(f"{REQUEST_COUNT}{labels(model_name=model, status=status)} {n}")
            lines.append(f"# TYPE {REQUEST_LATENCY} histogram")
            for (model, api, entrypoint), (buckets, total, count) in sorted(self._latency.items()):
                base = dict(model_name=model, API=api, entrypoint=entrypoint)
                for bound, n in zip(_BUCKETS, buckets):
                    lines.append(f"{REQUEST_LATENCY}_bucket{labels(**base, le=f'{bound:g}')} {n}")
                lines.append(f"{REQUEST_LATENCY}_bucket{labels(**base, le='+Inf')} {count}")
                lines.append(f"{REQUEST_LATENCY}_sum{labels(**base)} {total:g}")
                lines.append(f"{REQUEST_LATENCY}_count{labels(**base)} {count}")
        return "\n".join(lines) + "\n"


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
