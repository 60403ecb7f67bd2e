"""TFA's image ops (`tfa.image`) on Keras 3, with TFA's names, arguments and results.

Where Keras 3 has the operation (`keras.ops.image.affine_transform`,
`keras.ops.average_pool`), the function is a thin call into it.
"""

from tfx_ext.image.color_ops import blend, equalize, sharpness
from tfx_ext.image.cutout_ops import cutout, random_cutout
from tfx_ext.image.dense_image_warp import dense_image_warp, interpolate_bilinear
from tfx_ext.image.distance_transform import euclidean_dist_transform
from tfx_ext.image.filters import gaussian_filter2d, mean_filter2d, median_filter2d
from tfx_ext.image.resampler_ops import resampler
from tfx_ext.image.transform_ops import (
    angles_to_projective_transforms,
    compose_transforms,
    rotate,
    shear_x,
    shear_y,
    transform,
)
from tfx_ext.image.translate_ops import (
    translate,
    translate_xy,
    translations_to_projective_transforms,
)

__all__ = [
    "angles_to_projective_transforms",
    "blend",
    "compose_transforms",
    "cutout",
    "dense_image_warp",
    "equalize",
    "euclidean_dist_transform",
    "gaussian_filter2d",
    "interpolate_bilinear",
    "mean_filter2d",
    "median_filter2d",
    "random_cutout",
    "resampler",
    "rotate",
    "sharpness",
    "shear_x",
    "shear_y",
    "transform",
    "translate",
    "translate_xy",
    "translations_to_projective_transforms",
]
