"""Advisory, non-blocking, process-wide locks on a lock file (``fcntl.flock``; ``msvcrt.locking`` on Windows).

A lock file holds the pid of its owner, so the process that is refused can say who holds it. The
operating system drops the lock when its owner dies (SIGKILL included): a stale file never blocks.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path


class Locked(Exception):
    """Someone else holds the lock; ``pid`` is theirs when the lock file names it."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is locked" + (f" by pid {pid}" if pid else ""))
        self.path = path
        self.pid = pid


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> int | None:
    """The pid in the lock file; its owner may not have written it yet, so look a few times within 50 ms."""
    for _ in range(10):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            words = os.read(fd, 32).split()
            if words:
                return int(words[0])
        except (OSError, ValueError):
            return None
        time.sleep(0.005)
    return None


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold ``path`` locked for the block; the file is created (0600) and its content is our pid.

    Raises:
        Locked: another process holds it (at once, never waits).
        OSError: the lock file cannot be created.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0), 0o600)
    try:
        if not _try_lock(fd):
            raise Locked(path, _holder(fd))
        with contextlib.suppress(OSError):  # one write of a fixed width: a reader never sees half a pid
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid():<19}\n".encode())
            os.ftruncate(fd, 20)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
