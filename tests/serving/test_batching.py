"""Server-side batching (TF Serving's --enable_batching): a NumPy run function, then the server."""

import os
import threading
import time

import numpy as np
import requests
import tensorflow as tf

from tests.export.models import free_port, temp_dir
from tfx_ext.serving import LocalModelServer, inference
from tfx_ext.serving.batching import Batcher, BatchingParameters
from tfx_ext.serving.errors import ServingError


class Recorder:
    """`y = 2 x + 1` row by row, recording the batches it ran (their inputs)."""

    def __init__(self):
        self.batches = []
        self.lock = threading.Lock()

    def __call__(self, key, feeds, fetch):
        with self.lock:
            self.batches.append({name: value.copy() for name, value in feeds.items()})
        return {"y": 2 * feeds["x"] + 1, "key": np.array([key] * len(feeds["x"]))}


def concurrently(batcher, requests_):
    """Runs `[(key, feeds)]` on threads at once; returns their outputs (or errors) in order."""
    results = [None] * len(requests_)
    start = threading.Barrier(len(requests_))

    def call(index, key, feeds):
        start.wait()
        try:
            results[index] = batcher.run(key, feeds, None)
        except ServingError as error:
            results[index] = error

    threads = [threading.Thread(target=call, args=(i, k, f)) for i, (k, f) in enumerate(requests_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


class BatcherTest(tf.test.TestCase):
    def batcher(self, run, **parameters):
        batcher = Batcher(run, BatchingParameters(**parameters))
        self.addCleanup(batcher.stop)
        return batcher

    def test_full_batch_runs_once_and_splits_back(self):
        run = Recorder()
        # A timeout no test would wait for: only a full batch can make these run.
        batcher = self.batcher(run, max_batch_size=6, batch_timeout_micros=60_000_000)
        xs = [np.arange(n, dtype=np.float32).reshape(n, 1) + 10 * n for n in (1, 2, 3)]
        results = concurrently(batcher, [("serving_default", {"x": x}) for x in xs])
        self.assertLen(run.batches, 1)
        self.assertEqual(run.batches[0]["x"].shape, (6, 1))
        for x, result in zip(xs, results):
            self.assertAllEqual(result["y"], 2 * x + 1)
            self.assertEqual(list(result["key"]), ["serving_default"] * len(x))

    def test_padding_to_the_next_allowed_size_with_the_first_row_of_the_last_call(self):
        run = Recorder()
        batcher = self.batcher(
            run, max_batch_size=8, batch_timeout_micros=1000, allowed_batch_sizes=[4, 8]
        )
        x = np.array([[5.0], [6.0], [7.0]], np.float32)
        result = batcher.run("serving_default", {"x": x}, None)
        self.assertAllEqual(run.batches[0]["x"], [[5.0], [6.0], [7.0], [5.0]])  # padded 3 -> 4
        self.assertAllEqual(result["y"], 2 * x + 1)  # the padding row is not returned

    def test_timeout_runs_a_partial_batch(self):
        run = Recorder()
        batcher = self.batcher(run, max_batch_size=100, batch_timeout_micros=1000)
        result = batcher.run("serving_default", {"x": np.ones((2, 3), np.float32)}, None)
        self.assertAllEqual(result["y"], np.full((2, 3), 3.0))
        self.assertLen(run.batches, 1)

    def test_other_shapes_and_signatures_are_not_mixed(self):
        run = Recorder()
        batcher = self.batcher(run, max_batch_size=4, batch_timeout_micros=200_000)
        calls = [
            ("serving_default", {"x": np.ones((1, 2), np.float32)}),
            ("serving_default", {"x": np.ones((1, 3), np.float32)}),
            ("other", {"x": np.ones((1, 2), np.float32)}),
            ("serving_default", {"x": np.ones((1, 2), np.float64)}),
        ]
        results = concurrently(batcher, calls)
        self.assertLen(run.batches, 4)
        for (key, feeds), result in zip(calls, results):
            self.assertAllEqual(result["y"], 2 * feeds["x"] + 1)
            self.assertEqual(list(result["key"]), [key])

    def test_a_call_larger_than_max_batch_size_is_refused(self):
        """TF Serving's shared batch scheduler text."""
        batcher = self.batcher(Recorder(), max_batch_size=4)
        with self.assertRaisesRegex(
            ServingError,
            r"^INVALID_ARGUMENT: Task size 5 is larger than maximum input batch size 4$",
        ):
            batcher.run("serving_default", {"x": np.ones((5, 1), np.float32)}, None)

    def test_inputs_must_share_the_batch_dimension(self):
        batcher = self.batcher(Recorder(), max_batch_size=4)
        with self.assertRaisesRegex(ServingError, "must have equal 0th-dimension size"):
            batcher.run("serving_default", {"x": np.ones((2, 1)), "z": np.ones((3, 1))}, None)
        with self.assertRaisesRegex(ServingError, "must have at least one dimension"):
            batcher.run("serving_default", {"x": np.float32(1.0)}, None)

    def test_a_failing_batch_fails_each_of_its_calls(self):
        def broken(key, feeds, fetch):
            raise ServingError("INVALID_ARGUMENT", "bad batch")

        batcher = self.batcher(broken, max_batch_size=2, batch_timeout_micros=60_000_000)
        results = concurrently(batcher, [("k", {"x": np.ones((1, 1))})] * 2)
        self.assertEqual([str(r) for r in results], ["INVALID_ARGUMENT: bad batch"] * 2)

    def test_a_full_queue_refuses_with_tf_serving_text(self):
        """One batch thread busy, max_enqueued_batches=1 waiting: the next call is UNAVAILABLE."""
        started, release = threading.Event(), threading.Event()

        def slow(key, feeds, fetch):
            started.set()
            release.wait(30)
            return {"y": feeds["x"]}

        batcher = self.batcher(slow, max_batch_size=1, max_enqueued_batches=1, num_batch_threads=1)
        results = []
        threads = [
            threading.Thread(
                target=lambda: results.append(batcher.run("k", {"x": np.ones((1, 1))}, None))
            )
        ]
        threads[0].start()
        self.assertTrue(started.wait(30))
        threads.append(
            threading.Thread(
                target=lambda: results.append(batcher.run("k", {"x": np.ones((1, 1))}, None))
            )
        )
        threads[1].start()
        while batcher.pending() < 1:
            time.sleep(0.01)
        with self.assertRaisesRegex(
            ServingError,
            r"^UNAVAILABLE: The batch scheduling queue to which this task was submitted is full; currently 1 "
            r"batches enqueued and max_enqueued_batches is 1$",
        ):
            batcher.run("k", {"x": np.ones((1, 1))}, None)
        release.set()
        for thread in threads:
            thread.join(timeout=30)
        self.assertLen(results, 2)  # the queued call still ran

    def test_parameters_from_tf_serving_text_file(self):
        path = os.path.join(temp_dir(self), "batching.config")
        with open(path, "w") as f:
            f.write(
                "max_batch_size { value: 32 }\nbatch_timeout_micros { value: 2000 }\n"
                "max_enqueued_batches { value: 100 }\nnum_batch_threads { value: 2 }\n"
                "allowed_batch_sizes: 8\nallowed_batch_sizes: 16\nallowed_batch_sizes: 32\n"
            )
        parameters = BatchingParameters.from_file(path)
        self.assertEqual(
            (
                parameters.max_batch_size,
                parameters.batch_timeout_micros,
                parameters.max_enqueued_batches,
                parameters.num_batch_threads,
                parameters.allowed_batch_sizes,
            ),
            (32, 2000, 100, 2, [8, 16, 32]),
        )
        defaults = BatchingParameters()  # TF Serving's BasicBatchScheduler defaults
        self.assertEqual(
            (defaults.max_batch_size, defaults.batch_timeout_micros, defaults.max_enqueued_batches),
            (1000, 0, 10),
        )

    def test_bad_parameters(self):
        with self.assertRaisesRegex(ValueError, "argument `max_batch_size`"):
            BatchingParameters(max_batch_size=0)
        with self.assertRaisesRegex(
            ValueError, "argument `allowed_batch_sizes`. Expected monotonically increasing"
        ):
            BatchingParameters(max_batch_size=8, allowed_batch_sizes=[4, 4, 8])
        with self.assertRaisesRegex(ValueError, "argument `pad_variable_length_inputs`"):
            BatchingParameters(pad_variable_length_inputs=True)
        with self.assertRaisesRegex(TypeError, "argument `run`"):
            Batcher("not a function")


class ServerBatchingTest(tf.test.TestCase):
    def test_two_concurrent_rest_requests_run_the_model_once(self):
        from tests.serving.test_tf_serving_flags import models_root

        base = os.path.join(models_root(), "my_model")
        port = free_port()
        parameters = BatchingParameters(max_batch_size=2, batch_timeout_micros=60_000_000)
        calls = []
        original = inference._run

        def counting_run(version, key, feeds, fetch=None):
            calls.append({name: np.asarray(t).tolist() for name, t in feeds.items()})
            return original(version, key, feeds, fetch)

        with LocalModelServer(
            model_base_path=base,
            model_name="my_model",
            rest_port=port,
            grpc_port=0,
            batching_parameters=parameters,
        ):
            inference._run = counting_run
            self.addCleanup(setattr, inference, "_run", original)
            url = f"http://127.0.0.1:{port}/v1/models/my_model:predict"
            answers = [None, None]
            start = threading.Barrier(2)

            def post(index, value):
                start.wait()
                answers[index] = requests.post(url, json={"instances": [value]}, timeout=30)

            threads = [threading.Thread(target=post, args=(i, v)) for i, v in enumerate((1.0, 4.0))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        self.assertEqual(
            [a.status_code for a in answers], [200, 200], msg=[a.text for a in answers]
        )
        self.assertAllClose(answers[0].json()["predictions"], [0.5 * 1.0 + 2])
        self.assertAllClose(answers[1].json()["predictions"], [0.5 * 4.0 + 2])
        self.assertLen(calls, 1)  # one model run for both requests
        self.assertCountEqual(calls[0]["x"], [1.0, 4.0])
