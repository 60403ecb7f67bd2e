"""DCGAN generator and discriminator builders, after the chapter's rules (HOML ch. 17).

Radford et al.'s guidelines as the book lists them: strided convolutions
instead of pooling (transposed convolutions in the generator), Batch
Normalization in both networks except the generator's output layer and the
discriminator's input layer, no fully connected hidden layers, ReLU in the
generator with a tanh output (scale images to [-1, 1]), LeakyReLU in the
discriminator.
"""

import keras

from tfx_ext._core.arguments import check_bool, check_int, check_number, invalid
from tfx_ext.layers.minibatch_standard_deviation import MinibatchStandardDeviation


def _image_shape(image_shape):
    try:
        shape = tuple(image_shape)
    except TypeError:
        raise invalid(
            "image_shape", "a shape (height, width, channels)", image_shape, TypeError
        ) from None
    if len(shape) != 3 or any(
        isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape
    ):
        raise invalid(
            "image_shape", "a shape (height, width, channels) of positive integers", image_shape
        )
    return shape


def _filters(filters):
    try:
        values = tuple(filters)
    except TypeError:
        raise invalid(
            "filters", "a non-empty tuple of positive integers", filters, TypeError
        ) from None
    if not values or any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in values):
        raise invalid("filters", "a non-empty tuple of positive integers", filters)
    return values


def dcgan_generator(latent_dim=100, image_shape=(28, 28, 1), filters=(128, 64), kernel_size=5):
    """The DCGAN generator: noise -> Dense -> (transposed conv, stride 2) x len(filters) -> tanh.

    The noise goes through a Dense layer to `filters[0]` maps of
    `image size / 2 ** len(filters)`, then BatchNorm + ReLU; each further
    entry of `filters` is a stride-2 `Conv2DTranspose` + BatchNorm + ReLU; a
    last stride-2 `Conv2DTranspose` to the image's channels has a tanh
    activation and no BatchNorm. The book's 28x28 generator is
    `dcgan_generator(100, (28, 28, 1), (128, 64))`; 8x8 digits:
    `dcgan_generator(16, (8, 8, 1), (64, 32))`.

    Args:
        latent_dim: Size of the noise, an integer >= 1.
        image_shape: `(height, width, channels)`; height and width must be
            multiples of `2 ** len(filters)`.
        filters: Feature maps of the Dense layer's output and of each hidden
            transposed convolution.
        kernel_size: Size of the transposed convolutions' kernels.

    Returns:
        An uncompiled `keras.Sequential`.
    """
    latent_dim = check_int("latent_dim", latent_dim, 1)
    height, width, channels = _image_shape(image_shape)
    filters = _filters(filters)
    kernel_size = check_int("kernel_size", kernel_size, 1)
    scale = 2 ** len(filters)
    if height % scale or width % scale:
        raise invalid(
            "image_shape",
            f"a height and width that are multiples of 2 ** len(filters) = {scale}",
            image_shape,
        )
    h, w = height // scale, width // scale
    layers = [
        keras.Input((latent_dim,)),
        keras.layers.Dense(h * w * filters[0]),
        keras.layers.Reshape((h, w, filters[0])),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
    ]
    for f in filters[1:]:
        layers += [
            keras.layers.Conv2DTranspose(f, kernel_size, strides=2, padding="same"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
        ]
    layers.append(
        keras.layers.Conv2DTranspose(
            channels, kernel_size, strides=2, padding="same", activation="tanh"
        )
    )
    return keras.Sequential(layers, name="dcgan_generator")


def dcgan_discriminator(
    image_shape=(28, 28, 1),
    filters=(64, 128),
    kernel_size=5,
    batch_norm=True,
    dropout=0.0,
    minibatch_std=False,
):
    """The DCGAN discriminator: (conv, stride 2, LeakyReLU 0.2) x len(filters) -> sigmoid.

    BatchNorm follows every convolution but the first (`batch_norm=True`);
    the book's code example uses `Dropout(0.4)` after each convolution
    instead (`batch_norm=False, dropout=0.4`).

    Args:
        image_shape: `(height, width, channels)`.
        filters: Feature maps of each stride-2 convolution.
        kernel_size: Size of the convolutions' kernels.
        batch_norm: Whether BatchNorm follows the hidden convolutions.
        dropout: Rate of a Dropout after each convolution, in [0, 1).
        minibatch_std: Whether a `MinibatchStandardDeviation` layer (minibatch
            discrimination against mode collapse) precedes the output layer.

    Returns:
        An uncompiled `keras.Sequential` giving one probability per image.
    """
    image_shape = _image_shape(image_shape)
    filters = _filters(filters)
    kernel_size = check_int("kernel_size", kernel_size, 1)
    check_bool("batch_norm", batch_norm)
    check_bool("minibatch_std", minibatch_std)
    dropout = check_number("dropout", dropout, 0.0, 1.0, high_open=True)
    layers = [keras.Input(image_shape)]
    for i, f in enumerate(filters):
        layers.append(keras.layers.Conv2D(f, kernel_size, strides=2, padding="same"))
        if batch_norm and i > 0:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.LeakyReLU(negative_slope=0.2))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    if minibatch_std:
        layers.append(MinibatchStandardDeviation())
    layers += [keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(layers, name="dcgan_discriminator")
