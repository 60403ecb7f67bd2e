"""Files that another process may read (a `.tflite`, a `models.config`) appear whole.

The content goes to a temporary sibling, is flushed to disk, then renamed over
the target (`os.replace` is atomic on one filesystem); on failure the
temporary file is removed and the target is untouched.
"""

import os
import tempfile


def write_atomically(path, content):
    """Writes `content` (bytes or str) to `path` atomically; returns `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(str(path))[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
