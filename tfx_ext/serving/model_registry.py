"""The models a local server serves: versions loaded from disk as they appear."""

import os
import threading

from tfx_ext.export.inspect import inspect_saved_model
from tfx_ext.export.versions import existing_versions
from tfx_ext.serving.errors import invalid_argument, not_found


class ServedModel:
    """One model name: its loaded versions, labels and version policy.

    With `versions=None` the latest version is served (TF Serving's default
    policy); otherwise exactly the listed versions, once they exist.
    """

    def __init__(self, name, base_path, versions=None, labels=None):
        self.name = name
        self.base_path = base_path
        self.policy_versions = list(versions) if versions else None
        self.labels = dict(labels or {})
        self.loaded = {}  # version -> (tf.saved_model object, signature infos)
        self.lock = threading.Lock()

    def wanted_versions(self):
        present = existing_versions(self.base_path)
        if self.policy_versions is None:
            return present[-1:]
        return [v for v in self.policy_versions if v in present]

    def refresh(self):
        """Loads newly wanted versions and unloads versions no longer wanted."""
        import tensorflow as tf

        wanted = self.wanted_versions()
        for version in wanted:
            if version not in self.loaded:
                path = os.path.join(self.base_path, str(version))
                loaded = tf.saved_model.load(path)
                with self.lock:
                    self.loaded[version] = (loaded, inspect_saved_model(path))
        with self.lock:
            for version in list(self.loaded):
                if version not in wanted:
                    del self.loaded[version]

    def resolve(self, version=None, label=None):
        """(version, loaded model, signature infos) for a request, or a NOT_FOUND error."""
        with self.lock:
            if label is not None:
                if label not in self.labels:
                    raise invalid_argument(f"Unrecognized servable version label: {label}")
                version = self.labels[label]
            if version is None:
                if not self.loaded:
                    raise not_found(f"Servable not found for request: Latest({self.name})")
                version = max(self.loaded)
            version = int(version)
            if version not in self.loaded:
                raise not_found(f"Servable not found for request: Specific({self.name}, {version})")
            loaded, infos = self.loaded[version]
            return version, loaded, infos


def signature_def_map(model, version):
    """The `SignatureDefMap` of a served version (what metadata requests return)."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow_serving.apis import get_model_metadata_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(model.base_path, str(version), "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, sig in proto.meta_graphs[0].signature_def.items():
        if not key.startswith("__"):
            signature_map.signature_def[key].CopyFrom(sig)
    return signature_map


class ModelRegistry:
    """Models by name, refreshed from disk by a background thread every `poll_seconds`."""

    def __init__(self, models, poll_seconds=1.0):
        self.models = {m.name: m for m in models}
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = None

    @classmethod
    def from_base_dir(cls, base_dir, poll_seconds=1.0):
        """Every subdirectory of `base_dir` is a model (latest-version policy)."""
        names = sorted(
            name for name in os.listdir(base_dir)
            if os.path.isdir(os.path.join(base_dir, name)) and not name.startswith(".")
        )
        return cls([ServedModel(n, os.path.join(base_dir, n)) for n in names], poll_seconds)

    @classmethod
    def from_model_config(cls, path, poll_seconds=1.0):
        """The models of a `models.config` (relative base paths are relative to the file)."""
        from tfx_ext.export.model_config import read_model_config

        config = read_model_config(path)
        here = os.path.dirname(os.path.abspath(path))
        models = []
        for entry in config.model_config_list.config:
            base = entry.base_path if os.path.isabs(entry.base_path) else os.path.join(here, entry.base_path)
            versions = list(entry.model_version_policy.specific.versions) or None
            models.append(ServedModel(entry.name, base, versions, dict(entry.version_labels)))
        return cls(models, poll_seconds)

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
        while not self._stop.wait(self.poll_seconds):
            self.refresh_each()

    def refresh_each(self):
        """Refreshes every model on its own: a version that fails to load (as TF
        Serving, the server keeps going) must not stop the others from updating.
        Returns {model name: error} for the models that failed."""
        failures = {}
        for model in list(self.models.values()):
            try:
                model.refresh()
            except Exception as error:
                failures[model.name] = error
        return failures

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
