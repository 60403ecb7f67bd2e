"""One training run for the SIGKILL test of tests/training/test_checkpointing.py.

Trains Wide & Deep (dropout, SGD with momentum for the wide part, Nadam for the
deep part) on the digits training split, shuffled arrays in batches of 64,
4 epochs, checkpointing every --checkpoint-every steps (default 5) into
--checkpoint-dir, and resuming from it when it already holds a checkpoint.

After each step it appends a line "epoch batch global_step it_0 it_1" to --log:
global_step = epoch * steps_per_epoch + batch + 1 is counted here from the
epoch/batch indices the Trainer reports, it_j is the iteration counter of
sub-optimizer j. With --kill-after-step K the process SIGKILLs itself right
after step K is logged (before the Trainer's checkpoint logic for that step
runs). A run that finishes writes the model's and the sub-optimizers'
variables to --weights (.npz) and prints "done".

Usage: python tests/training/resumable_run.py --checkpoint-dir DIR --log FILE
           --weights FILE.npz [--kill-after-step K] [--model-seed S]
           [--checkpoint-every N] [--steps-per-execution N]

or, as a fork server (TensorFlow is imported once, then each run is a forked
child; no TensorFlow op runs in the server, so forking is safe):

       python tests/training/resumable_run.py --serve

reads commands on stdin and answers on stdout: "run NAME OUTFILE ARGS..." forks
a child that runs with ARGS (its stdout and stderr go to OUTFILE) and answers
"pid NAME PID"; "wait PID" reaps that child and answers "status PID STATUS"
(the os.waitpid status).
"""

import argparse
import math
import os
import signal
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests.datasets import digits  # noqa: E402
from tests.training.models import wide_and_deep_trainer  # noqa: E402

EPOCHS = 4
BATCH_SIZE = 64
CHECKPOINT_EVERY = 5


class StepLog(keras.callbacks.Callback):
    def __init__(self, path, trainer, steps_per_epoch, kill_after_step):
        super().__init__()
        self.file = open(
            path, "a", buffering=1
        )  # line-buffered: each line reaches the OS before a kill
        self.trainer = trainer
        self.steps_per_epoch = steps_per_epoch
        self.kill_after_step = kill_after_step
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        global_step = self.epoch * self.steps_per_epoch + batch + 1
        iterations = [int(o.iterations.numpy()) for o in self.trainer.optimizer.optimizers]
        self.file.write(f"{self.epoch} {batch} {global_step} {' '.join(map(str, iterations))}\n")
        self.file.flush()
        if global_step == self.kill_after_step:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_end(self, logs=None):
        self.file.close()


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint-dir", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--kill-after-step", type=int, default=None)
    parser.add_argument("--model-seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=CHECKPOINT_EVERY)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    args = parser.parse_args(argv)

    x_train, y_train, _, _ = digits()
    trainer = wide_and_deep_trainer(
        args.checkpoint_dir,
        seed=args.model_seed,
        dropout=0.2,
        checkpoint_every=args.checkpoint_every,
        steps_per_execution=args.steps_per_execution,
    )
    model = trainer.model
    steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)
    log = StepLog(args.log, trainer, steps_per_epoch, args.kill_after_step)
    print("training", flush=True)
    trainer.fit(
        (x_train, y_train), epochs=EPOCHS, batch_size=BATCH_SIZE, callbacks=[log], verbose=0
    )
    arrays = {f"model/{i}": v.numpy() for i, v in enumerate(model.variables)}
    for j, optimizer in enumerate(trainer.optimizer.optimizers):
        arrays.update({f"optimizer_{j}/{i}": v.numpy() for i, v in enumerate(optimizer.variables)})
    np.savez(args.weights, **arrays)
    print("done", flush=True)


def serve():
    digits()  # loaded once, before forking
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.split()
        if command and command[0] == "run":
            name, out, args = command[1], command[2], command[3:]
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    main(args)
                    code = 0
                except BaseException:
                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            print(f"pid {name} {pid}", flush=True)
        elif command and command[0] == "wait":
            _, status = os.waitpid(int(command[1]), 0)
            print(f"status {command[1]} {status}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main(sys.argv[1:])
