"""tfmot's "Sparsity preserving 2:4 pruning" (pruning_with_sparsity_2_by_4.ipynb), replayed.

Only the import changes: `tfmot.sparsity.keras` -> `tfx_ext.sparsity.keras`.
Substitutions: MNIST (downloaded, 28x28) -> the 8x8 digits scikit-learn
ships, so the model is narrower (Conv2D 32/64 -> 8/16, Dense 1024 -> 64) to
stay fast; the guide trains 844 steps (2 epochs of 128 on 54,000 images):
here 4 epochs of 16 on 1,212 images (~300 steps, which BatchNormalization's
moving statistics need), and the ConstantSparsity `frequency` is 10 (the
default 100 is reached only 3 times). The guide's plots (matplotlib) are replaced by the
checks they illustrate, on the TFLite file's weights; its last step runs
tfmot's `check_sparsity_m_by_n.py` tool on the TFLite file: the same check
(at least 2 zeros in every 4 consecutive weights along the input axis) is
made here with NumPy.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfx_ext as tfmot
from tests.datasets import digits
from tests.sparsity.models import expected_zeros
from tfx_ext import lite
from tfx_ext.lite.interpreter import make_interpreter
from tfx_ext.sparsity import pruning_wrappers

prune_low_magnitude = tfmot.sparsity.keras.prune_low_magnitude


def is_pruned_m_by_n(weights_by_input_axis, m=2, n=4):
    """At least `m` zeros in every `n` consecutive weights along axis 0 (the input axis)."""
    moved = np.moveaxis(weights_by_input_axis, 0, -1).reshape(-1, weights_by_input_axis.shape[0])
    groups = moved.reshape(moved.shape[0], -1, n)
    return bool(np.all((groups == 0).sum(axis=-1) >= m))


@pytest.mark.slow
class SparsityTwoByFourTest(tf.test.TestCase):
    def test_guide(self):
        keras.utils.set_random_seed(0)
        x_train, train_labels, x_test, test_labels = digits()
        train_images, test_images = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)

        pruning_params_2_by_4 = {"sparsity_m_by_n": (2, 4)}
        pruning_params_sparsity_0_5 = {
            "pruning_schedule": tfmot.sparsity.keras.ConstantSparsity(
                target_sparsity=0.5, begin_step=0, frequency=10
            )
        }
        model = keras.Sequential(
            [
                prune_low_magnitude(
                    keras.layers.Conv2D(
                        8,
                        5,
                        padding="same",
                        activation="relu",
                        input_shape=(8, 8, 1),
                        name="pruning_sparsity_0_5",
                    ),
                    **pruning_params_sparsity_0_5,
                ),
                keras.layers.MaxPooling2D((2, 2), (2, 2), padding="same"),
                prune_low_magnitude(
                    keras.layers.Conv2D(16, 5, padding="same", name="structural_pruning"),
                    **pruning_params_2_by_4,
                ),
                keras.layers.BatchNormalization(),
                keras.layers.ReLU(),
                keras.layers.MaxPooling2D((2, 2), (2, 2), padding="same"),
                keras.layers.Flatten(),
                prune_low_magnitude(
                    keras.layers.Dense(64, activation="relu", name="structural_pruning_dense"),
                    **pruning_params_2_by_4,
                ),
                keras.layers.Dropout(0.4),
                keras.layers.Dense(10),
            ]
        )
        # The first layer's input_shape builds the model (tfmot's wrapper passes it on).
        self.assertEqual(model.input_shape, (None, 8, 8, 1))
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.summary(print_fn=lambda *a, **k: None)
        model.fit(
            train_images,
            train_labels,
            batch_size=16,
            epochs=4,
            verbose=0,
            callbacks=tfmot.sparsity.keras.UpdatePruningStep(),
            validation_split=0.1,
        )
        _, pruned_model_accuracy = model.evaluate(test_images, test_labels, verbose=0)
        self.assertGreater(pruned_model_accuracy, 0.8)  # the guide (MNIST): 0.98

        model = tfmot.sparsity.keras.strip_pruning(model)
        self.assertEqual(pruning_wrappers(model), [])
        kernels = {
            l.name: keras.ops.convert_to_numpy(l.kernel)
            for l in model.layers
            if hasattr(l, "kernel")
        }
        # Keras layout: the input axis is -2 (Dense (in, out), Conv2D (h, w, in, out)).
        for name in ("structural_pruning", "structural_pruning_dense"):
            by_input = np.moveaxis(kernels[name], -2, 0)
            self.assertTrue(is_pruned_m_by_n(by_input), msg=name)
            self.assertEqual(
                int((kernels[name] == 0).sum()), kernels[name].size // 2, msg=name
            )  # exactly 2 of 4
        unstructured = kernels["pruning_sparsity_0_5"]
        self.assertEqual(int((unstructured == 0).sum()), expected_zeros(unstructured.size, 0.5))
        self.assertEqual(
            int((keras.ops.convert_to_numpy(model.layers[-1].kernel) == 0).sum()), 0
        )  # not pruned

        # The guide: TFLiteConverter.from_keras_model; ours: tfx_ext.lite.convert.
        tflite_model = lite.convert(model)
        report = lite.compare(model, tflite_model, test_images, test_labels)
        self.assertAllClose(report.keras_accuracy, pruned_model_accuracy, atol=1e-6)
        report.assert_within(max_abs_diff=1e-3, max_accuracy_drop=0.0)

        # The weights as the TFLite file holds them: TFLite stores kernels
        # output-first ((out, in) for Dense, (out, h, w, in) for Conv2D), so the
        # input axis is the last one there.
        interpreter = make_interpreter(tflite_model.content, delegates=False)
        constants = []
        for detail in interpreter.get_tensor_details():
            try:
                constants.append(np.array(interpreter.get_tensor(detail["index"])))
            except ValueError:
                continue
        expected = {
            "structural_pruning_dense": np.moveaxis(kernels["structural_pruning_dense"], -1, 0),
            "structural_pruning": np.moveaxis(kernels["structural_pruning"], -1, 0),
        }
        for name, want in expected.items():
            # The converter folds the BatchNormalization after the convolution
            # into its kernel (a per-output-channel scale): values change, zeros stay.
            found = [
                c for c in constants if c.shape == want.shape and np.array_equal(c == 0, want == 0)
            ]
            self.assertLen(found, 1, msg=name)
            self.assertTrue(is_pruned_m_by_n(np.moveaxis(found[0], -1, 0)), msg=name)
