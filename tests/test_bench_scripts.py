"""Every benchmark answers `--help` without running (a benchmark takes minutes)."""

import os
import pathlib
import subprocess
import sys

import tensorflow as tf

BENCH_DIR = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "bench"


class BenchHelpTest(tf.test.TestCase):
    def test_help_prints_usage_and_exits(self):
        scripts = sorted(BENCH_DIR.glob("*.py"))
        self.assertGreaterEqual(len(scripts), 5)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        for script in scripts:
            with self.subTest(script=script.name):
                # A benchmark that started would print its table and run for minutes.
                result = subprocess.run(
                    [sys.executable, str(script), "--help"],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    env=env,
                )
                self.assertEqual(result.returncode, 0, result.stderr[-2000:])
                self.assertTrue(result.stdout.startswith("usage:"), result.stdout[:500])
