#!/usr/bin/env bash
# Smoke test for a running TF Serving (the real image, or `tfx-ext serve`):
# replays the warmup requests that export_for_serving wrote into a version and
# compares the server's answers with the exported model's own outputs.
#
#   serving/smoke_test.sh http://localhost:8501 digits models/digits/1 [label | version]
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 SERVER_URL MODEL_NAME VERSION_DIR [LABEL|VERSION]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
exec "$python" - "$@" <<'PY'
import sys

import numpy as np
import requests
import tensorflow as tf

from tfx_ext.export import read_warmup

url, name, version_dir = sys.argv[1:4]
choice = sys.argv[4] if len(sys.argv) > 4 else None
target = f"{url}/v1/models/{name}"
if choice:
    target += f"/versions/{choice}" if choice.isdigit() else f"/labels/{choice}"
status = requests.get(target, timeout=10)
status.raise_for_status()
print("status:", status.json())
model = tf.saved_model.load(version_dir)
failures = 0
logs = read_warmup(version_dir)
for i, log in enumerate(logs):
    request = log.predict_log.request
    inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
    expected = model.signatures[request.model_spec.signature_name or "serving_default"](
        **{k: tf.constant(v) for k, v in inputs.items()})
    body = {"signature_name": request.model_spec.signature_name,
            "inputs": {k: v.tolist() for k, v in inputs.items()}}
    answer = requests.post(target + ":predict", json=body, timeout=10)
    if answer.status_code != 200:
        print(f"request {i}: HTTP {answer.status_code} {answer.text}")
        failures += 1
        continue
    outputs = answer.json()["outputs"]
    outputs = outputs if isinstance(outputs, dict) else {next(iter(expected)): outputs}
    for key, value in expected.items():
        if not np.allclose(np.asarray(outputs[key]), value.numpy(), atol=1e-4):
            print(f"request {i}: output {key} differs")
            failures += 1
print(f"{len(logs)} warmup requests replayed, {failures} failures")
sys.exit(1 if failures else 0)
PY
