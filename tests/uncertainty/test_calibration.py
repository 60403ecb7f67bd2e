import os
import tempfile

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tests.bad_input import rejects_bad_input
from tests.metrics.streaming import one_hot, scores_for, stream  # noqa: E402
from tests.metrics.test_expected_calibration_error import reference_ece, top_class  # noqa: E402
from tfx_ext.metrics import ExpectedCalibrationError  # noqa: E402
from tfx_ext.uncertainty import CalibrationBins, calibration_bins, reliability_diagram  # noqa: E402


class CalibrationBinsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)
        self.y = self.rng.integers(0, 5, 300)
        self.p = scores_for(self.rng, self.y, 5)

    def tearDown(self):
        plt.close("all")

    def test_worked_example(self):
        probabilities = np.array(
            [[0.62, 0.38, 0.0], [0.13, 0.74, 0.13], [0.06, 0.06, 0.88], [1.0, 0.0, 0.0]], "float32"
        )
        table = calibration_bins(np.array([0, 2, 2, 0]), probabilities, num_bins=10)
        self.assertIsInstance(table, CalibrationBins)
        self.assertAllClose(table.edges, np.arange(11) / 10)
        self.assertAllEqual(table.counts, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
        self.assertAllClose(table.confidence[6:], [0.62, 0.74, 0.88, 1.0])
        self.assertAllEqual(table.accuracy[6:], [1, 0, 1, 1])
        self.assertTrue(np.all(np.isnan(table.confidence[:6])))
        self.assertTrue(np.all(np.isnan(table.accuracy[:6])))
        self.assertAllClose(table.ece, 1.24 / 4)

    def test_matches_reference_and_streaming_metric(self):
        for num_bins in (1, 4, 10, 15):
            with self.subTest(num_bins=num_bins):
                table = calibration_bins(self.y, self.p, num_bins=num_bins)
                self.assertAllClose(table.ece, reference_ece(self.y, self.p, num_bins), atol=1e-9)
                streamed = stream(
                    ExpectedCalibrationError(num_bins=num_bins),
                    self.y,
                    self.p,
                    batch_sizes=(7, 31, 2, 60, 200),
                )
                self.assertAllClose(table.ece, streamed, atol=1e-6)
                self.assertEqual(table.counts.sum(), len(self.y))
                self.assertLen(table.edges, num_bins + 1)

    def test_per_bin_statistics(self):
        table = calibration_bins(self.y, self.p, num_bins=10)
        confidence, correct = top_class(self.y, self.p)
        for i in range(10):
            upper = confidence < (i + 1) / 10 if i < 9 else confidence <= 1
            members = (confidence >= i / 10) & upper
            self.assertEqual(table.counts[i], members.sum())
            if members.any():
                self.assertAllClose(table.confidence[i], confidence[members].mean())
                self.assertAllClose(table.accuracy[i], correct[members].mean())
                self.assertBetween(table.confidence[i], i / 10, (i + 1) / 10)

    def test_binary_and_one_hot_inputs(self):
        y = self.rng.integers(0, 2, 200)
        p = self.rng.random(200).astype("float32")
        for shape in [(200,), (200, 1)]:
            with self.subTest(shape=shape):
                table = calibration_bins(y, p.reshape(shape), num_bins=5)
                self.assertAllClose(table.ece, reference_ece(y, p, 5), atol=1e-9)
                # Binary confidence is max(p, 1 - p) >= 1/2: the lower bins stay empty.
                self.assertAllEqual(table.counts[:2], [0, 0])
        self.assertAllClose(
            calibration_bins(one_hot(self.y, 5), self.p).ece, calibration_bins(self.y, self.p).ece
        )
        # A tie p = 0.5 predicts class 0, as in the streaming metric.
        tie = calibration_bins(np.array([0, 1]), np.array([0.5, 0.55], "float32"), num_bins=10)
        self.assertAllClose(tie.accuracy[5], 1.0)
        self.assertAllClose(tie.ece, 0.475)

    @rejects_bad_input(calibration_bins, reliability_diagram)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `y_true`.*300 labels.*299"):
            calibration_bins(self.y[:-1], self.p)
        with self.assertRaisesRegex(ValueError, r"argument `num_bins`.*num_bins=0"):
            calibration_bins(self.y, self.p, num_bins=0)
        with self.assertRaisesRegex(TypeError, r"argument `num_bins`"):
            calibration_bins(self.y, self.p, num_bins=2.5)
        with self.assertRaisesRegex(ValueError, r"argument `y_true`"):
            reliability_diagram(self.y[:10], self.p)
        with self.assertRaisesRegex(ValueError, r"argument `num_bins`"):
            reliability_diagram(self.y, self.p, num_bins=0)

    @rejects_bad_input(calibration_bins, reliability_diagram)
    def test_logits_and_labels_out_of_range_are_refused(self):
        logits = np.log(self.p) * 3
        with self.assertRaisesRegex(
            ValueError, r"argument `probabilities`.*from_logits=True.*values from"
        ):
            calibration_bins(self.y, logits)
        with self.assertRaisesRegex(ValueError, r"argument `probabilities`.*values from"):
            calibration_bins(self.y % 2, self.p[:, 0] * 4)
        with self.assertRaisesRegex(ValueError, r"argument `probabilities`.*finite.*1 NaN"):
            calibration_bins(
                self.y, np.where(np.arange(self.p.size).reshape(self.p.shape) == 3, np.nan, self.p)
            )
        with self.assertRaisesRegex(ValueError, r"argument `probabilities`.*at least one"):
            calibration_bins(self.y[:0], self.p[:0])
        with self.assertRaisesRegex(ValueError, r"argument `y_true`.*\[0, 5\).*ids from 1 to 5"):
            calibration_bins(self.y + 1, self.p)
        with self.assertRaisesRegex(ValueError, r"argument `y_true`.*\[0, 2\)"):
            calibration_bins(np.full(300, 2), self.p[:, 0])
        with self.assertRaisesRegex(TypeError, r"argument `from_logits`"):
            calibration_bins(self.y, self.p, from_logits=1)
        with self.assertRaisesRegex(ValueError, r"argument `probabilities`"):
            reliability_diagram(self.y, logits)

    def test_from_logits_is_a_softmax(self):
        logits = np.log(self.p.astype("float64")) + 1.7  # softmax(log p + c) = p
        expected = calibration_bins(self.y, self.p, num_bins=7)
        table = calibration_bins(self.y, logits, num_bins=7, from_logits=True)
        self.assertAllClose(table.ece, expected.ece, atol=1e-6)
        self.assertAllEqual(table.counts, expected.counts)

    def test_reliability_diagram_writes_png(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "reliability.png")
            ax = reliability_diagram(self.y, self.p, num_bins=10, path=path, label="one pass")
            self.assertGreater(os.path.getsize(path), 1000)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        # The diagonal and the model's curve, through the filled bins.
        lines = ax.get_lines()
        self.assertLen(lines, 2)
        table = calibration_bins(self.y, self.p, num_bins=10)
        filled = table.counts > 0
        self.assertAllClose(lines[1].get_xdata(), table.confidence[filled])
        self.assertAllClose(lines[1].get_ydata(), table.accuracy[filled])
        self.assertIn(
            f"one pass (ECE {table.ece:.3f})", [t.get_text() for t in ax.get_legend().get_texts()]
        )

    def test_reliability_diagram_second_call_adds_a_line(self):
        ax = reliability_diagram(self.y, self.p)
        before = len(ax.get_lines())
        same = reliability_diagram(self.y, np.full_like(self.p, 0.2), ax=ax, label="uniform")
        self.assertIs(same, ax)
        self.assertLen(ax.get_lines(), before + 1)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        self.assertTrue(any(label.startswith("uniform (ECE") for label in labels), labels)
