"""tfmot's "Pruning in Keras example" (g3doc/guide/pruning/pruning_with_keras.ipynb), replayed.

Only the import changes: `tfmot.sparsity.keras` -> `tfx_ext.sparsity.keras`,
tf_keras -> Keras 3. Substitutions, as the tests' rules require: MNIST (28x28,
downloaded) -> scikit-learn's 8x8 digits (shipped), so the input is (8, 8);
1,212 training images instead of 54,000 means fewer steps: the guide's 844
pruning steps (batch size 128) become 152 with batches of 16, and the
pruning `frequency` (default 100, never reached in 152 steps) is 2, which
divides `end_step`, so the final sparsity (0.8) is reached.
"""

import os
import tempfile
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfx_ext as tfmot
from tests.datasets import digits
from tests.sparsity.models import expected_zeros
from tfx_ext import lite

BATCH_SIZE = 16


def get_gzipped_model_size(file):
    """The guide's helper: size of the file deflated in a zip archive."""
    _, zipped_file = tempfile.mkstemp(".zip")
    with zipfile.ZipFile(zipped_file, "w", compression=zipfile.ZIP_DEFLATED) as f:
        f.write(file)
    size = os.path.getsize(zipped_file)
    os.remove(zipped_file)
    return size


@pytest.mark.slow
class PruningWithKerasTest(tf.test.TestCase):
    def test_guide(self):
        keras.utils.set_random_seed(0)
        x_train, train_labels, x_test, test_labels = digits()
        # The guide's images are [0, 1] pixel values: ours are the standardized digits.
        train_images, test_images = x_train.reshape(-1, 8, 8), x_test.reshape(-1, 8, 8)

        model = keras.Sequential(
            [
                keras.layers.InputLayer(input_shape=(8, 8)),
                keras.layers.Reshape(target_shape=(8, 8, 1)),
                keras.layers.Conv2D(filters=12, kernel_size=(3, 3), activation="relu"),
                keras.layers.MaxPooling2D(pool_size=(2, 2)),
                keras.layers.Flatten(),
                keras.layers.Dense(10),
            ]
        )
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(train_images, train_labels, epochs=4, validation_split=0.1, verbose=0)
        _, baseline_model_accuracy = model.evaluate(test_images, test_labels, verbose=0)
        # The guide's MNIST baseline is ~0.98; 12 filters on 8x8 digits reach ~0.85 in 4 epochs.
        self.assertGreater(baseline_model_accuracy, 0.8)
        _, keras_file = tempfile.mkstemp(".h5")
        keras.models.save_model(model, keras_file, include_optimizer=False)

        prune_low_magnitude = tfmot.sparsity.keras.prune_low_magnitude
        epochs = 2
        validation_split = 0.1
        num_images = train_images.shape[0] * (1 - validation_split)
        end_step = np.ceil(num_images / BATCH_SIZE).astype(np.int32) * epochs
        frequency = 2
        self.assertEqual(end_step % frequency, 0)
        pruning_params = {
            "pruning_schedule": tfmot.sparsity.keras.PolynomialDecay(
                initial_sparsity=0.50,
                final_sparsity=0.80,
                begin_step=0,
                end_step=end_step,
                frequency=frequency,
            )
        }
        model_for_pruning = prune_low_magnitude(model, **pruning_params)
        model_for_pruning.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        logdir = tempfile.mkdtemp()
        callbacks = [
            tfmot.sparsity.keras.UpdatePruningStep(),
            tfmot.sparsity.keras.PruningSummaries(log_dir=logdir),
        ]
        model_for_pruning.fit(
            train_images,
            train_labels,
            batch_size=BATCH_SIZE,
            epochs=epochs,
            validation_split=validation_split,
            callbacks=callbacks,
            verbose=0,
        )
        _, model_for_pruning_accuracy = model_for_pruning.evaluate(
            test_images, test_labels, verbose=0
        )
        # The guide: "minimal loss" (MNIST 0.979 -> 0.971). Our model has 1.2k
        # weights (the guide's 20k), 80% of them removed in 152 steps (the
        # guide's 844): up to 6 points are allowed (measured: 4.2).
        self.assertGreater(model_for_pruning_accuracy, baseline_model_accuracy - 0.06)
        self.assertNotEmpty(os.listdir(logdir))

        model_for_export = tfmot.sparsity.keras.strip_pruning(model_for_pruning)
        self.assertFalse(
            any(isinstance(l, tfmot.sparsity.PruneLowMagnitude) for l in model_for_export.layers)
        )
        for layer in model_for_export.layers:
            if hasattr(layer, "kernel"):
                kernel = keras.ops.convert_to_numpy(layer.kernel)
                self.assertEqual(
                    int((kernel == 0).sum()), expected_zeros(kernel.size, 0.8), msg=layer.name
                )
        self.assertAllClose(
            model_for_pruning.predict(test_images, verbose=0),
            model_for_export.predict(test_images, verbose=0),
        )
        _, pruned_keras_file = tempfile.mkstemp(".h5")
        keras.models.save_model(model_for_export, pruned_keras_file, include_optimizer=False)

        # The guide converts with TFLiteConverter.from_keras_model; tfx_ext.lite.convert is our path.
        _, pruned_tflite_file = tempfile.mkstemp(".tflite")
        pruned_tflite = lite.convert(model_for_export, output_path=pruned_tflite_file)
        baseline_size = get_gzipped_model_size(keras_file)
        pruned_keras_size = get_gzipped_model_size(pruned_keras_file)
        pruned_tflite_size = get_gzipped_model_size(pruned_tflite_file)
        self.assertLess(pruned_keras_size, baseline_size)
        self.assertLess(pruned_tflite_size, pruned_keras_size)

        _, quantized_file = tempfile.mkstemp(".tflite")
        quantized_and_pruned = lite.convert(
            model_for_export, mode="dynamic_range", output_path=quantized_file
        )
        self.assertLess(get_gzipped_model_size(quantized_file), pruned_tflite_size)

        # The guide's evaluate_model: argmax of the interpreter's output, one image at a time.
        for tflite_model, drop in ((pruned_tflite, 0.0), (quantized_and_pruned, 0.02)):
            report = lite.compare(model_for_export, tflite_model, test_images, test_labels)
            self.assertAllClose(report.keras_accuracy, model_for_pruning_accuracy, atol=1e-6)
            report.assert_within(max_accuracy_drop=drop + 1e-9)
        for path in (keras_file, pruned_keras_file, pruned_tflite_file, quantized_file):
            os.remove(path)
