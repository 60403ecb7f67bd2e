"""The image ranks TFA's image ops accept (HW, HWC, NHWC), and the checks they share."""

from keras import ops

from tfx_ext._core.arguments import check_choice, invalid

IMAGE_DTYPES = ("uint8", "int32", "int64", "float16", "float32", "float64")


def to_4d(name, images, dtypes=IMAGE_DTYPES):
    """Returns (`images` as an NHWC tensor, its original rank), checking rank and dtype."""
    images = ops.convert_to_tensor(images)
    dtype = ops.dtype(images)
    if dtype not in dtypes:
        raise invalid(
            name,
            f"an image tensor of dtype {', '.join(dtypes)}",
            f"a tensor of dtype {dtype}",
            TypeError,
        )
    rank = len(images.shape)
    if rank == 2:
        return images[None, :, :, None], rank
    if rank == 3:
        return images[None], rank
    if rank == 4:
        return images, rank
    raise invalid(
        name,
        "an image of rank 2 (HW), 3 (HWC) or 4 (NHWC) with a statically known rank",
        f"a tensor of shape {tuple(images.shape)}",
    )


def from_4d(images, rank):
    """Undoes `to_4d`: back to rank 2, 3 or 4."""
    if rank == 2:
        return images[0, :, :, 0]
    if rank == 3:
        return images[0]
    return images


def check_mode(name, value, choices):
    """Checks a mode string case-insensitively (TFA upper-cases "BILINEAR", "REFLECT", ...)."""
    if not isinstance(value, str):
        raise invalid(name, "one of " + ", ".join(repr(c) for c in choices), value, TypeError)
    return check_choice(name, value.lower(), choices)


def wrap(image):
    """Returns the HWC `image` with an extra channel of ones (TFA's `image.utils.wrap`)."""
    image = ops.convert_to_tensor(image)
    ones = ops.ones(tuple(image.shape[:2]) + (1,), dtype=image.dtype)
    return ops.concatenate([image, ones], axis=2)


def unwrap(image, replace):
    """Fills with `replace` the pixels whose extra channel is no longer 1, and drops that channel.

    `replace` is one value (used for every channel) or one value per channel.
    """
    channels = image.shape[2] - 1
    replace = ops.cast(ops.convert_to_tensor(replace), image.dtype)
    replace = ops.reshape(replace, (-1,))
    if replace.shape[0] not in (1, channels):
        raise invalid(
            "replace",
            f"one value or {channels} values (one per channel)",
            f"{replace.shape[0]} values",
        )
    replace = ops.broadcast_to(replace, (channels,))
    kept = ops.equal(image[:, :, channels:], ops.ones((), image.dtype))
    return ops.where(kept, image[:, :, :channels], ops.reshape(replace, (1, 1, channels)))
