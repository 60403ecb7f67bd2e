"""Distributed scenarios for tests/training/test_distributed.py, one per process.

Logical CPU devices and the collective runtime of a strategy can only be set
up before TensorFlow initializes, so every scenario runs in a fresh process
started by the test; it writes its results into --out (weights as .npz,
everything else as JSON) and the test compares them.

Scenarios:

- `mirrored`: two logical CPUs; for each case (mlp, mlp with
  clip_global_norm=1.0, Wide & Deep with one optimizer per part, mlp on 1345
  examples whose last batch of 1 leaves a replica empty) trains a
  single-device Trainer and a MirroredStrategy(["/cpu:0", "/cpu:1"]) Trainer
  on the same batches and writes both; also evaluate() on both, and the error
  for a model built outside `strategy.scope()`.
- `mwms`: one worker of a MultiWorkerMirroredStrategy cluster (TF_CONFIG set
  by the test): records which examples this worker receives per step, trains
  with a checkpoint directory, writes its weights; worker 0 then also trains
  the single-device reference on the global batches.
- `ps-server`: a `tf.distribute.Server` (parameter server or worker) of a
  ParameterServerStrategy cluster; runs until killed.
- `ps-coordinator`: the chief of that cluster: fit without steps_per_epoch
  (refused), evaluate, fit with steps_per_epoch counting the steps the
  workers ran, evaluate again.

Usage: python tests/training/distributed_worker.py --scenario NAME [--out DIR]
           [--checkpoint-dir DIR] [--cluster JSON --job worker|ps --index I]
           [--epochs N --steps-per-epoch N]
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
from tests.training.models import mlp, wide_and_deep  # noqa: E402
from tfx_ext.training import Trainer  # noqa: E402

BATCH = 64  # the global batch; 1347 training examples leave a last batch of 3
EPOCHS = 2
SCE = "sparse_categorical_crossentropy"
PS_BATCH = 32


def batches(x, y, batch_size=BATCH):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


def save_weights(path, model):
    np.savez(path, **{f"{i}:{v.path}": v.numpy() for i, v in enumerate(model.variables)})


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


def history_of(history):
    return {k: [float(v) for v in values] for k, values in history.history.items()}


# -- MirroredStrategy ----------------------------------------------------------


def _mlp_case(clip_global_norm):
    def build():
        return mlp(seed=0)

    def trainer(model, strategy):
        return Trainer(
            model,
            SCE,
            keras.optimizers.Adam(1e-2),
            metrics=["accuracy"],
            strategy=strategy,
            clip_global_norm=clip_global_norm,
        )

    return build, trainer


def _mapping_case():
    def build():
        return wide_and_deep(seed=0, dropout=0.0)

    def trainer(model, strategy):
        # Created outside the strategy's scope on purpose: the Trainer copies them into it.
        return Trainer(
            model,
            SCE,
            {
                "wide/.*": keras.optimizers.SGD(0.05, momentum=0.9),
                "deep_.*/.*": keras.optimizers.Nadam(2e-3),
            },
            metrics=["accuracy"],
            strategy=strategy,
        )

    return build, trainer


def mirrored(out):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    x_train, y_train, x_test, y_test = digits()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {"num_replicas_in_sync": strategy.num_replicas_in_sync}
    full = (x_train, y_train)
    # 1345 examples: the last batch of 1 leaves the second replica an empty batch.
    cut = (x_train[:1345], y_train[:1345])
    cases = {
        "mlp": (_mlp_case(None), full),
        "clip": (_mlp_case(1.0), full),
        "mapping": (_mapping_case(), full),
        "last1": (_mlp_case(None), cut),
    }
    # The test split cut to 449 examples also ends with a batch of 1.
    evaluations = {"test": (x_test, y_test), "test449": (x_test[:449], y_test[:449])}
    for name, ((build, make_trainer), train) in cases.items():
        for run in ("single", "mirrored"):
            if run == "single":
                model = build()
                trainer = make_trainer(model, None)
            else:
                with strategy.scope():
                    model = build()
                trainer = make_trainer(model, strategy)
            save_weights(os.path.join(out, f"{name}-{run}-initial.npz"), model)
            history = trainer.fit(batches(*train), epochs=EPOCHS, verbose=0)
            save_weights(os.path.join(out, f"{name}-{run}.npz"), model)
            results[f"{name}-{run}"] = {
                "history": history_of(history),
                "iterations": int(trainer.optimizer.iterations.numpy()),
                "evaluate": {
                    k: trainer.evaluate(batches(*data)) for k, data in evaluations.items()
                },
            }
    # A model whose variables were created outside the scope.
    model = mlp(seed=0)
    try:
        Trainer(model, SCE, keras.optimizers.Adam(1e-2), strategy=strategy)
    except ValueError as error:
        results["outside_scope_error"] = str(error)
    else:
        results["outside_scope_error"] = None
    write_json(os.path.join(out, "mirrored.json"), results)


# -- MultiWorkerMirroredStrategy -----------------------------------------------


def mwms(out, checkpoint_dir):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    index = strategy.cluster_resolver.task_id
    x_train, y_train, _, _ = digits()

    # Which examples does this worker get? The same pipeline as the training
    # data, with the example index in place of x, distributed the way the
    # Trainer distributes (auto-shard policy DATA).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    probe = tf.data.Dataset.from_tensor_slices((np.arange(len(x_train)), y_train)).batch(BATCH)
    seen = []
    for indices, _ in strategy.experimental_distribute_dataset(probe.with_options(options)):
        seen.append([int(i) for i in strategy.experimental_local_results(indices)[0].numpy()])

    with strategy.scope():
        model = mlp(seed=0)
    trainer = Trainer(
        model,
        SCE,
        keras.optimizers.Adam(1e-2),
        metrics=["accuracy"],
        strategy=strategy,
        checkpoint_dir=checkpoint_dir,
    )
    history = trainer.fit(batches(x_train, y_train), epochs=EPOCHS, verbose=0)
    save_weights(os.path.join(out, f"mwms-worker{index}.npz"), model)
    result = {
        "task_id": index,
        "num_replicas_in_sync": strategy.num_replicas_in_sync,
        "seen": seen,
        "history": history_of(history),
        "iterations": int(trainer.optimizer.iterations.numpy()),
    }
    if index == 0:
        # The single-device reference on the same global batches, outside the strategy.
        reference = mlp(seed=0)
        ref_history = Trainer(
            reference, SCE, keras.optimizers.Adam(1e-2), metrics=["accuracy"]
        ).fit(batches(x_train, y_train), epochs=EPOCHS, verbose=0)
        save_weights(os.path.join(out, "mwms-reference.npz"), reference)
        result["reference_history"] = history_of(ref_history)
    write_json(os.path.join(out, f"mwms-worker{index}.json"), result)


# -- ParameterServerStrategy ---------------------------------------------------


def ps_server(cluster, job, index):
    server = tf.distribute.Server(
        tf.train.ClusterSpec(cluster), job_name=job, task_index=index, protocol="grpc", start=True
    )
    server.join()


def ps_coordinator(out, cluster, epochs, steps_per_epoch):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type="chief", task_id=0, rpc_layer="grpc"
    )
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    x_train, y_train, x_test, y_test = digits()
    with strategy.scope():
        model = mlp(seed=0)
        # Counts the training steps the workers ran, with TensorFlow's atomic
        # assign_add (the loss is computed once per step).
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
    )
    # Whole batches only, so that every step sees PS_BATCH examples.
    train = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .batch(PS_BATCH, drop_remainder=True)
        .repeat()
    )
    result = {"batch_size": PS_BATCH}
    try:
        trainer.fit(train, epochs=1, verbose=0)
    except ValueError as error:
        result["missing_steps_error"] = str(error)
    else:
        result["missing_steps_error"] = None
    result["steps_run_after_error"] = int(steps_run.numpy())
    result["before"] = trainer.evaluate(batches(x_test, y_test))
    steps_run.assign(0)  # evaluate computes the loss too
    history = trainer.fit(train, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0)
    result["history"] = history_of(history)
    result["steps_run"] = int(steps_run.numpy())
    result["iterations"] = int(trainer.optimizer.iterations.numpy())
    # The running totals of the last epoch (fit leaves them in place).
    result["last_epoch_counts"] = {
        m.name: float(m.count.numpy()) for m in [trainer.loss_tracker, *trainer.metrics]
    }
    result["evaluate"] = trainer.evaluate(batches(x_test, y_test))
    write_json(os.path.join(out, "ps.json"), result)


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--scenario", required=True, choices=["mirrored", "mwms", "ps-server", "ps-coordinator"]
    )
    parser.add_argument("--out")
    parser.add_argument("--checkpoint-dir")
    parser.add_argument("--cluster", type=json.loads)
    parser.add_argument("--job")
    parser.add_argument("--index", type=int)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=30)
    args = parser.parse_args(argv)
    if args.scenario == "mirrored":
        mirrored(args.out)
    elif args.scenario == "mwms":
        mwms(args.out, args.checkpoint_dir)
    elif args.scenario == "ps-server":
        ps_server(args.cluster, args.job, args.index)
    else:
        ps_coordinator(args.out, args.cluster, args.epochs, args.steps_per_epoch)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
