"""Parity of a TFLite model with the Keras model it came from."""

import dataclasses
import gzip
import os
import time
import warnings

import numpy as np

from tfx_ext._core.arguments import check_data, check_int, invalid
from tfx_ext._core.predictions import is_classifier_output
from tfx_ext.lite.interpreter import TFLiteRunner


@dataclasses.dataclass
class ParityReport:
    """How far a TFLite model is from its Keras model, how big and how fast it is.

    Attributes:
        examples: Number of examples compared.
        max_abs_diff, mean_abs_diff: Absolute output differences.
        top1_agreement: Fraction of examples with the same argmax (classifiers).
        keras_accuracy, tflite_accuracy: With labels, each model's accuracy.
        raw_bytes, gzip_bytes: Size of the `.tflite` file, raw and gzipped.
        latency_mean_ms, latency_p95_ms: Interpreter time per example.
        keras_nonfinite, tflite_nonfinite: How many output values of each
            model are NaN or infinite. Any of them fails the report: then
            `max_abs_diff` and `mean_abs_diff` are infinite (so that every
            comparison with a limit, `>` or `<`, fails), and agreement and
            accuracies count a row with a non-finite value as a wrong answer.
    """

    examples: int
    max_abs_diff: float
    mean_abs_diff: float
    top1_agreement: float
    keras_accuracy: float
    tflite_accuracy: float
    raw_bytes: int
    gzip_bytes: int
    latency_mean_ms: float
    latency_p95_ms: float
    keras_nonfinite: int = 0
    tflite_nonfinite: int = 0

    @property
    def finite(self):
        """Whether both models' outputs were all finite (a report with NaN/inf fails every check)."""
        return self.keras_nonfinite == 0 and self.tflite_nonfinite == 0

    def nonfinite_problem(self):
        """A sentence naming the side(s) with NaN/inf outputs and how many values, or `None`."""
        sides = [
            f"{side} model: {count} of its output values are NaN or infinite"
            for side, count in (("Keras", self.keras_nonfinite), ("TFLite", self.tflite_nonfinite))
            if count
        ]
        return "; ".join(sides) or None

    @property
    def accuracy_drop(self):
        """`keras_accuracy - tflite_accuracy`, or `None` without labels."""
        if self.keras_accuracy is None:
            return None
        return self.keras_accuracy - self.tflite_accuracy

    def rows(self):
        rows = [("examples", f"{self.examples}")]
        if not self.finite:
            rows.append(("non-finite outputs", f"FAILED: {self.nonfinite_problem()}"))
        rows += [
            ("max abs difference", f"{self.max_abs_diff:.3g}"),
            ("mean abs difference", f"{self.mean_abs_diff:.3g}"),
            ("top-1 agreement", f"{self.top1_agreement:.2%}"),
        ]
        if self.keras_accuracy is not None:
            rows += [
                ("keras accuracy", f"{self.keras_accuracy:.4f}"),
                ("tflite accuracy", f"{self.tflite_accuracy:.4f}"),
                ("accuracy drop (points)", f"{100 * self.accuracy_drop:.2f}"),
            ]
        rows += [
            ("size raw / gzip (bytes)", f"{self.raw_bytes:,} / {self.gzip_bytes:,}"),
            ("latency mean / p95 (ms)", f"{self.latency_mean_ms:.3f} / {self.latency_p95_ms:.3f}"),
        ]
        return rows

    def __str__(self):
        width = max(len(name) for name, _ in self.rows())
        return "\n".join(f"{name:<{width}}  {value}" for name, value in self.rows())

    def assert_within(self, max_abs_diff=None, max_accuracy_drop=None):
        """Raises AssertionError when the TFLite model is further off than allowed (for CI).

        Args:
            max_abs_diff: Largest accepted absolute output difference, or `None`.
            max_accuracy_drop: Largest accepted accuracy drop (a fraction:
                0.01 is one point), or `None`; needs a report made with labels.

        Raises:
            AssertionError: A limit is exceeded, or either model output NaN
                or infinite values (whatever the limits: a NaN difference
                exceeds no limit, so it is checked first); the message lists
                each problem and the whole report.
            ValueError: `max_accuracy_drop` on a report made without labels.
        """
        problems = [] if self.finite else [self.nonfinite_problem()]
        # `not (x <= limit)`: a NaN fails the check instead of passing it.
        if max_abs_diff is not None and not self.max_abs_diff <= max_abs_diff:
            problems.append(f"max abs difference {self.max_abs_diff:.3g} > {max_abs_diff:.3g}")
        if max_accuracy_drop is not None:
            if self.keras_accuracy is None:
                raise ValueError(
                    "assert_within(max_accuracy_drop=...) needs a report made with labels."
                )
            if not self.accuracy_drop <= max_accuracy_drop:
                problems.append(f"accuracy drop {self.accuracy_drop:.4f} > {max_accuracy_drop:.4f}")
        if problems:
            raise AssertionError(
                "TFLite model out of tolerance: " + "; ".join(problems) + "\n" + str(self)
            )


def _content(tflite_model):
    if hasattr(tflite_model, "content"):
        return tflite_model.content
    if isinstance(tflite_model, (bytes, bytearray)):
        return bytes(tflite_model)
    if isinstance(tflite_model, (str, os.PathLike)) and os.path.isfile(tflite_model):
        with open(tflite_model, "rb") as f:
            return f.read()
    raise invalid(
        "tflite_model", "a ConversionResult, .tflite bytes or a .tflite path", tflite_model
    )


def compare(keras_model, tflite_model, data, labels=None, num_threads=1):
    """Runs both models on `data` and reports their differences, sizes and latency.

    The TFLite model runs one example at a time in the LiteRT interpreter
    (`ai_edge_litert`, XNNPACK), the way a device runs it; integer inputs and
    outputs are (de)quantized with the model's own scales.

    Args:
        keras_model: The Keras (or tf_keras) model.
        tflite_model: A `ConversionResult`, the flatbuffer bytes, or a path.
        data: Inputs, a NumPy array `(n, ...)`.
        labels: Optional integer labels `(n,)` for accuracies.
        num_threads: Interpreter threads.

    Returns:
        A `ParityReport`; `print(report)` shows it as a table.

    Raises:
        TypeError: `keras_model` is not a model, or `data`/`labels` not numeric.
        ValueError: `data` is empty, holds NaN/inf or examples of another
            shape than the model's input; `labels` do not match `data`;
            `tflite_model` is not a model; `num_threads` < 1.

    Example:

    >>> result = convert(model, mode="int8", representative_data=x_train[:200])
    >>> report = compare(model, result, x_test, y_test)
    >>> print(report); report.assert_within(max_abs_diff=0.05, max_accuracy_drop=0.01)
    """
    if not hasattr(keras_model, "predict"):
        raise invalid("keras_model", "a Keras or tf_keras model", keras_model, TypeError)
    num_threads = check_int("num_threads", num_threads, minimum=1)
    data = np.asarray(data)
    if data.ndim < 2 or len(data) == 0:
        raise invalid("data", "a non-empty batch of shape (n, ...)", f"array of shape {data.shape}")
    inputs = getattr(keras_model, "inputs", None) or []
    example_shape = tuple(inputs[0].shape[1:]) if len(inputs) == 1 else None
    # A NaN would make both models output NaN and agree "100%" (argmax of NaN rows is 0).
    data = check_data("data", data, example_shape=example_shape)
    if labels is not None:
        labels = check_data("labels", labels).reshape(-1)
        if len(labels) != len(data):
            raise invalid(
                "labels", f"{len(data)} labels (one per example)", f"{len(labels)} labels"
            )
    content = _content(tflite_model)
    runner = TFLiteRunner(content, num_threads=num_threads)
    expected = np.asarray(keras_model.predict(data, verbose=0), dtype=np.float32)
    outputs, seconds = [], []
    runner(data[0])  # warm-up: first invoke allocates and prepares delegates
    for example in data:
        start = time.perf_counter()
        outputs.append(runner(example))
        seconds.append(time.perf_counter() - start)
    got = np.stack(outputs).reshape(expected.shape)
    # NaN or inf outputs are a failure, never a small difference: argmax of a
    # NaN row is 0 and `nan > limit` is False, so they must not reach the checks.
    keras_ok = np.isfinite(expected).reshape(len(data), -1).all(-1)
    tflite_ok = np.isfinite(got).reshape(len(data), -1).all(-1)
    diff = np.abs(got - expected)
    classifier = is_classifier_output(expected)
    keras_classes = (
        expected.argmax(-1) if classifier else (expected.reshape(len(data), -1)[:, 0] > 0.5)
    )
    tflite_classes = got.argmax(-1) if classifier else (got.reshape(len(data), -1)[:, 0] > 0.5)
    both_ok = keras_ok & tflite_ok
    milliseconds = np.asarray(seconds) * 1e3
    report = ParityReport(
        examples=len(data),
        # Infinite, not NaN: `nan > limit` is False, `inf > limit` is True.
        max_abs_diff=float(diff.max()) if both_ok.all() else float("inf"),
        mean_abs_diff=float(diff.mean()) if both_ok.all() else float("inf"),
        top1_agreement=float(((keras_classes == tflite_classes) & both_ok).mean()),
        keras_accuracy=None
        if labels is None
        else float(((keras_classes == labels) & keras_ok).mean()),
        tflite_accuracy=None
        if labels is None
        else float(((tflite_classes == labels) & tflite_ok).mean()),
        raw_bytes=len(content),
        gzip_bytes=len(gzip.compress(content, compresslevel=9)),
        latency_mean_ms=float(milliseconds.mean()),
        latency_p95_ms=float(np.percentile(milliseconds, 95)),
        keras_nonfinite=int(np.sum(~np.isfinite(expected))),
        tflite_nonfinite=int(np.sum(~np.isfinite(got))),
    )
    if not report.finite:
        warnings.warn(
            f"compare(): {report.nonfinite_problem()}; the report fails.",
            RuntimeWarning,
            stacklevel=2,
        )
    return report
