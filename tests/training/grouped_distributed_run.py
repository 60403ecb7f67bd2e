"""steps_per_execution under MirroredStrategy and ParameterServerStrategy, in one process.

For tests/training/test_steps_per_execution.py: logical CPU devices must be set
up before TensorFlow initializes, so this runs in a fresh process. It writes a
JSON file to --out:

- "mirrored": a MirroredStrategy over two logical CPUs with steps_per_execution=3
  against the same Trainer on one device one step at a time (max weight
  difference, both histories, iterations);
- "ps": a ParameterServerStrategy over an in-process cluster (two workers, one
  parameter server) with steps_per_execution=4 and steps_per_epoch=10 for 2
  epochs: optimizer iterations, steps counted by the loss, and the last
  epoch's metric counts.

Usage: python tests/training/grouped_distributed_run.py --out FILE
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tests.datasets import digits  # noqa: E402
from tests.training.models import free_port, mlp  # noqa: E402
from tfx_ext.training import Trainer  # noqa: E402

SCE = "sparse_categorical_crossentropy"
EXAMPLES = 320


def history_of(history):
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def mirrored(x, y):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    runs = {}
    for name, spe, scope in (("single", 1, None), ("mirrored", 3, strategy)):
        if scope is None:
            model = mlp(seed=0)
        else:
            with scope.scope():
                model = mlp(seed=0)
        trainer = Trainer(
            model,
            SCE,
            keras.optimizers.Adam(1e-2),
            metrics=["accuracy"],
            strategy=scope,
            steps_per_execution=spe,
        )
        history = trainer.fit(data, epochs=2, verbose=0)
        runs[name] = (
            model.get_weights(),
            history_of(history),
            int(trainer.optimizer.iterations.numpy()),
            trainer.evaluate(data),
        )
    return {
        "max_weight_difference": max(
            float(np.abs(a - b).max()) for a, b in zip(runs["single"][0], runs["mirrored"][0])
        ),
        **{
            f"{name}_{key}": value
            for name, run in runs.items()
            for key, value in zip(("history", "iterations", "evaluate"), run[1:])
        },
    }


def parameter_server(x, y):
    ports = set()
    while len(ports) < 3:
        ports.add(free_port())
    addresses = [f"127.0.0.1:{port}" for port in ports]
    cluster = tf.train.ClusterSpec({"worker": addresses[:2], "ps": addresses[2:]})
    # In-process servers share this process's thread pools: on 2 cores the
    # default inter-op pool is too small for 2 workers and deadlocks.
    config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=4)
    for job, count in (("worker", 2), ("ps", 1)):
        for index in range(count):
            tf.distribute.Server(
                cluster, job_name=job, task_index=index, protocol="grpc", config=config, start=True
            )
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(cluster, rpc_layer="grpc")
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    with strategy.scope():
        model = mlp(seed=0)
        steps_run = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps_run")
    per_example = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def counting_loss(y_true, y_pred):
        with tf.control_dependencies([steps_run.assign_add(1)]):
            return tf.identity(per_example(y_true, y_pred))

    trainer = Trainer(
        model,
        counting_loss,
        keras.optimizers.Adam(1e-2),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        strategy=strategy,
        steps_per_execution=4,
    )
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(32, drop_remainder=True).repeat()
    history = trainer.fit(train, epochs=2, steps_per_epoch=10, verbose=0)
    return {
        "history": history_of(history),
        "steps_run": int(steps_run.numpy()),
        "iterations": int(trainer.optimizer.iterations.numpy()),
        "last_epoch_counts": {
            m.name: float(m.count.numpy()) for m in [trainer.loss_tracker, *trainer.metrics]
        },
    }


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    x_train, y_train, _, _ = digits()
    x, y = x_train[:EXAMPLES], y_train[:EXAMPLES]
    results = {"mirrored": mirrored(x, y), "ps": parameter_server(x, y)}
    with open(args.out, "w") as f:
        json.dump(results, f)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
