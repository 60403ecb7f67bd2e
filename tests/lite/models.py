"""Digits models, conversions and an independent TFLite runner shared by the TFLite tests.

Everything expensive (training, conversion) is cached for the test session;
callers must not modify what they get back.
"""

import functools

import keras
import numpy as np

from tests.datasets import digits
from tfx_ext.lite import compare, convert


def images(x):
    """Digits rows as 8x8x1 images."""
    return np.asarray(x, "float32").reshape((-1, 8, 8, 1))


@functools.lru_cache(maxsize=None)
def image_digits():
    """(x_train, y_train, x_test, y_test) with x as (n, 8, 8, 1) images."""
    x_train, y_train, x_test, y_test = digits()
    return images(x_train), y_train, images(x_test), y_test


def fit(model, x, y, epochs, rate=1e-3):
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


def build_cnn():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv"),
            keras.layers.MaxPooling2D(name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="classes"),
        ],
        name="digits_cnn",
    )


@functools.lru_cache(maxsize=None)
def cnn():
    """The small digits CNN (Conv2D 8 + MaxPool + Flatten + Dense 10 softmax), trained."""
    keras.utils.set_random_seed(0)
    x_train, y_train, _, _ = image_digits()
    return fit(build_cnn(), x_train, y_train, epochs=15)


@functools.lru_cache(maxsize=None)
def mlp():
    """A digits MLP 64-512-512-10, trained; big enough (300k weights) for file sizes to follow the weights."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(512, activation="relu", name="hidden1"),
            keras.layers.Dense(512, activation="relu", name="hidden2"),
            keras.layers.Dense(10, activation="softmax", name="classes"),
        ],
        name="digits_mlp",
    )
    x_train, y_train, _, _ = digits()
    return fit(model, x_train, y_train, epochs=8)


@functools.lru_cache(maxsize=None)
def selu_mlp():
    """A self-normalizing digits MLP 64-32(SELU, lecun_normal)-10, trained."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(
                32, activation="selu", kernel_initializer="lecun_normal", name="hidden"
            ),
            keras.layers.Dense(10, activation="softmax", name="classes"),
        ],
        name="digits_selu_mlp",
    )
    x_train, y_train, _, _ = digits()
    return fit(model, x_train, y_train, epochs=15)


@functools.lru_cache(maxsize=None)
def tf_keras_mlp():
    """The same kind of digits MLP (64-32-10 softmax) built and trained with tf_keras."""
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential(
        [
            tf_keras.Input((64,)),
            tf_keras.layers.Dense(32, activation="relu"),
            tf_keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=tf_keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    x_train, y_train, _, _ = digits()
    model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
    return model


MODELS = {"cnn": cnn, "mlp": mlp}


def data(name):
    """(x_train, y_train, x_test, y_test) in the input layout of model `name`."""
    return image_digits() if name == "cnn" else digits()


@functools.lru_cache(maxsize=None)
def converted(name, mode="float32", engine="converter", io_type="float32"):
    """`convert(...)` of model `name`, calibrated on the training split in integer modes."""
    calibration = data(name)[0] if mode in ("int8", "int16x8") else None
    return convert(
        MODELS[name](),
        mode=mode,
        representative_data=calibration,
        engine=engine,
        inference_input_type=io_type,
        inference_output_type=io_type,
    )


@functools.lru_cache(maxsize=None)
def report(name, mode="float32", engine="converter", io_type="float32"):
    """`compare(...)` of a cached conversion on the test split, with labels."""
    _, _, x_test, y_test = data(name)
    return compare(MODELS[name](), converted(name, mode, engine, io_type), x_test, y_test)


def interpreter(content, delegates=False):
    """A raw, allocated `ai_edge_litert` interpreter (not through tfx_ext)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = (
        OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    result = Interpreter(model_content=bytes(content), experimental_op_resolver_type=resolver)
    result.allocate_tensors()
    return result


def run_tflite(content, x):
    """Float outputs of a .tflite model for the batch `x`, one example per invoke.

    Integer inputs are quantized and integer outputs dequantized with the
    model's own scales; written independently of `tfx_ext.lite.interpreter`.
    """
    runner = interpreter(content, delegates=True)
    (input_details,) = runner.get_input_details()
    output_details = runner.get_output_details()[0]
    outputs = []
    for example in np.asarray(x, "float32"):
        example = example[None]
        if np.issubdtype(input_details["dtype"], np.integer):
            scale, zero_point = input_details["quantization"]
            info = np.iinfo(input_details["dtype"])
            example = np.clip(np.floor(example / scale + zero_point + 0.5), info.min, info.max)
        runner.set_tensor(input_details["index"], example.astype(input_details["dtype"]))
        runner.invoke()
        out = runner.get_tensor(output_details["index"]).astype("float32")
        if np.issubdtype(output_details["dtype"], np.integer):
            scale, zero_point = output_details["quantization"]
            out = (out - zero_point) * scale
        outputs.append(out[0])
    return np.stack(outputs)


def ops_and_tensors(content):
    """[(op name, input tensor details, output tensor details)] of a .tflite model."""
    runner = interpreter(content)
    tensors = {t["index"]: t for t in runner.get_tensor_details()}
    return [
        (
            op["op_name"],
            [tensors[i] if i >= 0 else None for i in op["inputs"]],
            [tensors[i] for i in op["outputs"]],
        )
        for op in runner._get_ops_details()
    ]


def agreement(a, b):
    """Fraction of rows with the same argmax."""
    return float(np.mean(np.argmax(a, -1) == np.argmax(b, -1)))


def accuracy(outputs, labels):
    return float(np.mean(np.argmax(outputs, -1) == labels))
