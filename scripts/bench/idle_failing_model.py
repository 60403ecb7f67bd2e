"""Benchmark: idle CPU of a local server with a model that fails to load, against one without.

Two `LocalModelServer` processes run side by side (same machine, same time, so
noise hits both): the baseline serves one good model; ours serves the same
model plus one whose only version is broken (what a half-copied export
leaves). After a warm-up (the failed version's retries with backoff happen
there: 1, 2, 4, 8, 16 poll periods), each process's CPU time is read from
/proc over several windows, interleaved, and the ratio printed. Target: at
most 1.2x (before the backoff, a failing version was reloaded at every poll:
about 3x).

Run: .venv/bin/python scripts/bench/idle_failing_model.py [--poll-seconds 1 --warmup 35 --seconds 30]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SERVER = """
import sys
from tfx_ext.serving import LocalModelServer
server = LocalModelServer(sys.argv[1], rest_port=int(sys.argv[2]), grpc_port=int(sys.argv[3]),
                          poll_seconds=float(sys.argv[4])).start()
print("ready", flush=True)
server.wait()
"""

MODEL = """
import sys
import tensorflow as tf

class HalfPlusTwo(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32, name="x")])
    def predict(self, x):
        return {"y": 0.5 * x + 2.0}

module = HalfPlusTwo()
tf.saved_model.save(module, sys.argv[1], signatures={"serving_default": module.predict})
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(base, poll_seconds, env):
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, base, str(free_port()), str(free_port()), str(poll_seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    if process.stdout.readline().strip() != b"ready":
        raise RuntimeError(f"server for {base} did not start (exit code {process.poll()})")
    return process


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=1.0, help="the servers' poll interval (default 1)"
    )
    parser.add_argument(
        "--warmup", type=float, default=35.0, help="seconds before measuring (default 35)"
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="measured seconds in all (default 30)"
    )
    parser.add_argument(
        "--windows", type=int, default=6, help="interleaved measurement windows (default 6)"
    )
    args = parser.parse_args()

    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    with tempfile.TemporaryDirectory(prefix="tfx_ext_bench_idle_") as tmp:
        good, failing = os.path.join(tmp, "good"), os.path.join(tmp, "failing")
        subprocess.run(
            [sys.executable, "-c", MODEL, os.path.join(good, "m", "1")], check=True, env=env
        )
        subprocess.run(["cp", "-r", good, failing], check=True)
        broken = os.path.join(failing, "broken", "00000001")
        os.makedirs(broken)
        with open(os.path.join(broken, "saved_model.pb"), "wb") as f:
            f.write(b"\x00 half-copied")

        baseline, ours = start(good, args.poll_seconds, env), start(failing, args.poll_seconds, env)
        try:
            time.sleep(args.warmup)
            totals = {"baseline": 0.0, "ours": 0.0}
            window = args.seconds / args.windows
            for i in range(args.windows):
                order = [("baseline", baseline), ("ours", ours)]
                if i % 2:
                    order.reverse()  # interleave which process is read first
                before = {name: cpu_seconds(p.pid) for name, p in order}
                time.sleep(window)
                for name, p in order:
                    totals[name] += cpu_seconds(p.pid) - before[name]
        finally:
            for process in (baseline, ours):
                process.terminate()
                process.wait(timeout=20)
    per_minute = {name: 60 * value / args.seconds for name, value in totals.items()}
    print(
        f"idle CPU over {args.seconds:.0f} s after {args.warmup:.0f} s warm-up, poll every {args.poll_seconds} s"
    )
    print(f"baseline (one good model)            : {per_minute['baseline']:.3f} CPU-s per minute")
    print(f"ours (plus a model that fails to load): {per_minute['ours']:.3f} CPU-s per minute")
    ratio = totals["ours"] / totals["baseline"] if totals["baseline"] else float("inf")
    print(f"ratio ours / baseline                 : {ratio:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
