"""TFA's image ops (`tfa.image`) on Keras 3, with TFA's names, arguments and results.

Where Keras 3 has the operation (`keras.ops.image.affine_transform`), the
function is a thin call into it.
"""

from tfx_ext.image.transform_ops import (
    angles_to_projective_transforms,
    compose_transforms,
    rotate,
    shear_x,
    shear_y,
    transform,
)
from tfx_ext.image.translate_ops import translate, translate_xy, translations_to_projective_transforms

__all__ = [
    "angles_to_projective_transforms",
    "compose_transforms",
    "rotate",
    "shear_x",
    "shear_y",
    "transform",
    "translate",
    "translate_xy",
    "translations_to_projective_transforms",
]
