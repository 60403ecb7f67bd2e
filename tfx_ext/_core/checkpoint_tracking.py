"""Makes layers and variables held in lists visible to `tf.train.Checkpoint`.

Keras 3 (checked on 3.15 with TF 2.21) wraps a list assigned to a layer
attribute in a `TrackedList`: Keras walks it (`layer.weights`,
`save_weights`, `.keras`), but it is not a TensorFlow `Trackable`, and
`Layer._initialize_tracker` switches TF attribute tracking off for Keras's
own lists. So a layer or variable reachable only through a list is missing
from a `tf.train.Checkpoint`, and a restore leaves it at its initial value
while `assert_existing_objects_matched()` still passes. An object assigned
to an attribute of its own is tracked by both systems: that is what this
module does, with public attribute assignment only. Every component that
keeps sublayers or variables in a list calls it
(`tests/test_checkpoint_coverage.py` walks them all).
"""

import keras


def track_in_checkpoint(owner, name, items):
    """Assigns each of `items` to its own attribute of `owner`, `_tracked_{name}_{i}`.

    The private prefix sorts these attributes after the list that holds
    the same objects, so `save_weights` files keep the list's paths (Keras
    saves an object once, under the first name it meets).

    Args:
        owner: The Keras layer holding `items`.
        name: A name for this group, used in the checkpoint keys.
        items: An iterable of layers and variables (other items are not
            trackable and are skipped).
    """
    for i, item in enumerate(items):
        if isinstance(item, (keras.layers.Layer, keras.Variable)):
            setattr(owner, f"_tracked_{name}_{i}", item)
