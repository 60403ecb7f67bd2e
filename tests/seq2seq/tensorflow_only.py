"""Marks the tests of TensorFlow-only decoding (see the README's seq2seq section)."""

import unittest

import keras

tensorflow_only = unittest.skipIf(
    keras.backend.backend() != "tensorflow",
    "decoding (dynamic_decode, decoders, alignment history) needs the TensorFlow backend",
)
