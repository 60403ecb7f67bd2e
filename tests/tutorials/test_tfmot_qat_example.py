"""Replay of tfmot's "Quantization aware training in Keras example"
(tensorflow_model_optimization/g3doc/guide/quantization/training_example.ipynb)
with `tfmot.quantization.keras` replaced by `tfx_ext.lite`.

Substitutions (nothing may download): MNIST 28x28 becomes scikit-learn's 8x8
digits scaled up 3x to 24x24 (`np.kron`), so that the model has the
tutorial's shape and a comparable weight count (Conv2D 12 + Dense 10 on
11x11x12 features: 14.6k weights, the tutorial's 20.4k); the baseline trains
12 epochs on 1,347 images instead of 1 epoch on 60,000. Keras 3 spells the
input `InputLayer(shape=...)`. The tutorial's two TFLite conversions
(`TFLiteConverter.from_keras_model` + `Optimize.DEFAULT`) become
`tfx_ext.lite.convert(model)` and `convert(q_aware_model, mode="int8")`, with
no representative data, as in the tutorial: the learned ranges are used.
Layer names start with "quantize_aware_" where tfmot's start with "quant_".
"""

import functools
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext import lite

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@functools.lru_cache(maxsize=None)
def mnist_like():
    """Digits as (n, 24, 24) images in [0, 1] (pixels 0..16 / 16, as the tutorial divides by 255)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = np.kron(data.images.astype("float32") / 16.0, np.ones((1, 3, 3), "float32"))
    x_train, x_test, y_train, y_test = train_test_split(
        images, data.target.astype("int32"), test_size=0.25, random_state=42, stratify=data.target
    )
    return x_train, y_train, x_test, y_test


@functools.lru_cache(maxsize=None)
def replay():
    keras.utils.set_random_seed(0)
    train_images, train_labels, test_images, test_labels = mnist_like()

    # Define the model architecture.
    model = keras.Sequential(
        [
            keras.layers.InputLayer(shape=(24, 24)),
            keras.layers.Reshape(target_shape=(24, 24, 1)),
            keras.layers.Conv2D(filters=12, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(optimizer="adam", loss=LOSS, metrics=["accuracy"])
    model.fit(train_images, train_labels, epochs=12, validation_split=0.1, verbose=0)

    quantize_model = lite.quantize_model
    q_aware_model = quantize_model(model)
    # `quantize_model` requires a recompile.
    q_aware_model.compile(optimizer="adam", loss=LOSS, metrics=["accuracy"])
    summary = []
    q_aware_model.summary(print_fn=lambda line, **kwargs: summary.append(line))

    train_images_subset = train_images[0:1000]
    train_labels_subset = train_labels[0:1000]
    q_aware_model.fit(
        train_images_subset,
        train_labels_subset,
        batch_size=500,
        epochs=1,
        validation_split=0.1,
        verbose=0,
    )

    _, baseline_model_accuracy = model.evaluate(test_images, test_labels, verbose=0)
    _, q_aware_model_accuracy = q_aware_model.evaluate(test_images, test_labels, verbose=0)

    quantized_tflite_model = lite.convert(q_aware_model, mode="int8").content
    float_tflite_model = lite.convert(model).content
    return dict(
        model=model,
        q_aware_model=q_aware_model,
        summary="\n".join(summary),
        baseline_model_accuracy=baseline_model_accuracy,
        q_aware_model_accuracy=q_aware_model_accuracy,
        quantized_tflite_model=quantized_tflite_model,
        float_tflite_model=float_tflite_model,
        test_images=test_images,
        test_labels=test_labels,
    )


def evaluate_model(interpreter, test_images, test_labels):
    """The tutorial's evaluation loop: one image per invoke, argmax of the output."""
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    prediction_digits = []
    for test_image in test_images:
        test_image = np.expand_dims(test_image, axis=0).astype(np.float32)
        interpreter.set_tensor(input_index, test_image)
        interpreter.invoke()
        output = interpreter.tensor(output_index)
        prediction_digits.append(np.argmax(output()[0]))
    return (np.array(prediction_digits) == test_labels).mean()


def interpreter_for(content):
    from ai_edge_litert.interpreter import Interpreter  # tf.lite.Interpreter's successor, same API

    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    return interpreter


# One xdist worker runs the whole class, so replay() trains and converts once
# (scripts/test distributes with --dist loadgroup).
@pytest.mark.slow
@pytest.mark.xdist_group("tfmot_qat_example_replay")
class TrainingExampleTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_qat_model_keeps_the_baseline_accuracy(self):
        r = replay()
        self.assertGreater(r["baseline_model_accuracy"], 0.9)
        # "minimal to no loss in test accuracy after quantization aware training"
        self.assertLessEqual(abs(r["q_aware_model_accuracy"] - r["baseline_model_accuracy"]), 0.02)
        names = [layer.name for layer in r["q_aware_model"].layers]
        self.assertIn("quantize_aware_conv2d", "\n".join(names + [r["summary"]]))

    def test_tflite_accuracy_persists_without_representative_data(self):
        r = replay()
        interpreter = interpreter_for(r["quantized_tflite_model"])
        # Float in and out, as the tutorial's model (it feeds float32 images).
        self.assertEqual(interpreter.get_input_details()[0]["dtype"], np.float32)
        test_accuracy = evaluate_model(interpreter, r["test_images"], r["test_labels"])
        self.assertLessEqual(abs(test_accuracy - r["q_aware_model_accuracy"]), 0.005)
        # The compute is integer: every CONV/FULLY_CONNECTED reads int8 weights.
        raw = lite.convert(r["q_aware_model"], mode="int8")
        self.assertEqual(raw.float_ops, [])

    def test_quantized_model_is_about_4x_smaller(self):
        r = replay()
        with tempfile.TemporaryDirectory() as tmp:
            float_file, quant_file = (
                os.path.join(tmp, "float.tflite"),
                os.path.join(tmp, "quant.tflite"),
            )
            with open(quant_file, "wb") as f:
                f.write(r["quantized_tflite_model"])
            with open(float_file, "wb") as f:
                f.write(r["float_tflite_model"])
            ratio = os.path.getsize(float_file) / os.path.getsize(quant_file)
        # Weights shrink 4x (int8 for float32; the int32 biases do not); the
        # flatbuffer's fixed part (a few kB) keeps the file ratio a little under 4.
        self.assertGreater(ratio, 3.0)
        self.assertLess(ratio, 4.1)
