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
    return task_type is None or task_type == "chief" or (
        task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


def _seed_states(model):
    # Keras names every SeedGenerator's state variable "seed_generator_state".
    return [v.value for v in model.variables if v.name == "seed_generator_state"]


class TrainingCheckpoint:
    """Model, optimizers, counters and RNG state under one checkpoint manager.

    Args:
        directory: Where checkpoints are kept.
        model: The Keras model.
        optimizer: The (built) optimizer, possibly a MultiOptimizer.
        strategy: The `tf.distribute` strategy (or the default one).
        max_to_keep: How many checkpoints to keep.
        extra_variables: More variables to save (the running metric totals,
            so a resumed epoch reports the same loss as an uninterrupted one).
    """

    def __init__(self, directory, model, optimizer, strategy, max_to_keep=3, extra_variables=()):
        self.directory = os.fspath(directory)
        self.strategy = strategy
        self.is_chief = _is_chief(strategy)
        with tf.init_scope():
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
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
            "extra_variables": list(extra_variables),
        }
        for index, sub in enumerate(optimizers):
            tracked[f"optimizer_{index}"] = sub
        self.checkpoint = tf.train.Checkpoint(**tracked)
        write_dir = self.directory
        if not self.is_chief:
            write_dir = tempfile.mkdtemp(prefix="tfx_ext-worker-checkpoint-")
        self._write_dir = write_dir
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, write_dir, max_to_keep=max_to_keep
        )

    @property
    def latest(self):
        """Path of the newest checkpoint in `directory`, or None."""
        return tf.train.latest_checkpoint(self.directory)

    def restore_latest(self):
        """Restores the newest checkpoint; returns (epoch, step_in_epoch, global_step) or None."""
        path = self.latest
        if path is None:
            return None
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return self.counters()

    def counters(self):
        return int(self.epoch.numpy()), int(self.step_in_epoch.numpy()), int(self.global_step.numpy())

    def save(self, epoch, step_in_epoch, global_step):
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step_in_epoch)
        self.global_step.assign(global_step)
        path = self.manager.save(checkpoint_number=global_step)
        if not self.is_chief:
            shutil.rmtree(self._write_dir, ignore_errors=True)
            os.makedirs(self._write_dir, exist_ok=True)
        return path
