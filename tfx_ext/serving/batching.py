"""Server-side batching of Predict calls, as TF Serving's `--enable_batching` does.

`Batcher` wraps a run function `run(key, feeds: {name: ndarray}, fetch) ->
{name: ndarray}`. Concurrent calls to the same signature and fetch list whose
inputs have the same inner shapes and dtypes are concatenated on dimension 0,
up to `max_batch_size` rows; a batch runs when it is full or when its oldest
call has waited `batch_timeout_micros`. The batch is padded up to the next
`allowed_batch_sizes` entry with copies of the first row of its last call (as
TF Serving's batching session pads), run once, and the outputs are split back.
A call larger than `max_batch_size` is refused with TF Serving's text. Calls of
other shapes form their own batches (TF Serving fails them when padding is
off). `pad_variable_length_inputs` is not supported.

TF Serving's defaults (`BasicBatchScheduler::Options`): max_batch_size 1000,
batch_timeout_micros 0, max_enqueued_batches 10.
"""

import threading
import time
from concurrent import futures

import numpy as np

from tfx_ext._core.arguments import check_int, invalid
from tfx_ext.serving.errors import ServingError, invalid_argument


class BatchingParameters:
    """TF Serving's `BatchingParameters` (session_bundle_config.proto), the fields honoured here."""

    def __init__(
        self,
        max_batch_size=1000,
        batch_timeout_micros=0,
        max_enqueued_batches=10,
        num_batch_threads=1,
        allowed_batch_sizes=(),
        pad_variable_length_inputs=False,
    ):
        self.max_batch_size = check_int("max_batch_size", max_batch_size, minimum=1)
        self.batch_timeout_micros = check_int(
            "batch_timeout_micros", batch_timeout_micros, minimum=0
        )
        self.max_enqueued_batches = check_int(
            "max_enqueued_batches", max_enqueued_batches, minimum=1
        )
        self.num_batch_threads = check_int("num_batch_threads", num_batch_threads, minimum=1)
        self.allowed_batch_sizes = [int(size) for size in allowed_batch_sizes]
        if any(b <= a for a, b in zip(self.allowed_batch_sizes, self.allowed_batch_sizes[1:])):
            raise invalid(
                "allowed_batch_sizes", "monotonically increasing entries", self.allowed_batch_sizes
            )
        if self.allowed_batch_sizes and self.allowed_batch_sizes[-1] != self.max_batch_size:
            # TF Serving's text (batching_session.cc)
            raise ValueError(
                "Last entry in allowed_batch_sizes must match max_batch_size; last entry was "
                f"{self.allowed_batch_sizes[-1]}; expected {self.max_batch_size}"
            )
        if pad_variable_length_inputs:
            raise invalid(
                "pad_variable_length_inputs",
                "false (the local server does not pad inner dimensions)",
                True,
            )

    @classmethod
    def from_file(cls, path):
        """Reads TF Serving's text `BatchingParameters` (the `--batching_parameters_file`)."""
        from google.protobuf import text_format

        proto = _batching_parameters_class()()
        with open(path) as f:
            text = f.read()
        try:
            text_format.Parse(text, proto)
        except text_format.ParseError as error:
            raise ValueError(
                f"Error parsing text-format tensorflow.serving.BatchingParameters in {path}: {error}"
            ) from None
        kwargs = {}
        for field in (
            "max_batch_size",
            "batch_timeout_micros",
            "max_enqueued_batches",
            "num_batch_threads",
        ):
            if proto.HasField(field):
                kwargs[field] = getattr(proto, field).value
        return cls(
            allowed_batch_sizes=list(proto.allowed_batch_sizes),
            pad_variable_length_inputs=proto.pad_variable_length_inputs,
            **kwargs,
        )


_MESSAGE = []


def _batching_parameters_class():
    """TF Serving's `tensorflow.serving.BatchingParameters` message, built from its field list
    (session_bundle_config.proto) as the tensorflow-serving-api wheel does not ship it."""
    if _MESSAGE:
        return _MESSAGE[0]
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    file = descriptor_pb2.FileDescriptorProto(
        name="tfx_ext/batching_parameters.proto",
        package="tensorflow.serving",
        dependency=["google/protobuf/wrappers.proto"],
        syntax="proto3",
    )
    message = file.message_type.add(name="BatchingParameters")
    kinds = descriptor_pb2.FieldDescriptorProto
    fields = [
        ("max_batch_size", 1, ".google.protobuf.Int64Value"),
        ("batch_timeout_micros", 2, ".google.protobuf.Int64Value"),
        ("max_enqueued_batches", 3, ".google.protobuf.Int64Value"),
        ("num_batch_threads", 4, ".google.protobuf.Int64Value"),
        ("thread_pool_name", 5, ".google.protobuf.StringValue"),
        ("enable_large_batch_splitting", 8, ".google.protobuf.BoolValue"),
        ("max_execution_batch_size", 9, ".google.protobuf.Int64Value"),
    ]
    for name, number, type_name in fields:
        message.field.add(
            name=name,
            number=number,
            type=kinds.TYPE_MESSAGE,
            type_name=type_name,
            label=kinds.LABEL_OPTIONAL,
        )
    message.field.add(
        name="allowed_batch_sizes", number=6, type=kinds.TYPE_INT64, label=kinds.LABEL_REPEATED
    )
    message.field.add(
        name="pad_variable_length_inputs",
        number=7,
        type=kinds.TYPE_BOOL,
        label=kinds.LABEL_OPTIONAL,
    )
    pool.Add(file)
    _MESSAGE.append(
        message_factory.GetMessageClass(
            pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
        )
    )
    return _MESSAGE[0]


class _Call:
    def __init__(self, feeds, size):
        self.feeds = feeds
        self.size = size
        self.arrived = time.monotonic()
        self.done = threading.Event()
        self.result = None
        self.error = None


def batch_size_of(feeds):
    """The common 0th-dimension size of `feeds`, or TF Serving's INVALID_ARGUMENT (batching_util.cc)."""
    if not feeds:
        raise invalid_argument("Batching Run() must have at least one input tensor")
    sizes = set()
    for array in feeds.values():
        if np.ndim(array) == 0:
            raise invalid_argument("Batching Run() input tensors must have at least one dimension")
        sizes.add(np.shape(array)[0])
    if len(sizes) != 1:
        raise invalid_argument("Batching Run() input tensors must have equal 0th-dimension size")
    return sizes.pop()


class Batcher:
    """Batches concurrent `run(key, feeds, fetch)` calls (see the module docstring).

    Args:
        run: The function run once per batch: `run(key, feeds, fetch) -> {name: ndarray}`.
        parameters: A `BatchingParameters`.

    Example:

    >>> batcher = Batcher(model_run, BatchingParameters(max_batch_size=32, batch_timeout_micros=2000))
    >>> batcher.run("serving_default", {"x": x}, None)
    """

    def __init__(self, run, parameters=None):
        if not callable(run):
            raise invalid("run", "a function run(key, feeds, fetch)", run, TypeError)
        self._run = run
        self.parameters = parameters or BatchingParameters()
        self._queues = {}  # batch key -> [_Call]
        self._lock = threading.Condition()
        self._pool = futures.ThreadPoolExecutor(
            self.parameters.num_batch_threads, thread_name_prefix="batch"
        )
        self._stopped = False
        self._busy = 0  # batches running (at most num_batch_threads); the others wait in the queues
        self._thread = threading.Thread(target=self._schedule, name="batch-scheduler", daemon=True)
        self._thread.start()

    def run(self, key, feeds, fetch=None):
        """Runs `feeds` in a batch with other calls of the same shapes; returns this call's outputs."""
        feeds = {name: np.asarray(value) for name, value in feeds.items()}
        size = batch_size_of(feeds)
        limit = self.parameters.max_batch_size
        if size > limit:
            raise invalid_argument(
                f"Task size {size} is larger than maximum input batch size {limit}"
            )
        batch_key = (
            key,
            None if fetch is None else tuple(fetch),
            tuple(sorted((name, a.shape[1:], a.dtype.str) for name, a in feeds.items())),
        )
        call = _Call(feeds, size)
        with self._lock:
            if self._stopped:
                raise ServingError("UNAVAILABLE", "The batch scheduler is stopped")
            queue = self._queues.setdefault(batch_key, [])
            queued = sum(c.size for c in queue)
            enqueued = -(-queued // limit)
            if queued + size > limit * self.parameters.max_enqueued_batches:
                raise ServingError(  # TF Serving's text (shared_batch_scheduler.h)
                    "UNAVAILABLE",
                    "The batch scheduling queue to which this task was submitted is full; currently "
                    f"{enqueued} batches enqueued and max_enqueued_batches is {self.parameters.max_enqueued_batches}",
                )
            queue.append(call)
            self._lock.notify_all()
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    def _take_ready(self, now):
        """A (batch key, [calls]) ready to run, or the seconds until one may be."""
        timeout = self.parameters.batch_timeout_micros / 1e6
        limit = self.parameters.max_batch_size
        wait = None
        for batch_key, queue in self._queues.items():
            if not queue:
                continue
            taken, rows = [], 0
            for call in queue:
                if rows + call.size > limit:
                    break
                taken.append(call)
                rows += call.size
            full = len(taken) < len(queue) or rows == limit
            due = queue[0].arrived + timeout
            if full or now >= due:
                del queue[: len(taken)]
                return batch_key, taken
            wait = due - now if wait is None else min(wait, due - now)
        return None, wait

    def pending(self):
        """The number of calls waiting for a batch thread."""
        with self._lock:
            return sum(len(queue) for queue in self._queues.values())

    def _schedule(self):
        with self._lock:
            while not self._stopped:
                if self._busy >= self.parameters.num_batch_threads:
                    self._lock.wait()  # a batch thread must free up first
                    continue
                batch_key, ready = self._take_ready(time.monotonic())
                if batch_key is None:
                    self._lock.wait(ready)
                    continue
                self._busy += 1
                self._pool.submit(self._run_batch, batch_key[0], batch_key[1], ready)

    def _run_batch(self, key, fetch, calls):
        try:
            rows = sum(c.size for c in calls)
            padded = _padded_size(rows, self.parameters.allowed_batch_sizes)
            feeds = {}
            for name in calls[0].feeds:
                parts = [c.feeds[name] for c in calls]
                if padded > rows:
                    parts.append(np.repeat(parts[-1][:1], padded - rows, axis=0))
                feeds[name] = np.concatenate(parts, axis=0)
            outputs = self._run(key, feeds, None if fetch is None else list(fetch))
            for value in outputs.values():
                if np.ndim(value) == 0:
                    raise ServingError("INTERNAL", "Batched output tensor has 0 dimensions")
                if np.shape(value)[0] != padded:
                    raise ServingError(
                        "INTERNAL",
                        "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes "
                        "of the input tensors",
                    )
            start = 0
            for call in calls:
                call.result = {
                    name: np.asarray(value)[start : start + call.size]
                    for name, value in outputs.items()
                }
                start += call.size
        except Exception as error:  # every call of the batch gets the batch's error
            for call in calls:
                call.error = error
        finally:
            for call in calls:
                call.done.set()
            with self._lock:
                self._busy -= 1
                self._lock.notify_all()

    def stop(self):
        """Runs what is queued, then stops the scheduler."""
        with self._lock:
            self._stopped = True
            pending = [(k, q) for k, q in self._queues.items() if q]
            self._queues = {}
            self._lock.notify_all()
        for batch_key, queue in pending:
            while queue:
                taken, rows = [], 0
                while queue and (
                    not taken or rows + queue[0].size <= self.parameters.max_batch_size
                ):
                    rows += queue[0].size
                    taken.append(queue.pop(0))
                with self._lock:
                    self._busy += 1
                self._pool.submit(self._run_batch, batch_key[0], batch_key[1], taken)
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True)


def _padded_size(rows, allowed_batch_sizes):
    for size in allowed_batch_sizes:
        if size >= rows:
            return size
    return rows


def batcher_for(version, parameters):
    """A `Batcher` running Predict calls of a loaded version (`inference.run_signature`)."""
    from tfx_ext.serving import inference

    def run(key, feeds, fetch):
        return inference.run_signature(version, key, feeds, fetch)

    return Batcher(run, parameters)
