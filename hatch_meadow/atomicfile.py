"""Write files so that a crash, a full disk or Ctrl-C never leaves a half-written or lost file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def save_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename.

    The bytes go to a temporary file in the same folder (so the rename cannot cross file systems),
    created with ``mode`` from the start (a 0600 key is never readable by others, not even briefly),
    flushed with fsync, then renamed over ``path``. The folder is fsynced so the rename is durable.
    ``path`` itself must not be a symlink: callers resolve the target first, or refuse.

    Raises:
        OSError: from the file system; ``path`` is then untouched and no temporary file is left.
    """
    import tempfile  # imported on first write only: the hook's no-op path never needs it

    folder = path.parent
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp_name, mode)  # mkstemp made it 0600; os.chmod works everywhere (os.fchmod not on Windows)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Make renames in ``folder`` durable (where folders can be opened; a no-op on Windows)."""
    # Not every platform can open a directory (Windows cannot); the rename is still atomic there.
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
