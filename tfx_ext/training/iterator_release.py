"""Letting go of `tf.data` iterators off the training thread.

Deleting an iterator stops its threads (prefetching, and with `AUTOTUNE` the
tuning thread) and waits for them. That wait is mostly idle but long: on a
2-core machine a fifth of the deletions took 3-6 ms (median 0.2 ms) in
`scripts/bench/training_loop.py`, a tenth of a small model's epoch on
average. The epoch loop does not need to wait for it, so the last reference
is handed to one background thread that drops it.
"""

import queue
import threading

_pending = queue.Queue()
_worker = None
_lock = threading.Lock()


def _drop_forever():
    while True:
        item = _pending.get()
        del item  # the iterator's threads stop here, off the training thread
        _pending.task_done()


def release(iterator):
    """Drops `iterator` on a background thread (None is ignored).

    The caller must hold no other reference to it.
    """
    global _worker
    if iterator is None:
        return
    with _lock:
        if _worker is None:
            # A daemon thread: an iterator still queued at interpreter exit
            # goes with the process.
            _worker = threading.Thread(
                target=_drop_forever, name="tfx_ext-iterator-release", daemon=True
            )
            _worker.start()
    _pending.put(iterator)


def wait_released():
    """Blocks until every iterator handed to `release` has been dropped."""
    _pending.join()
