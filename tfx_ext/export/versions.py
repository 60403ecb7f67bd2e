"""TF Serving's directory layout: `base_dir/model_name/<integer version>/`.

A version directory's name is its number in decimal digits, zero-padded or
not (`00000123` is version 123, as TF Serving's own test models are laid
out); the directory is opened under its real name.

TF Serving loads a version as soon as its integer directory appears and
ignores other names, so a version is written under a non-integer temporary
name and renamed into place (tensorflow/serving#1086: a server loaded a
half-copied model).
"""

import os
import re
import shutil
import tempfile

from tfx_ext._core.arguments import invalid

TEMP_PREFIX = ".tmp-"
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²" and other digits
_MAX_VERSION = 2**63 - 1  # TF Serving's versions are int64


def parse_version(name):
    """The version a directory name stands for (`"00000123"` -> 123), or None."""
    if not _DIGITS.fullmatch(name):
        return None
    version = int(name)
    return version if 0 < version <= _MAX_VERSION else None


def version_directories(model_dir):
    """`{version: directory name}` of the versions in `model_dir` (other names are ignored,
    as TF Serving does). When two names give one number (`7` and `007`), the shorter wins."""
    if not os.path.isdir(model_dir):
        return {}
    found = {}
    for name in sorted(os.listdir(model_dir), key=lambda n: (len(n), n), reverse=True):
        version = parse_version(name)
        if version is not None and os.path.isdir(os.path.join(model_dir, name)):
            found[version] = name
    return dict(sorted(found.items()))


def existing_versions(model_dir):
    """Sorted integer versions present in `model_dir`."""
    return list(version_directories(model_dir))


def next_version(model_dir):
    """One more than the highest version in `model_dir` (1 when it has none or does not exist).

    Raises:
        ValueError: if `model_dir` exists and is not a directory.
    """
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise invalid(
            "model_dir", "a directory of versions (or a path that does not exist yet)", model_dir
        )
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def staging_dir(model_dir, version):
    """A fresh temporary directory beside the versions, under a name TF Serving skips."""
    os.makedirs(model_dir, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{version}-", dir=model_dir)


def publish(staged, model_dir, version):
    """Renames a finished export into place; refuses to replace an existing version
    (under any spelling of its number, `7` or `007`)."""
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target) or version in version_directories(model_dir):
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
