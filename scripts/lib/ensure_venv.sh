# Sourced by scripts/test and scripts/demo: make .venv exist and hold the package
# with the dependencies that setup.cfg/pyproject.toml ask for today. The install is
# redone whenever those files change (a hash of them is stamped into .venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
  base=""
  for cand in python3.11 python3.12 python3.10 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 13)))'; then
      base="$cand"; break
    fi
  done
  if [ -z "$base" ]; then
    echo "error: tfx_ext needs Python 3.10-3.13 (TensorFlow 2.21); none found on PATH" >&2
    exit 1
  fi
  echo "[tfx_ext] creating $VENV with $base" >&2
  "$base" -m venv "$VENV"
fi

stamp="$VENV/.tfx_ext-deps"
want="$(cat "$ROOT/setup.cfg" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "[tfx_ext] installing tfx_ext and its dependencies into $VENV" >&2
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet -e "$ROOT[test,plot,demo,jax]"
  echo "$want" > "$stamp"
fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export KERAS_BACKEND=tensorflow
