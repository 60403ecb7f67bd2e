import os
import tempfile

import keras
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from tests.datasets import digits
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tests.sparsity.models import BATCH_SIZE, compile_classifier, expected_zeros, images, mlp
from tfx_ext.layers import WeightNormalization
from tfx_ext.sparsity import (
    ConstantSparsity,
    PolynomialDecay,
    PruneLowMagnitude,
    UpdatePruningStep,
    prune_low_magnitude,
    pruning_wrappers,
    strip_pruning,
)


def masks_of(model):
    return [keras.ops.convert_to_numpy(m) for w in pruning_wrappers(model) for m in w.masks]


class SerializationTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x_train, self.y_train, self.x_test, self.y_test = digits()

    def trained_pruned_mlp(self):
        schedule = PolynomialDecay(0.0, 0.75, begin_step=0, end_step=40, frequency=10)
        pruned = compile_classifier(prune_low_magnitude(mlp(), schedule))
        pruned.fit(
            self.x_train,
            self.y_train,
            epochs=1,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        return pruned

    def test_wrapper_config_round_trip(self):
        for wrapper in (
            PruneLowMagnitude(keras.layers.Dense(8, name="d")),
            PruneLowMagnitude(
                keras.layers.Conv2D(8, 3),
                PolynomialDecay(0.1, 0.6, begin_step=2, end_step=50, power=2, frequency=4),
                block_size=(2, 4),
                name="custom_name",
            ),
            PruneLowMagnitude(WeightNormalization(keras.layers.Dense(8)), sparsity_m_by_n=(2, 4)),
        ):
            with self.subTest(wrapper.name):
                clone = assert_config_round_trip(self, wrapper)
                self.assertIs(type(clone.layer), type(wrapper.layer))
                self.assertIsNot(clone.layer, wrapper.layer)
                self.assertIs(type(clone.pruning_schedule), type(wrapper.pruning_schedule))
                self.assertEqual(
                    clone.pruning_schedule.get_config(), wrapper.pruning_schedule.get_config()
                )
                self.assertEqual(clone.block_size, wrapper.block_size)
                self.assertEqual(clone.sparsity_m_by_n, wrapper.sparsity_m_by_n)
                self.assertEqual(clone.name, wrapper.name)

    def test_wrapped_model_round_trip_keeps_masks(self):
        pruned = self.trained_pruned_mlp()
        masks = masks_of(pruned)
        self.assertTrue(all((m == 0).any() for m in masks))
        loaded = assert_model_round_trip(self, pruned, self.x_test[:32], self.y_test[:32])
        self.assertEqual([type(l) for l in loaded.layers], [PruneLowMagnitude] * 3)
        for original, restored in zip(masks, masks_of(loaded)):
            self.assertAllEqual(restored, original)
        for wrapper in pruning_wrappers(loaded):
            self.assertIsInstance(wrapper.pruning_schedule, PolynomialDecay)
            self.assertEqual(wrapper.pruning_schedule.final_sparsity, 0.75)

        # The loaded model trains on: its schedule has ended, so its masks stay as loaded.
        loaded.fit(
            self.x_train,
            self.y_train,
            epochs=1,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        for original, wrapper in zip(masks, pruning_wrappers(loaded)):
            self.assertAllEqual(keras.ops.convert_to_numpy(wrapper.masks[0]), original)
            kernel = keras.ops.convert_to_numpy(wrapper.layer.kernel)
            self.assertAllEqual(kernel == 0, original == 0)

    def test_stripped_model_round_trip(self):
        pruned = self.trained_pruned_mlp()
        stripped = compile_classifier(strip_pruning(pruned))
        loaded = assert_model_round_trip(self, stripped, self.x_test[:32], self.y_test[:32])
        self.assertEqual([type(l) for l in loaded.layers], [keras.layers.Dense] * 3)
        for layer in loaded.layers:
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            self.assertEqual(int((kernel == 0).sum()), expected_zeros(kernel.size, 0.75))

    def test_stripped_model_converts_to_tflite(self):
        model = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(8, 3, activation="relu", name="conv"),
                keras.layers.Flatten(),
                keras.layers.Dense(32, activation="relu", name="hidden"),
                keras.layers.Dense(10, name="logits"),
            ]
        )
        pruned = compile_classifier(
            prune_low_magnitude(model, ConstantSparsity(0.7, begin_step=0, frequency=20))
        )
        pruned.fit(
            images(self.x_train),
            self.y_train,
            epochs=1,
            batch_size=BATCH_SIZE,
            verbose=0,
            callbacks=[UpdatePruningStep()],
        )
        stripped = strip_pruning(pruned)
        x = images(self.x_test[:16])
        expected = keras.ops.convert_to_numpy(stripped(x))
        with tempfile.TemporaryDirectory() as tmp:
            export_dir = os.path.join(tmp, "saved_model")
            stripped.export(export_dir, format="tf_saved_model", verbose=False)
            flatbuffer = tf.lite.TFLiteConverter.from_saved_model(export_dir).convert()
        interpreter = Interpreter(model_content=flatbuffer)
        interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], x.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        self.assertAllClose(output, expected, atol=1e-5)
        self.assertAllClose(output, pruned.predict(x, verbose=0), atol=1e-5)
