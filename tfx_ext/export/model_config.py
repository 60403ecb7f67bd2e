"""`models.config` and batching configuration for TF Serving, built from its own protos."""

import dataclasses
import os
import re

from tfx_ext._core.arguments import check_bool, check_int, invalid
from tfx_ext._core.files import write_atomically

_LABEL = re.compile(r"[a-zA-Z0-9_]+")


@dataclasses.dataclass
class ModelEntry:
    """One model served from `base_path`.

    Attributes:
        name: The model name clients ask for.
        base_path: Directory of its integer versions (as the server sees it,
            e.g. `/models/digits` inside a container).
        versions: Versions to serve; None serves the latest only (TF
            Serving's default policy).
        labels: Version labels, e.g. `{"stable": 1, "canary": 2}`; each must
            match `[a-zA-Z0-9_]+` and name a listed version.
    """

    name: str
    base_path: str
    versions: list = None
    labels: dict = None

    def __post_init__(self):
        # A nameless entry would be written and the server could never be asked for it.
        if not isinstance(self.name, str) or not self.name.strip() or "/" in self.name:
            raise invalid("name", "a non-empty model name without '/'", self.name)
        if not isinstance(self.base_path, (str, os.PathLike)) or not str(self.base_path).strip():
            raise invalid("base_path", "a non-empty directory path", self.base_path)
        if self.versions is not None:
            if isinstance(self.versions, (str, bytes)) or not hasattr(self.versions, "__iter__"):
                raise invalid(
                    "versions", "a list of integer versions >= 1, or None", self.versions, TypeError
                )
            self.versions = [check_int("versions", v, minimum=1) for v in self.versions]
        if self.labels is not None and not isinstance(self.labels, dict):
            raise invalid("labels", "a dict {label: version}, or None", self.labels, TypeError)


def model_server_config(models):
    """A `ModelServerConfig` proto for `models`, validated.

    Args:
        models: A non-empty list of `ModelEntry`, with distinct names.

    Returns:
        A `tensorflow_serving.config.ModelServerConfig` proto.

    Raises:
        ValueError: `models` is empty, names repeat, a label is not
            `[a-zA-Z0-9_]+` or names a version that is not listed.
        TypeError: An element of `models` is not a `ModelEntry`.

    Example:

    >>> config = model_server_config([ModelEntry("digits", "/models/digits")])
    """
    from tensorflow_serving.config import model_server_config_pb2

    if isinstance(models, ModelEntry):
        raise invalid("models", "a list of ModelEntry", models, TypeError)
    if not models:
        raise invalid("models", "a non-empty list of ModelEntry", models)
    config = model_server_config_pb2.ModelServerConfig()
    names = set()
    for entry in models:
        if not isinstance(entry, ModelEntry):
            raise invalid("models", "ModelEntry objects", entry, TypeError)
        if entry.name in names:
            raise invalid("models", "distinct model names", entry.name)
        names.add(entry.name)
        model = config.model_config_list.config.add()
        model.name = entry.name
        model.base_path = str(entry.base_path)
        model.model_platform = "tensorflow"
        versions = [check_int("versions", v, minimum=1) for v in (entry.versions or [])]
        if versions:
            model.model_version_policy.specific.versions.extend(versions)
        for label, version in (entry.labels or {}).items():
            if not isinstance(label, str) or not _LABEL.fullmatch(label):
                raise invalid("labels", "labels matching [a-zA-Z0-9_]+", label)
            if version not in versions:
                raise invalid(
                    "labels",
                    f"versions listed in `versions` ({versions}) for model '{entry.name}'",
                    f"{label}={version}",
                )
            model.version_labels[label] = version
    return config


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise invalid("path", "a file path", path, TypeError)
    if os.path.isdir(path):
        raise invalid("path", "a file path, not a directory", str(path))
    return str(path)


def write_model_config(path, models):
    """Writes a `models.config` text proto (for `--model_config_file`), atomically.

    Args:
        path: The file to write (replaced atomically: a server polling it
            never reads half a file).
        models: A non-empty list of `ModelEntry`.

    Returns:
        The path written.

    Raises:
        ValueError, TypeError: As `model_server_config`; nothing is written.

    Example:

    >>> write_model_config("models/models.config", [
    ...     ModelEntry("digits", "/models/digits", versions=[1, 2], labels={"stable": 1, "canary": 2})])
    """
    from google.protobuf import text_format

    path = _check_path(path)
    return write_atomically(path, text_format.MessageToString(model_server_config(models)))


def read_model_config(path):
    """Reads a `models.config` text proto back.

    Args:
        path: A file written by `write_model_config` (or by hand).

    Returns:
        The `ModelServerConfig` proto.

    Raises:
        FileNotFoundError: No file at `path`.
        ValueError: naming the file, when it is not a ModelServerConfig in text
            format (TF Serving's wording: "Error parsing text-format ...").

    Example:

    >>> [m.name for m in read_model_config("models/models.config").model_config_list.config]
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    if not os.path.isfile(path):
        raise FileNotFoundError(f"No models.config file at {str(path)!r} (argument `path`).")
    with open(path) as f:
        text = f.read()
    try:
        return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as error:
        raise ValueError(
            f"Error parsing text-format tensorflow.serving.ModelServerConfig in {path}: {error}"
        ) from None


def write_batching_config(
    path,
    max_batch_size=32,
    batch_timeout_micros=2000,
    max_enqueued_batches=100,
    num_batch_threads=4,
    allowed_batch_sizes=None,
    pad_variable_length_inputs=False,
):
    """Writes a `BatchingParameters` text proto (for `--batching_parameters_file`), atomically.

    `allowed_batch_sizes` must increase and end at `max_batch_size`, as TF
    Serving requires. (The `tensorflow-serving-api` package does not ship the
    `BatchingParameters` proto, so the text format — wrapper fields written as
    `name { value: N }` — is produced here field by field.)

    Args:
        path: The file to write (atomically).
        max_batch_size: Largest batch the server forms, an integer >= 1.
        batch_timeout_micros: Longest wait to fill a batch, an integer >= 0.
        max_enqueued_batches: Queue length, an integer >= 1.
        num_batch_threads: Threads running batches, an integer >= 1.
        allowed_batch_sizes: Optional increasing sizes ending at
            `max_batch_size` (batches are padded up to the next one).
        pad_variable_length_inputs: Whether to pad inputs of varying length.

    Returns:
        The path written.

    Raises:
        ValueError, TypeError: An argument out of range or of the wrong type;
            nothing is written.

    Example:

    >>> write_batching_config("models/batching.config", max_batch_size=32,
    ...                       allowed_batch_sizes=[8, 16, 32])
    """
    path = _check_path(path)
    max_batch_size = check_int("max_batch_size", max_batch_size, minimum=1)
    fields = {
        "max_batch_size": max_batch_size,
        "batch_timeout_micros": check_int("batch_timeout_micros", batch_timeout_micros, minimum=0),
        "max_enqueued_batches": check_int("max_enqueued_batches", max_enqueued_batches, minimum=1),
        "num_batch_threads": check_int("num_batch_threads", num_batch_threads, minimum=1),
    }
    lines = [f"{name} {{ value: {value} }}" for name, value in fields.items()]
    if allowed_batch_sizes:
        sizes = [check_int("allowed_batch_sizes", size, minimum=1) for size in allowed_batch_sizes]
        if any(b <= a for a, b in zip(sizes, sizes[1:])) or sizes[-1] != max_batch_size:
            raise invalid(
                "allowed_batch_sizes",
                f"increasing sizes ending at max_batch_size={max_batch_size}",
                allowed_batch_sizes,
            )
        lines += [f"allowed_batch_sizes: {size}" for size in sizes]
    check_bool("pad_variable_length_inputs", pad_variable_length_inputs)
    lines.append(f"pad_variable_length_inputs: {'true' if pad_variable_length_inputs else 'false'}")
    return write_atomically(path, "\n".join(lines) + "\n")
