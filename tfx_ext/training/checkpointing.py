"""Checkpoints that let `Trainer.fit` resume where a crashed run stopped.

What a resume needs, and what `tf.train.Checkpoint(model=model)` alone misses:
- every optimizer's slots and iteration counter (with a MultiOptimizer, each
  sub-optimizer is tracked by position);
- the epoch, the step within the epoch and the global step;
- the RNG state: Keras `SeedGenerator` states (dropout, noise layers) are
  model variables that a `tf.train.Checkpoint` of the model does not save,
  and TensorFlow's global generator.

`tf.train.CheckpointManager` writes each checkpoint to temporary files and
then renames its index, so a process killed mid-write leaves the previous
checkpoint as the latest one. Under `MultiWorkerMirroredStrategy` every
worker takes part in the save (it is collective); workers other than the
chief write into a private temporary directory that is deleted afterwards.
"""

import os
import shutil
import tempfile

import tensorflow as tf

from tfx_ext.training.optimizer_mapping import sub_optimizers


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return (
        task_type is None
        or task_type == "chief"
        or (
            task_type == "worker"
            and task_id == 0
            and "chief" not in resolver.cluster_spec().as_dict()
        )
    )


def _seed_states(model):
    # Keras names every SeedGenerator's state variable "seed_generator_state".
    return [v.value for v in model.variables if v.name == "seed_generator_state"]


def _remove_stale_temporaries(directory):
    """Deletes `ckpt-N_temp` directories left by a process killed mid-write."""
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if name.endswith("_temp") and os.path.isdir(os.path.join(directory, name)):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


class TrainingCheckpoint:
    """Model, optimizers, counters and RNG state under one checkpoint manager.

    Args:
        directory: Where checkpoints are kept.
        model: The Keras model.
        optimizer: The (built) optimizer, possibly a MultiOptimizer.
        strategy: The `tf.distribute` strategy (or the default one).
        max_to_keep: How many checkpoints to keep.
        extra_variables: The metrics' Keras variables (running totals), so a
            resumed epoch reports the same loss as an uninterrupted one.
    """

    def __init__(self, directory, model, optimizer, strategy, max_to_keep=3, extra_variables=()):
        self.directory = os.fspath(directory)
        self.is_chief = _is_chief(strategy)
        with tf.init_scope():
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.step_in_epoch = tf.Variable(
                0, dtype=tf.int64, trainable=False, name="step_in_epoch"
            )
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        optimizers = sub_optimizers(optimizer)
        tracked = {
            "model": model,
            "optimizer": optimizer,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "seed_states": _seed_states(model),
            "tf_global_generator": tf.random.get_global_generator(),
        }
        for index, sub in enumerate(optimizers):
            tracked[f"optimizer_{index}"] = sub
        # The running metric totals are keyed by metric name and restored
        # leniently: adding or reordering metrics must not block a resume.
        self._metric_totals = {v.path.replace("/", "-"): v.value for v in extra_variables}
        self._core = tf.train.Checkpoint(**tracked)
        self._metrics_only = tf.train.Checkpoint(metrics=self._metric_totals)
        self.checkpoint = tf.train.Checkpoint(**tracked, metrics=self._metric_totals)
        # Everything a restore may assign, to undo one that fails halfway
        # (TensorFlow restores variable by variable and stops at a mismatch).
        self._restorable = [
            *model.variables,
            *optimizer.variables,
            *[v for sub in optimizers for v in sub.variables],
            self.epoch,
            self.step_in_epoch,
            self.global_step,
            tf.random.get_global_generator().state,
            *self._metric_totals.values(),
        ]
        self._last_saved = None
        if self.is_chief:
            _remove_stale_temporaries(self.directory)
        write_dir = self.directory
        if not self.is_chief:
            write_dir = tempfile.mkdtemp(prefix="tfx_ext-worker-checkpoint-")
        self._write_dir = write_dir
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, write_dir, max_to_keep=max_to_keep
        )
        if not self.is_chief:
            # Only a unique name is reserved: each save creates the directory
            # and removes it afterwards.
            os.rmdir(write_dir)

    @property
    def latest(self):
        """Path of the newest checkpoint in `directory`, or None."""
        return tf.train.latest_checkpoint(self.directory)

    def restore_latest(self):
        """Restores the newest checkpoint; returns (epoch, step_in_epoch, global_step) or None."""
        path = self.latest
        if path is None:
            return None
        backup = [v.numpy() for v in self._restorable]
        try:
            # The metric totals in the file are restored below: not a mismatch.
            self._core.restore(path).assert_existing_objects_matched().expect_partial()
            self._metrics_only.restore(path).expect_partial()
        except (ValueError, AssertionError) as error:
            for variable, value in zip(self._restorable, backup):
                variable.assign(value)
            raise ValueError(
                f"Cannot resume from the checkpoint {path}: it does not fit this "
                f"model and optimizer ({error}). It was written for another "
                "architecture or optimizer mapping; pass a new checkpoint_dir (or "
                f"empty {self.directory}) to start from scratch. The model and "
                "optimizer were left unchanged."
            ) from error
        self._last_saved = int(self.global_step.numpy())
        return self.counters()

    def counters(self):
        return (
            int(self.epoch.numpy()),
            int(self.step_in_epoch.numpy()),
            int(self.global_step.numpy()),
        )

    def save(self, epoch, step_in_epoch, global_step):
        """Saves as `ckpt-<global_step>`; a number already saved is not rewritten.

        TensorFlow rewrites an existing checkpoint's index in place, so a kill
        at that moment would corrupt the newest checkpoint. The same number
        comes twice only when a periodic save falls on the last step of an
        epoch of unknown length; both saves hold the same training state.
        """
        if global_step == self._last_saved:
            return None
        self._last_saved = global_step
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step_in_epoch)
        self.global_step.assign(global_step)
        path = self.manager.save(checkpoint_number=global_step)
        if not self.is_chief:
            shutil.rmtree(self._write_dir, ignore_errors=True)
        return path
