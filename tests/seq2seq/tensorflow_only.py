"""Marks the tests of TensorFlow-only decoding (see the README's seq2seq section).

The rest of tests/seq2seq and tests/rnn is backend-neutral and runs on the JAX leg
too; these are deselected there with their reason.
"""

import pytest

tensorflow_only = pytest.mark.tf_only(
    "decoding (dynamic_decode, decoders, alignment history) needs the TensorFlow backend"
)
