"""Comparing static shapes, where unknown (`None`) dimensions match anything.

`tf.TensorShape.is_compatible_with` for every backend: tensors of JAX, Torch
and NumPy have tuple shapes.
"""


def shapes_compatible(first, second):
    """Whether two static shapes may describe the same tensor.

    The ranks must be equal and each pair of dimensions equal, or either one
    unknown.
    """
    first, second = tuple(first), tuple(second)
    return len(first) == len(second) and all(a is None or b is None or a == b for a, b in zip(first, second))
