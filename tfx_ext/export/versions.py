"""TF Serving's directory layout: `base_dir/model_name/<integer version>/`.

TF Serving loads a version as soon as its integer directory appears and
ignores other names, so a version is written under a non-integer temporary
name and renamed into place (tensorflow/serving#1086: a server loaded a
half-copied model).
"""

import os
import shutil
import tempfile

TEMP_PREFIX = ".tmp-"


def existing_versions(model_dir):
    """Sorted integer versions present in `model_dir` (other names are ignored, as TF Serving does)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(name) for name in os.listdir(model_dir) if name.isdigit() and int(name) > 0)


def next_version(model_dir):
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def staging_dir(model_dir, version):
    """A fresh temporary directory beside the versions, under a name TF Serving skips."""
    os.makedirs(model_dir, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{version}-", dir=model_dir)


def publish(staged, model_dir, version):
    """Renames a finished export into place; refuses to replace an existing version."""
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target):
        shutil.rmtree(staged, ignore_errors=True)
        raise FileExistsError(
            f"Version {version} of {model_dir} already exists: a served version is never "
            "overwritten. Export a new version instead."
        )
    try:
        os.rename(staged, target)  # atomic on one filesystem; fails if target appeared meanwhile
    except OSError:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return target


def remove_stale_staging(model_dir):
    """Deletes temporary directories left by exports that died (never a version)."""
    if not os.path.isdir(model_dir):
        return []
    removed = []
    for name in os.listdir(model_dir):
        if name.startswith(TEMP_PREFIX):
            shutil.rmtree(os.path.join(model_dir, name), ignore_errors=True)
            removed.append(name)
    return removed
