"""Differential test: the same model trained with tfmot (on a tf_keras twin) and
with tfx_ext.sparsity (Keras 3) has the same pruning step and the same masks
after every batch.

Same initial weights, data order and schedule on both; plain SGD, so the kept
weights follow the same path. The one deliberate difference, pruned weights
staying exactly zero (tfmot lets them move inside a step and zeroes them
again at the next call), does not show in the masks here.
"""

import keras
import pytest
import tensorflow as tf

from tests.datasets import digits
from tfx_ext.sparsity import PolynomialDecay, prune_low_magnitude, pruning_wrappers

BATCH = 32
STEPS = 24
SCHEDULE = dict(
    initial_sparsity=0.0, final_sparsity=0.8, begin_step=0, end_step=20, power=3, frequency=2
)


@pytest.mark.tf_only("tfmot runs on TensorFlow")
class DifferentialTfmotTest(tf.test.TestCase):
    def test_masks_match_tfmot_step_by_step(self):
        import tf_keras
        from tensorflow_model_optimization.sparsity import keras as tfmot_sparsity

        x_train, y_train, _, _ = digits()
        x, y = x_train[: BATCH * STEPS], y_train[: BATCH * STEPS]

        keras.utils.set_random_seed(3)
        ours = keras.Sequential(
            [keras.Input((64,)), keras.layers.Dense(24, activation="relu"), keras.layers.Dense(10)]
        )
        twin = tf_keras.Sequential(
            [
                tf_keras.Input((64,)),
                tf_keras.layers.Dense(24, activation="relu"),
                tf_keras.layers.Dense(10),
            ]
        )
        twin.set_weights(ours.get_weights())

        ours = prune_low_magnitude(ours, PolynomialDecay(**SCHEDULE))
        twin = tfmot_sparsity.prune_low_magnitude(
            twin, pruning_schedule=tfmot_sparsity.PolynomialDecay(**SCHEDULE)
        )
        ours.compile(
            keras.optimizers.SGD(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        twin.compile(
            tf_keras.optimizers.SGD(0.01),
            tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )

        def record(into, read):
            return lambda batch, logs: into.append(read())

        def our_state():
            wrappers = pruning_wrappers(ours)
            return int(wrappers[0].pruning_step), [
                keras.ops.convert_to_numpy(w.masks[0]) for w in wrappers
            ]

        def tfmot_state():
            wrappers = [l for l in twin.layers if hasattr(l, "pruning_vars")]
            return int(wrappers[0].pruning_step.numpy()), [
                w.pruning_vars[0][1].numpy() for w in wrappers
            ]

        ours_log, tfmot_log = [], []
        ours.fit(
            x,
            y,
            batch_size=BATCH,
            shuffle=False,
            verbose=0,
            callbacks=[
                keras.callbacks.LambdaCallback(on_train_batch_end=record(ours_log, our_state))
            ],
        )
        twin.fit(
            x,
            y,
            batch_size=BATCH,
            shuffle=False,
            verbose=0,
            callbacks=[
                tfmot_sparsity.UpdatePruningStep(),
                tf_keras.callbacks.LambdaCallback(
                    on_train_batch_end=record(tfmot_log, tfmot_state)
                ),
            ],
        )
        self.assertLen(ours_log, STEPS)
        self.assertLen(tfmot_log, STEPS)
        pruned_at = []
        for batch, ((our_step, our_masks), (their_step, their_masks)) in enumerate(
            zip(ours_log, tfmot_log)
        ):
            self.assertEqual(our_step, their_step, msg=f"batch {batch}")
            for mine, theirs in zip(our_masks, their_masks):
                self.assertAllEqual(mine, theirs, msg=f"batch {batch}")
            if batch and any((m != p).any() for m, p in zip(our_masks, ours_log[batch - 1][1])):
                pruned_at.append(our_step)
        # Batch i trains at step i + 1; masks change at the even steps up to 20.
        self.assertEqual(pruned_at, list(range(2, 21, 2)))
        self.assertAllClose([1.0 - m.mean() for m in ours_log[-1][1]], [0.8, 0.8], atol=1e-2)
