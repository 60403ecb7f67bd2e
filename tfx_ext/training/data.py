"""Training data for `Trainer`: arrays or `tf.data`, checked before tracing.

A wrong structure (x only, a dict where the model takes one tensor, a feature
width the model was not built for) otherwise surfaces deep inside the traced
step as a shape error that names no argument; we check the dataset's
`element_spec` against the model's inputs first.

Resuming mid-epoch needs the data order to be a function of (seed, epoch):
arrays are shuffled here with a permutation drawn from `(seed, epoch)`; a
`tf.data.Dataset` is replayed by skipping the batches already consumed, which
reproduces the order only when the dataset's own shuffling is deterministic
per iteration (no shuffle, or `reshuffle_each_iteration=False`).
"""

import numpy as np
import tensorflow as tf
from keras import tree

from tfx_ext._core.arguments import check_int, invalid

_STRUCTURE = "a tf.data.Dataset yielding (x, y) or (x, y, sample_weight) batches"


def _as_tuple(data, name):
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple) or len(data) not in (2, 3):
        raise invalid(
            name,
            f"{_STRUCTURE}, or a tuple (x, y) or (x, y, sample_weight) of arrays",
            data if not hasattr(data, "shape") else f"<array of shape {data.shape}>",
            TypeError,
        )
    lengths = {len(array) for array in tree.flatten(data)}
    if len(lengths) != 1:
        raise invalid(
            name,
            "arrays with the same number of examples",
            tuple(tuple(np.shape(a)) for a in tree.flatten(data)),
        )
    return data


class TrainingData:
    """Batches for `Trainer`, reproducible per (seed, epoch).

    Args:
        data: A `tf.data.Dataset` of batches, or a tuple of arrays.
        name: The argument name used in errors.
        batch_size: Batch size for arrays (ignored for datasets).
        shuffle: Shuffle arrays each epoch (datasets are used as given).
        seed: Seed of the per-epoch permutation of arrays.
    """

    def __init__(self, data, name, batch_size=32, shuffle=True, seed=0):
        self.name = name
        if isinstance(data, tf.data.Dataset):
            self.dataset = data
            self.arrays = None
        else:
            self.arrays = _as_tuple(data, name)
            self.dataset = None
            self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.shuffle = shuffle
        self.seed = seed
        self._check_structure()
        if self.num_batches == 0:
            # Training on nothing would report a loss of 0.0.
            raise invalid(
                name,
                "data with at least one batch",
                "arrays with 0 examples" if self.arrays is not None else "an empty dataset",
            )

    @classmethod
    def prepare(cls, data, name, model, batch_size=32, shuffle=True, seed=0):
        """`data` as `TrainingData` checked against `model`'s inputs (None stays None)."""
        if data is None or isinstance(data, TrainingData):
            return data
        prepared = cls(data, name, batch_size=batch_size, shuffle=shuffle, seed=seed)
        prepared.check_against(model)
        return prepared

    @property
    def element_spec(self):
        if self.dataset is not None:
            return self.dataset.element_spec
        return tuple(
            tree.map_structure(
                lambda a: tf.TensorSpec(
                    (None,) + np.shape(a)[1:], tf.as_dtype(np.asarray(a).dtype)
                ),
                part,
            )
            for part in self.arrays
        )

    @property
    def num_batches(self):
        """Batches per pass, or None when the dataset's length is unknown."""
        if self.arrays is not None:
            n = len(tree.flatten(self.arrays)[0])
            return -(-n // self.batch_size)
        cardinality = int(self.dataset.cardinality())
        return cardinality if cardinality >= 0 else None

    @property
    def is_infinite(self):
        """Whether this is a dataset that never runs out (a `repeat()`ed one)."""
        return (
            self.dataset is not None
            and int(self.dataset.cardinality()) == tf.data.INFINITE_CARDINALITY
        )

    def _check_structure(self):
        spec = self.element_spec
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            raise invalid(self.name, _STRUCTURE, f"a dataset with element_spec={spec}")

    def check_against(self, model):
        """Raises if x does not fit the model's inputs (when the model has them)."""
        inputs = getattr(model, "inputs", None)
        if not inputs:
            return
        x_spec = self.element_spec[0]
        x_specs = tree.flatten(x_spec)
        if len(x_specs) != len(inputs):
            raise invalid(
                self.name,
                f"x with {len(inputs)} input tensor(s), for the model's inputs "
                f"{[i.name for i in inputs]}",
                f"a dataset whose x has element_spec={x_spec}",
            )
        if isinstance(x_spec, dict):
            names = {i.name for i in inputs}
            if set(x_spec) != names:
                raise invalid(
                    self.name,
                    f"x keys {sorted(names)} (the model's input names)",
                    f"x keys {sorted(x_spec)}",
                )
            pairs = [(x_spec[i.name], i) for i in inputs]
        else:
            pairs = list(zip(x_specs, inputs))
        for spec, model_input in pairs:
            want = tuple(model_input.shape)[1:]
            got = tuple(spec.shape)[1:] if spec.shape.rank is not None else None
            if (
                got is None
                or len(got) != len(want)
                or any(w is not None and g is not None and w != g for w, g in zip(want, got))
            ):
                raise invalid(
                    self.name,
                    f"x batches of shape (batch,) + {want} for input {model_input.name!r}",
                    f"a dataset whose x has element_spec={spec}",
                )

    def stream(self, skip, steps):
        """Batches running across epochs (for `steps_per_epoch`), after `skip`.

        A dataset is used as given (repeat it for several passes); arrays
        are passed over as often as `steps` needs, each pass shuffled from
        (seed, pass).
        """
        if self.dataset is not None:
            return self.dataset.skip(skip).prefetch(tf.data.AUTOTUNE)
        passes = -(-(steps) // self.num_batches)
        dataset = self.dataset_for_epoch(0)
        for index in range(1, passes):
            dataset = dataset.concatenate(self.dataset_for_epoch(index))
        return dataset.skip(skip)

    def dataset_for_epoch(self, epoch, skip=0):
        """The batches of `epoch`, after skipping `skip` already-consumed ones.

        A dataset is used as given, as `model.fit` does (its pipeline,
        prefetching included, is the caller's; wrapping it again each epoch
        costs a small model's training a few percent).
        """
        if self.dataset is not None:
            return self.dataset.skip(skip) if skip else self.dataset
        else:
            n = len(tree.flatten(self.arrays)[0])
            if self.shuffle:
                order = np.random.default_rng([self.seed, epoch]).permutation(n)
                arrays = tree.map_structure(lambda a: np.asarray(a)[order], self.arrays)
            else:
                arrays = self.arrays
            dataset = tf.data.Dataset.from_tensor_slices(arrays).batch(self.batch_size)
        if skip:
            dataset = dataset.skip(skip)
        return dataset.prefetch(tf.data.AUTOTUNE)
