import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")

import tensorflow as tf  # noqa: E402

# tf.test.TestCase carries a deprecated `test_session` method that pytest would
# collect as a test of every class; it tests nothing.
for _cls in tf.test.TestCase.__mro__:
    if "test_session" in vars(_cls):
        delattr(_cls, "test_session")
