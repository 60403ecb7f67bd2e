"""The README's Python blocks run as written: in order, in one session, after its preamble."""

import contextlib
import io
import os
import pathlib
import re
import tempfile

import pytest
import tensorflow as tf

from tests.export.models import free_port

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text):
    """`(line number, code)` of every ```python block, in order."""
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```$", text, flags=re.S | re.M):
        blocks.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return blocks


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
class ReadmeTest(tf.test.TestCase):
    def test_python_blocks_run_as_written(self):
        blocks = python_blocks(README.read_text())
        self.assertGreaterEqual(len(blocks), 6)
        self.assertIn("load_digits", blocks[0][1], "the first block is the shared preamble")
        namespace = {"__name__": "readme"}
        cwd = os.getcwd()
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                for index, (line, code) in enumerate(blocks):
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(code, f"README.md:{line}", "exec"), namespace)
                    if index == 0:
                        # TF Serving's own ports may be taken on a shared machine.
                        namespace["rest_port"], namespace["grpc_port"] = free_port(), free_port()
            finally:
                os.chdir(cwd)
        # What the blocks claim: MC statistics per test example, a model pruned
        # to 80%, a parity report, a trained Trainer, a search with a best model.
        self.assertEqual(namespace["prediction"].mean.shape, (150, 10))
        self.assertAllClose(
            namespace["sparsity"].sparsity_report(namespace["final"]).sparsity, 0.8, atol=0.02
        )
        self.assertGreater(namespace["report"].top1_agreement, 0.9)
        self.assertIn("val_accuracy", namespace["history"].history)
        self.assertIsNotNone(namespace["best"])
