"""Iterators are dropped off the training thread, and really dropped."""

import gc
import queue
import threading
import time
import weakref
from unittest import mock

import numpy as np
import tensorflow as tf

from tfx_ext.training import iterator_release


class _SlowToDelete:
    """Stands for an iterator whose deletion waits for its threads."""

    deleted_on = []

    def __del__(self):
        time.sleep(0.2)
        _SlowToDelete.deleted_on.append(threading.current_thread().name)


class ReleaseTest(tf.test.TestCase):
    def test_the_deletion_runs_on_another_thread_and_completes(self):
        item = _SlowToDelete()
        alive = weakref.ref(item)
        iterator_release.release(item)
        del item
        iterator_release.wait_released()
        gc.collect()
        self.assertIsNone(alive())
        self.assertNotEqual(_SlowToDelete.deleted_on[-1], threading.current_thread().name)

    def test_none_is_ignored(self):
        # On a fresh module state (no worker yet, an empty queue), None starts no
        # thread, queues nothing, and `release` returns None as for any iterator.
        fresh = queue.Queue()
        threads_before = {t.ident for t in threading.enumerate()}
        with (
            mock.patch.object(iterator_release, "_worker", None),
            mock.patch.object(iterator_release, "_pending", fresh),
        ):
            self.assertIsNone(iterator_release.release(None))
            self.assertIsNone(iterator_release._worker)
            self.assertEqual(fresh.qsize(), 0)
            self.assertEqual(fresh.unfinished_tasks, 0)
            iterator_release.wait_released()  # returns at once: nothing is pending
        self.assertEqual({t.ident for t in threading.enumerate()} - threads_before, set())

    def test_released_tf_data_iterators_stop_their_pipeline(self):
        # A generator dataset's Python generator is closed when its iterator is deleted.
        closed = []

        def generate():
            try:
                for i in range(1000):
                    yield np.float32(i)
            finally:
                closed.append(True)

        dataset = tf.data.Dataset.from_generator(
            generate, output_signature=tf.TensorSpec([], tf.float32)
        ).prefetch(4)
        iterator = iter(dataset)
        self.assertEqual(float(next(iterator)), 0.0)
        iterator_release.release(iterator)
        del iterator
        iterator_release.wait_released()
        for _ in range(50):  # the generator is finalized by tf.data's own thread
            if closed:
                break
            time.sleep(0.02)
        self.assertEqual(closed, [True])
