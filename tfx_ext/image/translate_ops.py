"""TFA's image translations (`tfa.image.translate`, `translate_xy`) on Keras 3.

Keras core replacement for augmentation: `keras.layers.RandomTranslation`.
"""

from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.image.image_shapes import unwrap, wrap
from tfx_ext.image.transform_ops import _check_hwc, transform


def translations_to_projective_transforms(translations, name=None):
    """Returns the `(num_images, 8)` transforms translating by `[dx, dy]` (one pair or one per image)."""
    translations = ops.cast(ops.convert_to_tensor(translations), "float32")
    if len(translations.shape) == 1:
        translations = translations[None]
    if len(translations.shape) != 2 or translations.shape[1] != 2:
        raise invalid(
            "translations",
            "[dx, dy] or a matrix of shape (N, 2)",
            f"a tensor of shape {tuple(translations.shape)}",
        )
    ones = ops.ones_like(translations[:, 0])
    zeros = ops.zeros_like(ones)
    dx, dy = translations[:, 0], translations[:, 1]
    return ops.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)


def translate(
    images,
    translations,
    interpolation="nearest",
    fill_mode="constant",
    name=None,
    fill_value=0.0,
):
    """Translates image(s) by `[dx, dy]` (one pair, or one per image of an NHWC batch).

    Args:
        images: HW, HWC or NHWC image(s) (see `tfx_ext.image.transform`).
        translations: `[dx, dy]` or a `(num_images, 2)` matrix.
        interpolation: `"nearest"` or `"bilinear"`.
        fill_mode: `"constant"`, `"reflect"`, `"wrap"` or `"nearest"`.
        name: accepted for TFA compatibility.
        fill_value: the value outside the input when `fill_mode="constant"`.
    """
    return transform(
        images,
        translations_to_projective_transforms(translations),
        interpolation=interpolation,
        fill_mode=fill_mode,
        fill_value=fill_value,
    )


def translate_xy(image, translate_to, replace):
    """Translates an HWC image by `translate_to = [x, y]`, filling emptied pixels with `replace`."""
    image = _check_hwc(image)
    shift = ops.reshape(ops.cast(ops.convert_to_tensor(translate_to), "float32"), (-1,))
    if shift.shape[0] != 2:
        raise invalid("translate_to", "two values [x, y]", f"{shift.shape[0]} values")
    return unwrap(translate(wrap(image), shift), replace)
