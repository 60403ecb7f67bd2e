"""`models.config` and batching configuration for TF Serving, built from its own protos."""

import dataclasses
import re

from tfx_ext.arguments import check_int, invalid
from tfx_ext.atomic_files import write_atomically

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


def model_server_config(models):
    """A `ModelServerConfig` proto for `models` (a list of `ModelEntry`), validated."""
    from tensorflow_serving.config import model_server_config_pb2

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
        model.base_path = entry.base_path
        model.model_platform = "tensorflow"
        versions = [check_int("versions", v, minimum=1) for v in (entry.versions or [])]
        if versions:
            model.model_version_policy.specific.versions.extend(versions)
        for label, version in (entry.labels or {}).items():
            if not isinstance(label, str) or not _LABEL.fullmatch(label):
                raise invalid("labels", "labels matching [a-zA-Z0-9_]+", label)
            if version not in versions:
                raise invalid(
                    "labels", f"versions listed in `versions` ({versions}) for model '{entry.name}'", f"{label}={version}"
                )
            model.version_labels[label] = version
    return config


def write_model_config(path, models):
    """Writes a `models.config` text proto (for `--model_config_file`), atomically.

    Example:

    >>> write_model_config("models/models.config", [
    ...     ModelEntry("digits", "/models/digits", versions=[1, 2], labels={"stable": 1, "canary": 2})])
    """
    from google.protobuf import text_format

    return write_atomically(path, text_format.MessageToString(model_server_config(models)))


def read_model_config(path):
    """The `ModelServerConfig` of a `models.config` text file.

    Raises:
        ValueError: naming the file, when it is not a ModelServerConfig in text
            format (TF Serving's wording: "Error parsing text-format ...").
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

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
    """
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
                "allowed_batch_sizes", f"increasing sizes ending at max_batch_size={max_batch_size}", allowed_batch_sizes
            )
        lines += [f"allowed_batch_sizes: {size}" for size in sizes]
    lines.append(f"pad_variable_length_inputs: {'true' if pad_variable_length_inputs else 'false'}")
    return write_atomically(path, "\n".join(lines) + "\n")
