"""keras-tuner hypermodels over the book's choices: SELU/LeCun vs ReLU/He vs leaky ReLU, and more.

Importing this module imports keras-tuner (`import tfx_ext` does not).
"""

import numbers

import keras
import keras_tuner

from tfx_ext._core.arguments import check_int, invalid

# Each activation with the initializer and dropout that suit it ("Hands-On ML" ch. 11).
ACTIVATIONS = {
    "selu": ("selu", "lecun_normal", keras.layers.AlphaDropout),
    "relu": ("relu", "he_normal", keras.layers.Dropout),
    "leaky_relu": ("leaky_relu", "he_normal", keras.layers.Dropout),
}
OPTIMIZERS = ("adam", "nadam", "sgd_momentum")


def _optimizer(name, rate):
    if name == "adam":
        return keras.optimizers.Adam(rate)
    if name == "nadam":
        return keras.optimizers.Nadam(rate)
    return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True)


class _BookHyperModel(keras_tuner.HyperModel):
    """Shared arguments, the activation choice and the compile step."""

    def __init__(self, input_shape, num_classes, max_layers, activations, optimizers, name):
        super().__init__(name=name)
        if (
            not isinstance(input_shape, (tuple, list))
            or not input_shape
            or any(
                isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1
                for d in input_shape
            )
        ):
            raise invalid(
                "input_shape", "the shape of one example, integers >= 1 such as (64,)", input_shape
            )
        self.input_shape = tuple(input_shape)
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.max_layers = check_int("max_layers", max_layers, minimum=1)
        if not activations or any(a not in ACTIVATIONS for a in activations):
            raise invalid("activations", f"a non-empty list of {sorted(ACTIVATIONS)}", activations)
        if not optimizers or any(o not in OPTIMIZERS for o in optimizers):
            raise invalid("optimizers", f"a non-empty list of {list(OPTIMIZERS)}", optimizers)
        self.activations = list(activations)
        self.optimizers = list(optimizers)

    def _activation(self, hp):
        return ACTIVATIONS[hp.Choice("activation", self.activations)]

    def _compile(self, hp, model):
        rate = hp.Float("learning_rate", 1e-4, 3e-2, sampling="log")
        model.compile(
            optimizer=_optimizer(hp.Choice("optimizer", self.optimizers), rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model


class MLPHyperModel(_BookHyperModel):
    """An MLP search space: depth, widths, activation, dropout rate, learning rate, optimizer.

    SELU layers get LeCun normal initialization and AlphaDropout (the
    self-normalizing recipe; feed standardized inputs); ReLU and leaky ReLU
    get He normal initialization and ordinary Dropout.

    Args:
        input_shape: Shape of one example, e.g. `(64,)`.
        num_classes: Number of classes (softmax output).
        max_layers: Most hidden layers tried.
        activations: Subset of `"selu"`, `"relu"`, `"leaky_relu"`.
        optimizers: Subset of `"adam"`, `"nadam"`, `"sgd_momentum"`.
        name: Name of the hypermodel (the default project name of `search`).

    Raises:
        ValueError: `input_shape` is not a shape, `num_classes` < 2,
            `max_layers` < 1, or an unknown activation or optimizer.

    Example:

    >>> result = search(MLPHyperModel((64,), 10), (x_train, y_train, x_val, y_val),
    ...                 max_trials=10, directory="tuning")
    """

    def __init__(
        self,
        input_shape,
        num_classes,
        max_layers=4,
        activations=tuple(ACTIVATIONS),
        optimizers=OPTIMIZERS,
        name="mlp",
    ):
        super().__init__(input_shape, num_classes, max_layers, activations, optimizers, name)

    def build(self, hp):
        activation, initializer, dropout = self._activation(hp)
        rate = hp.Float("dropout", 0.0, 0.4, step=0.1)
        layers = [keras.Input(self.input_shape), keras.layers.Flatten()]
        for i in range(hp.Int("layers", 1, self.max_layers)):
            units = hp.Int(f"units_{i}", 32, 256, step=32)
            layers.append(
                keras.layers.Dense(units, activation=activation, kernel_initializer=initializer)
            )
            if rate > 0:
                layers.append(dropout(rate))
        layers.append(keras.layers.Dense(self.num_classes, activation="softmax"))
        return self._compile(hp, keras.Sequential(layers))


class CNNHyperModel(_BookHyperModel):
    """A small CNN search space: conv blocks, filters, dense width, activation, dropout, rate, optimizer.

    Each block is a 3x3 "same" convolution (16-64 filters) followed by 2x2
    max pooling while the maps are at least 4 pixels wide; then a dense layer
    (32-128 units), dropout and the softmax output. Activations come with
    their initializer and dropout as in `MLPHyperModel`.

    Args:
        input_shape: Image shape `(height, width, channels)`, e.g. `(8, 8, 1)`.
        num_classes: Number of classes (softmax output), an integer >= 2.
        max_layers: Most convolution blocks tried, an integer >= 1.
        activations: Subset of `"selu"`, `"relu"`, `"leaky_relu"`.
        optimizers: Subset of `"adam"`, `"nadam"`, `"sgd_momentum"`.
        name: Name of the hypermodel (the default project name of `search`).

    Raises:
        ValueError: `input_shape` is not an image shape, `num_classes` < 2,
            `max_layers` < 1, or an unknown activation or optimizer.

    Example:

    >>> result = search(CNNHyperModel((8, 8, 1), 10), (x_train, y_train, x_val, y_val),
    ...                 max_trials=5, directory="tuning")
    """

    def __init__(
        self,
        input_shape,
        num_classes,
        max_layers=3,
        activations=tuple(ACTIVATIONS),
        optimizers=OPTIMIZERS,
        name="cnn",
    ):
        super().__init__(input_shape, num_classes, max_layers, activations, optimizers, name)
        if len(self.input_shape) != 3:
            raise invalid("input_shape", "an image shape (height, width, channels)", input_shape)

    def build(self, hp):
        activation, initializer, dropout = self._activation(hp)
        x = inputs = keras.Input(self.input_shape)
        for i in range(hp.Int("conv_layers", 1, self.max_layers)):
            x = keras.layers.Conv2D(
                hp.Int(f"filters_{i}", 16, 64, step=16),
                3,
                padding="same",
                activation=activation,
                kernel_initializer=initializer,
            )(x)
            if min(x.shape[1:3]) >= 4:
                x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(
            hp.Int("dense_units", 32, 128, step=32),
            activation=activation,
            kernel_initializer=initializer,
        )(x)
        rate = hp.Float("dropout", 0.0, 0.4, step=0.1)
        if rate > 0:
            x = dropout(rate)(x)
        outputs = keras.layers.Dense(self.num_classes, activation="softmax")(x)
        return self._compile(hp, keras.Model(inputs, outputs))
