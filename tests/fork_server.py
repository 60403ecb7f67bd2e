"""The test side of a fork server: a helper process that imports TensorFlow once and forks
one run per command, so a test can SIGKILL many runs without paying the import each time.

The SIGKILL tests of export (atomic versions) and training (checkpoint resume) drive one:
they write command lines to its stdin and read its reply lines from stdout; every run it
forked and the test has not reaped is killed when the test ends, failed or not.
"""

import os
import select
import signal
import subprocess
import time


class ForkServer:
    """A fork-server process owned by `test` (stopped by `test.addCleanup`).

    Args:
        test: The `tf.test.TestCase` whose assertions report timeouts and exits.
        argv: The server's command line.
        log_path: Where its stderr goes.
        env, cwd: Its environment and working directory.
        describe: A function returning text for failure messages (log tails).
    """

    def __init__(self, test, argv, log_path, env, cwd, describe):
        self.test = test
        self.describe = describe
        self.children = set()  # pids of forked runs not reaped yet
        self.pending = b""
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, cwd=cwd
            )
        test.addCleanup(self.stop)

    def stop(self):
        # Children first: until the server is gone, an unreaped child's pid cannot be reused.
        for pid in self.children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()

    def send(self, line):
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def expect(self, prefix, deadline, skip_others=False):
        """The rest of the next line starting with `prefix`, read before `deadline`
        (`time.monotonic()`). Other lines fail the test unless `skip_others`."""
        fd = self.process.stdout.fileno()
        while True:
            while b"\n" not in self.pending:
                ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
                self.test.assertTrue(
                    ready, msg=f"no {prefix!r} line from the fork server in time; {self.describe()}"
                )
                chunk = os.read(fd, 4096)
                self.test.assertTrue(chunk, msg=f"the fork server exited; {self.describe()}")
                self.pending += chunk
            line, self.pending = self.pending.split(b"\n", 1)
            line = line.decode().strip()
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
            self.test.assertTrue(skip_others, msg=f"expected {prefix!r}, got {line!r}")
