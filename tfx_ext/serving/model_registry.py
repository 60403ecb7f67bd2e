"""The models a local server serves: versions loaded from disk as they appear.

As TF Serving: version directories may be zero-padded (`00000123` is version
123, opened under its own name); a version that fails to load is reported
(state END with its error) and retried with exponential backoff, a bounded
number of times, then again only when its files change; the last good
version keeps serving meanwhile. A `models.config` can be re-read on a poll
interval (`--model_config_file_poll_wait_seconds`).
"""

import dataclasses
import os
import threading
import time

from tfx_ext.export.versions import version_directories
from tfx_ext.serving.errors import code_of, invalid_argument, not_found
from tfx_ext.serving.servables import load_servable

MAX_LOAD_RETRIES = 5  # TF Serving's --max_num_load_retries default


@dataclasses.dataclass
class LoadedVersion:
    version: int
    path: str
    servable: object  # runs the signatures (tfx_ext.serving.servables: TF2 function or TF1 session)
    signature_defs: dict  # name -> SignatureDef proto, as saved_model.pb has them
    batcher: object = None  # a batching.Batcher for Predict calls (--enable_batching), else None


@dataclasses.dataclass
class VersionState:
    state: str  # START, LOADING, AVAILABLE, UNLOADING, END (ModelVersionStatus.State)
    error_code: str = "OK"
    error_message: str = ""


@dataclasses.dataclass
class _Failure:
    attempts: int
    next_try: float
    fingerprint: tuple


def _fingerprint(path):
    """Cheap change detector for a version directory (no file is read)."""
    stats = []
    for name in ("", "saved_model.pb", "variables"):
        try:
            st = os.stat(os.path.join(path, name))
            stats.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stats.append(None)
    return tuple(stats)


class ServedModel:
    """One model name: its loaded versions, their states, labels and version policy.

    With `versions=None` the latest version is served (TF Serving's default
    policy); otherwise exactly the listed versions, once they exist.
    """

    def __init__(
        self,
        name,
        base_path,
        versions=None,
        labels=None,
        retry_seconds=1.0,
        warmup=True,
        batching=None,
    ):
        self.name = name
        self.batching = batching  # batching.BatchingParameters, or None
        self.warmup = warmup  # replay assets.extra warmup requests before AVAILABLE
        self.base_path = base_path
        self.policy_versions = list(versions) if versions else None
        self.labels = dict(labels or {})
        self.retry_seconds = retry_seconds
        self.versions = {}  # version -> LoadedVersion
        self.states = {}  # version -> VersionState (what GetModelStatus reports)
        self._failures = {}  # version -> _Failure
        self.lock = threading.RLock()

    def _wanted(self, present):
        if self.policy_versions is None:
            return sorted(present)[-1:]
        return [v for v in self.policy_versions if v in present]

    def _may_try(self, version, path, now):
        failure = self._failures.get(version)
        if failure is None:
            return True
        if _fingerprint(path) != failure.fingerprint:
            return True  # the files changed: a fixed version loads at the next poll
        return failure.attempts <= MAX_LOAD_RETRIES and now >= failure.next_try

    def _load(self, version, path, now):
        fingerprint = _fingerprint(path)
        with self.lock:
            self.states[version] = VersionState("LOADING")
        try:
            served = LoadedVersion(version, path, *load_servable(path))
            if self.warmup:
                from tfx_ext.serving.warmup_replay import replay_warmup

                replay_warmup(served)
        except Exception as error:  # any load failure: report it, keep serving the others
            attempts = self._failures[version].attempts + 1 if version in self._failures else 1
            delay = self.retry_seconds * 2 ** (attempts - 1)
            self._failures[version] = _Failure(attempts, now + delay, fingerprint)
            message = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            with self.lock:
                self.states[version] = VersionState(
                    "END",
                    "NOT_FOUND" if isinstance(error, FileNotFoundError) else code_of(error),
                    f"Failed to load version {version}: {message}",
                )
            return False
        self._failures.pop(version, None)
        if self.batching is not None:
            from tfx_ext.serving.batching import batcher_for

            served.batcher = batcher_for(served, self.batching)
        with self.lock:
            self.versions[version] = served
            self.states[version] = VersionState("AVAILABLE")
        return True

    def refresh(self, now=None):
        """Loads newly wanted versions; unloads the unwanted ones once a wanted one serves."""
        now = time.monotonic() if now is None else now
        present = version_directories(self.base_path)
        wanted = self._wanted(present)
        for version in wanted:
            if version in self.versions:
                continue
            path = os.path.join(self.base_path, present[version])
            if self._may_try(version, path, now):
                self._load(version, path, now)
        with self.lock:
            if any(v in self.versions for v in wanted) or not wanted:
                for version in list(self.versions):
                    if version not in wanted:
                        if self.versions[version].batcher is not None:
                            self.versions[version].batcher.stop()
                        del self.versions[version]
                        self.states[version] = VersionState("END")
            for version in list(self._failures):
                if version not in present:
                    del self._failures[version]
                    self.states.pop(version, None)

    def resolve(self, version=None, label=None):
        """The `LoadedVersion` a request asks for, or TF Serving's NOT_FOUND / INVALID_ARGUMENT."""
        with self.lock:
            if label is not None:
                if label not in self.labels:
                    raise invalid_argument(f"Unrecognized servable version label: {label}")
                version = self.labels[label]
            if version is None:
                if not self.versions:
                    raise not_found(f"Servable not found for request: Latest({self.name})")
                version = max(self.versions)
            version = int(version)
            if version not in self.versions:
                raise not_found(f"Servable not found for request: Specific({self.name}, {version})")
            return self.versions[version]

    def status(self, version=None):
        """`[(version, VersionState)]` as GetModelStatus reports them (labels are ignored, as TF Serving)."""
        with self.lock:
            if version is not None:
                if version not in self.states:
                    raise not_found(f"Could not find version {version} of model {self.name}")
                return [(version, self.states[version])]
            if not self.states:
                raise not_found(f"Could not find any versions of model {self.name}")
            return sorted(self.states.items())


def signature_def_map(model, version):
    """The `SignatureDefMap` of a served version (what metadata requests return)."""
    from tensorflow_serving.apis import get_model_metadata_pb2

    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, sig in model.resolve(version).signature_defs.items():
        signature_map.signature_def[key].CopyFrom(sig)
    return signature_map


def _models_from_config(path, retry_seconds, warmup=True, batching=None):
    from tfx_ext.export.model_config import read_model_config

    config = read_model_config(path)
    here = os.path.dirname(os.path.abspath(path))
    models = []
    for entry in config.model_config_list.config:
        base = (
            entry.base_path
            if os.path.isabs(entry.base_path)
            else os.path.join(here, entry.base_path)
        )
        versions = list(entry.model_version_policy.specific.versions) or None
        models.append(
            ServedModel(
                entry.name,
                base,
                versions,
                dict(entry.version_labels),
                retry_seconds,
                warmup,
                batching,
            )
        )
    return models


class ModelRegistry:
    """Models by name, refreshed from disk by a background thread every `poll_seconds`;
    the `models.config` (if any) re-read every `config_poll_seconds` (0: never)."""

    def __init__(
        self,
        models,
        poll_seconds=1.0,
        config_file=None,
        config_poll_seconds=0,
        warmup=True,
        batching=None,
    ):
        self.warmup = warmup
        self.batching = batching
        self.models = {m.name: m for m in models}
        self.poll_seconds = poll_seconds
        self.config_file = config_file
        self.config_poll_seconds = config_poll_seconds
        self._config_stamp = self._stamp()
        self._stop = threading.Event()
        self._thread = None
        self.failures = {}

    @classmethod
    def from_base_dir(cls, base_dir, poll_seconds=1.0, warmup=True, batching=None):
        """Every subdirectory of `base_dir` is a model (latest-version policy)."""
        names = sorted(
            name
            for name in os.listdir(base_dir)
            if os.path.isdir(os.path.join(base_dir, name)) and not name.startswith(".")
        )
        models = [
            ServedModel(
                n,
                os.path.join(base_dir, n),
                retry_seconds=poll_seconds,
                warmup=warmup,
                batching=batching,
            )
            for n in names
        ]
        return cls(models, poll_seconds, warmup=warmup, batching=batching)

    @classmethod
    def from_model_base_path(
        cls, model_name, model_base_path, poll_seconds=1.0, warmup=True, batching=None
    ):
        """One model, `model_name`, whose versions are the subdirectories of `model_base_path`
        (TF Serving's `--model_name` / `--model_base_path`)."""
        model = ServedModel(
            model_name,
            model_base_path,
            retry_seconds=poll_seconds,
            warmup=warmup,
            batching=batching,
        )
        return cls([model], poll_seconds, warmup=warmup, batching=batching)

    @classmethod
    def from_model_config(
        cls, path, poll_seconds=1.0, config_poll_seconds=0, warmup=True, batching=None
    ):
        """The models of a `models.config` (relative base paths are relative to the file)."""
        models = _models_from_config(path, poll_seconds, warmup, batching)
        return cls(models, poll_seconds, path, config_poll_seconds, warmup, batching)

    def _stamp(self):
        if self.config_file is None:
            return None
        try:
            st = os.stat(self.config_file)
            return (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            return None

    def reload_config(self):
        """Re-reads the `models.config`: new models are added, dropped ones unloaded, and the
        policy and labels of the others updated (a bad file keeps the current config)."""
        try:
            models = _models_from_config(
                self.config_file, self.poll_seconds, self.warmup, self.batching
            )
        except Exception:  # a half-written or malformed file: keep serving what we have
            return False
        current = dict(self.models)
        updated = {}
        for model in models:
            old = current.get(model.name)
            if old is not None and old.base_path == model.base_path:
                with old.lock:
                    old.policy_versions = model.policy_versions
                    old.labels = model.labels
                model = old
            updated[model.name] = model
        self.models = updated
        return True

    def get(self, name):
        model = self.models.get(name)
        if model is None:
            raise not_found(f"Servable not found for request: Latest({name})")
        return model

    def start(self):
        self.failures = self.refresh_each()
        self._thread = threading.Thread(target=self._poll, name="model-registry-poll", daemon=True)
        self._thread.start()

    def _poll(self):
        next_config = time.monotonic() + (self.config_poll_seconds or 0)
        wait = min(self.poll_seconds, self.config_poll_seconds or self.poll_seconds)
        while not self._stop.wait(wait):
            if self.config_poll_seconds and time.monotonic() >= next_config:
                next_config = time.monotonic() + self.config_poll_seconds
                stamp = self._stamp()
                if stamp != self._config_stamp and self.reload_config():
                    self._config_stamp = stamp
            self.refresh_each()

    def refresh_each(self):
        """Refreshes every model on its own: a version that fails to load must not stop
        the others from updating. Returns {model name: error message} of failed loads."""
        failures = {}
        for model in list(self.models.values()):
            try:
                model.refresh()
            except Exception as error:  # e.g. the base path vanished
                failures[model.name] = str(error)
            for state in list(model.states.values()):
                if state.error_code != "OK":
                    failures[model.name] = state.error_message
        return failures

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for model in list(self.models.values()):
            for served in list(model.versions.values()):
                if served.batcher is not None:
                    served.batcher.stop()
