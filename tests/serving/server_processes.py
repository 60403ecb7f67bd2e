"""A local model server in a subprocess, stopped when the test ends (the CLI tests share it)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_server_process(test, code_or_module, args, cwd):
    """`python -c CODE ARGS` (or `-m MODULE` when `code_or_module` starts with `-m `), stdout piped;
    terminated (killed after 20 s) at the test's cleanup."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    launcher = (
        ["-m", code_or_module[3:]] if code_or_module.startswith("-m ") else ["-c", code_or_module]
    )
    process = subprocess.Popen(
        [sys.executable, *launcher, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )

    def stop():
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()

    test.addCleanup(stop)
    return process
