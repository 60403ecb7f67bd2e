import keras
import numpy as np
import tensorflow as tf

from tests.lite import models
from tests.lite.models import agreement, image_digits, run_tflite
from tfx_ext.lite import convert
from tfx_ext.lite.representative_data import calibration_examples

SHAPE = (None, 8, 8, 1)


def counting_generator(x, counter):
    """A generator function yielding the rows of `x`, counting what it yielded."""

    def generate():
        for example in x:
            counter["yielded"] += 1
            yield example

    return generate


class KindsTest(tf.test.TestCase):
    """Every accepted kind gives the same calibration examples: the first rows of x_train."""

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x, self.y = image_digits()[:2]

    def kinds(self, x, y):
        batches = tf.data.Dataset.from_tensor_slices(x).batch(32)
        return {
            "array": x,
            "dataset of examples": tf.data.Dataset.from_tensor_slices(x),
            "dataset of batches": batches,
            "dataset of (x, y) batches": tf.data.Dataset.from_tensor_slices((x, y)).batch(16),
            "generator function": lambda: (example for example in x),
            "generator": (batch for batch in np.array_split(x, 7)),
            "list of batches": list(np.array_split(x, 5)),
        }

    def test_every_kind_gives_the_first_examples(self):
        for limit in (1, 50, 200):
            for name, data in self.kinds(self.x[:300], self.y[:300]).items():
                examples = calibration_examples(data, SHAPE, "float32", limit)
                self.assertEqual(examples.dtype, np.float32, name)
                self.assertAllEqual(examples, self.x[:limit], msg=f"{name}, limit {limit}")

    def test_fewer_examples_than_the_limit(self):
        examples = calibration_examples(
            tf.data.Dataset.from_tensor_slices(self.x[:10]).batch(4), SHAPE, "float32", 200
        )
        self.assertAllEqual(examples, self.x[:10])

    def test_integer_data_becomes_float(self):
        data = np.arange(2 * 64).reshape((2, 8, 8, 1))
        examples = calibration_examples(data, SHAPE, "float32", 5)
        self.assertEqual(examples.dtype, np.float32)
        self.assertAllEqual(examples, data.astype("float32"))

    def test_every_kind_gives_a_working_int8_model(self):
        x_train, y_train, x_test, _ = image_digits()
        reference = models.converted("cnn", "int8")  # calibrated on the array x_train
        expected = models.cnn().predict(x_test, verbose=0)
        kinds = self.kinds(x_train, y_train)
        for name in ("dataset of batches", "dataset of (x, y) batches", "generator function"):
            result = convert(models.cnn(), "int8", representative_data=kinds[name])
            self.assertEqual(result.float_ops, [], name)
            # Same 200 calibration examples as the array: the same model.
            self.assertEqual(result.content, reference.content, name)
            self.assertGreaterEqual(
                agreement(run_tflite(result.content, x_test), expected), 0.97, name
            )

    def test_num_calibration_samples_is_honoured(self):
        x_train = image_digits()[0]
        counter = {"yielded": 0}
        result = convert(
            models.cnn(),
            "int8",
            representative_data=counting_generator(x_train, counter),
            num_calibration_samples=10,
        )
        self.assertEqual(counter["yielded"], 10)
        self.assertEqual(result.float_ops, [])
        # A different calibration set than the default 200 examples: a different model.
        self.assertNotEqual(result.content, models.converted("cnn", "int8").content)
        counter = {"yielded": 0}
        self.assertLen(
            calibration_examples(counting_generator(x_train, counter), SHAPE, "float32", 25), 25
        )
        self.assertEqual(counter["yielded"], 25)


class BadDataTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.model = models.cnn()
        self.x = image_digits()[0][:40]

    def test_missing_for_integer_modes(self):
        for mode in ("int8", "int16x8"):
            with self.assertRaisesRegex(
                ValueError,
                r"argument `representative_data`.*calibration inputs.*Received: representative_data=None",
            ):
                convert(self.model, mode)

    def test_wrong_shape(self):
        cases = {
            "flat rows": self.x.reshape((40, 64)),
            "transposed": np.zeros((40, 1, 8, 8), "float32"),
            "batches of flat rows": tf.data.Dataset.from_tensor_slices(
                self.x.reshape((40, 64))
            ).batch(8),
        }
        for name, data in cases.items():
            with self.assertRaisesRegex(
                ValueError,
                r"argument `representative_data`.*examples of shape \(8, 8, 1\)",
                msg=name,
            ):
                convert(self.model, "int8", representative_data=data)

    def test_strings(self):
        with self.assertRaisesRegex(
            TypeError, r"argument `representative_data`.*numeric data.*dtype <U"
        ):
            convert(self.model, "int8", representative_data=np.full((4, 8, 8, 1), "a"))

    def test_not_finite(self):
        for bad in (np.nan, np.inf):
            x = self.x.copy()
            x[3, 2, 2, 0] = bad
            x[7, 0, 0, 0] = bad
            with self.assertRaisesRegex(
                ValueError,
                r"argument `representative_data`.*finite values.*Received: representative_data='2 NaN/inf",
            ):
                convert(self.model, "int8", representative_data=x)
        # Only the examples taken are checked.
        x = self.x.copy()
        x[30] = np.nan
        self.assertLen(calibration_examples(x, SHAPE, "float32", 30), 30)

    def test_empty(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `representative_data`.*at least one example"
        ):
            convert(self.model, "int8", representative_data=np.zeros((0, 8, 8, 1), "float32"))

    def test_not_needed_outside_integer_modes(self):
        # Representative data is ignored (not even validated) in float modes.
        result = convert(self.model, "float32", representative_data=np.full((2, 3), "not used"))
        self.assertEqual(result.content, models.converted("cnn", "float32").content)
