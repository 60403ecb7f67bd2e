import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")

# On JAX every fit/evaluate/predict is an XLA compilation, and the tests' models
# are tiny: compiling, not running, is most of the JAX leg (a profile of
# tests/layers/test_mc_dropout.py: 73 s of its 84 s in XLA's CPU backend
# compile). LLVM's optimization level 1 instead of XLA's default 2 halves that
# compile time (the file's CPU time 34 s -> 23 s); XLA's HLO passes still run,
# only LLVM's machine-code optimization is lighter. Level 0 is not safe: its
# SELU fake-quant outputs held NaNs (tests/lite/test_quantize_aware.py::
# OutputRangeTest fails at 0, passes at 1 and 2). Set before JAX initializes
# its CPU backend, in every xdist worker.
if os.environ["KERAS_BACKEND"] == "jax":
    _fast_compile = "--xla_backend_optimization_level=1"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_fast_compile}".strip()

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Several test modules import tfmot themselves, and tfmot 0.8 sets
# TF_USE_LEGACY_KERAS=1 on import: TensorFlow's lazy `tf.keras` would then
# resolve to tf_keras in that worker, and the replays that spell `tf.keras`
# (as the tutorials do) would build tf_keras layers. Resolve it first, as a
# user's program that uses `tf.keras` has; tfx_ext's own imports of tfmot
# leave it alone either way (tests/sparsity/test_tfmot_import.py).
tf.keras.__name__  # noqa: B018

# tf.test.TestCase carries a deprecated `test_session` method that pytest would
# collect as a test of every class; it tests nothing.
for _cls in tf.test.TestCase.__mro__:
    if "test_session" in vars(_cls):
        delattr(_cls, "test_session")

# Tests of the backend-neutral components: every test under these directories
# runs on every backend (scripts/test runs them on TensorFlow and on JAX),
# except those marked `tf_only`. Tests elsewhere opt in with the
# `backend_neutral` marker.
_NEUTRAL_DIRS = (
    "activations",
    "callbacks",
    "diagnostics",
    "layers",
    "losses",
    "metrics",
    "rnn",
    "schedules",
    "selu",
    "seq2seq",
    "uncertainty",
)
_TESTS = pathlib.Path(__file__).parent


def _in_neutral_dir(item):
    try:
        relative = pathlib.Path(str(item.path)).relative_to(_TESTS)
    except ValueError:
        return False
    return len(relative.parts) > 1 and relative.parts[0] in _NEUTRAL_DIRS


def pytest_collection_modifyitems(config, items):
    backend = keras.backend.backend()
    kept, deselected = [], []
    for item in items:
        tf_only = item.get_closest_marker("tf_only")
        if tf_only is not None and not (tf_only.args and isinstance(tf_only.args[0], str)):
            raise pytest.UsageError(
                f'{item.nodeid}: tf_only needs a reason, e.g. @pytest.mark.tf_only("TFLite conversion")'
            )
        if tf_only is None and _in_neutral_dir(item):
            item.add_marker(pytest.mark.backend_neutral)
        if backend == "tensorflow" or (
            tf_only is None and item.get_closest_marker("backend_neutral")
        ):
            kept.append(item)
        else:
            deselected.append(item)
    if deselected:
        # On another backend only the backend-neutral tests run; the rest need
        # TensorFlow (their `tf_only` reason, or their area: TFLite, TF Serving,
        # tf.distribute, tf_keras/tfmot).
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_report_header(config):
    return f"keras backend: {keras.backend.backend()}"
