import os

import keras
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.export.models import digits_classifier, digits_test_split, predict, temp_dir
from tfx_ext.export import export_for_serving, read_warmup, replay_warmup


def _records(version_dir):
    """The warmup file's records, parsed here as PredictionLog protos."""
    path = os.path.join(version_dir, "assets.extra", "tf_serving_warmup_requests")
    logs = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs


class WarmupTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.base = temp_dir(self)
        self.model = digits_classifier(epochs=0)

    def test_at_most_1000_records_that_replay(self):
        x_train, _, x_test, _ = digits()
        rows = np.concatenate([x_train, x_test])[:1500]
        self.assertLen(rows, 1500)
        path = export_for_serving(self.model, self.base, "digits", warmup_data=rows)
        logs = _records(path)
        self.assertLen(logs, 1000)  # TF Serving reads at most 1000
        self.assertLen(read_warmup(path), 1000)

        expected = predict(self.model, rows[:1000])
        serving_default = tf.saved_model.load(path).signatures["serving_default"]
        for i, log in enumerate(logs):
            self.assertEqual(log.WhichOneof("log_type"), "predict_log")
            request = log.predict_log.request
            self.assertEqual(request.model_spec.name, "digits")
            self.assertIn(request.model_spec.signature_name, ("", "serving_default"))
            self.assertEqual(set(request.inputs), {"pixels"})
            tensor = tf.make_ndarray(request.inputs["pixels"])
            self.assertEqual(tensor.shape, (1, 64))
            self.assertEqual(tensor.dtype, np.float32)
            self.assertAllEqual(tensor[0], rows[i])
            outputs = serving_default(pixels=tf.constant(tensor))
            self.assertAllClose(
                outputs["digit"].numpy()[0], expected[i], atol=1e-5, msg=f"record {i}"
            )

    def test_one_record_per_row_with_custom_input_name(self):
        rows = digits_test_split()[0][:20]
        path = export_for_serving(
            self.model, self.base, "digits", input_names=["image"], warmup_data=rows
        )
        logs = _records(path)
        self.assertLen(logs, 20)
        loaded = tf.saved_model.load(path)
        expected = predict(self.model, rows)
        for i, log in enumerate(logs):
            inputs = {
                k: tf.constant(tf.make_ndarray(v))
                for k, v in log.predict_log.request.inputs.items()
            }
            self.assertEqual(set(inputs), {"image"})
            signature = log.predict_log.request.model_spec.signature_name or "serving_default"
            outputs = loaded.signatures[signature](**inputs)
            self.assertAllClose(outputs["probabilities"].numpy()[0], expected[i], atol=1e-5)

    def test_no_warmup_file_without_warmup_data(self):
        path = export_for_serving(self.model, self.base, "digits")
        self.assertFalse(
            os.path.exists(os.path.join(path, "assets.extra", "tf_serving_warmup_requests"))
        )

    @rejects_bad_input(export_for_serving)
    def test_bad_warmup_data(self):
        with self.assertRaisesRegex(ValueError, r"argument `warmup_data`"):
            export_for_serving(
                self.model, self.base, "digits", warmup_data=np.zeros((0, 64), "float32")
            )
        nan_rows = np.zeros((3, 64), "float32")
        nan_rows[1, 2] = np.nan
        with self.assertRaisesRegex(ValueError, r"argument `warmup_data`.*finite.*1 NaN"):
            export_for_serving(self.model, self.base, "digits", warmup_data=nan_rows)
        model_dir = os.path.join(self.base, "digits")
        self.assertFalse(os.path.exists(model_dir) and os.listdir(model_dir))

    @rejects_bad_input(read_warmup, replay_warmup)
    def test_reading_a_version_without_warmup(self):
        version = export_for_serving(self.model, self.base, "digits")
        # Used to surface as a NotFoundError from a TFRecord iterator.
        for fn in (read_warmup, replay_warmup):
            with (
                self.subTest(fn=fn.__name__),
                self.assertRaisesRegex(
                    ValueError, r"argument `saved_model_dir`.*warmup requests.*warmup_data"
                ),
            ):
                fn(version)
            with (
                self.subTest(fn=fn.__name__),
                self.assertRaisesRegex(ValueError, r"argument `saved_model_dir`"),
            ):
                fn(os.path.join(self.base, "no_such_version"))
