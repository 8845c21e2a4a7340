"""Write files so that a crash, a full disk or Ctrl-C never leaves a half-written or lost file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def save_atomic(path: Path, data: bytes, *, mode: int = 0o644, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` with ``data`` in one rename.

    The bytes go to a temporary file in the same folder (so the rename cannot cross file systems),
    created with ``mode`` from the start (a 0600 key is never readable by others, not even briefly),
    flushed with fsync, then renamed over ``path``. The folder is fsynced so the rename is durable.
    ``path`` itself must not be a symlink: callers resolve the target first, or refuse. ``owner`` (uid, gid)
    is given to the new file before the rename when it differs from the writer's; by default, the owner and
    group of the file being replaced, so a rewrite never changes them (see ``ownership_problem``).

    Raises:
        OSError: from the file system; ``path`` is then untouched and no temporary file is left.
            PermissionError when the file's owner or group could not be kept.
    """
    if owner is None:
        owner = _owner_to_keep(path)

    folder = path.parent
    fd, tmp_name = _new_temp(folder, path.name)
    try:
        os.chmod(tmp_name, mode)  # made 0600; os.chmod works everywhere (os.fchmod not on Windows)
        if owner is not None and hasattr(os, "chown"):
            made = os.stat(tmp_name)
            if (made.st_uid, made.st_gid) != owner:
                os.chown(tmp_name, *owner)
                os.chmod(tmp_name, mode)  # chown clears set-id bits
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


def _new_temp(folder: Path, name: str) -> tuple[int, str]:
    """A new, empty 0600 file ``.NAME.<random>.tmp`` in ``folder``, opened for writing (what tempfile.mkstemp
    does: O_EXCL, no symlink followed; without importing tempfile, which costs a short command ~2 ms)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        candidate = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(candidate, flags, 0o600), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary name for {name}")


def _owner_to_keep(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    problem = ownership_problem(info)
    if problem is not None:
        import errno

        raise PermissionError(errno.EPERM, problem, str(path))
    return info.st_uid, info.st_gid


def ownership_problem(info: os.stat_result) -> str | None:
    """Why this process cannot replace a file with ``info`` and keep its owner and group, or None."""
    if not hasattr(os, "geteuid"):  # Windows: a rename keeps no POSIX owner to lose
        return None
    euid = os.geteuid()
    if euid == 0:
        return None
    if info.st_uid != euid:
        return f"belongs to another user (uid {info.st_uid}); rewriting it would make it yours"
    if info.st_gid != os.getegid() and info.st_gid not in os.getgroups():
        return f"belongs to group {info.st_gid}, which you are not in; rewriting it would change its group"
    return None


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
