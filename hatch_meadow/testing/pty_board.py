"""A simulated Meadow on a pseudo-terminal, for end-to-end tests with a real ``serial.Serial`` (POSIX only).

A daemon thread serves a ``SimulatedMeadow`` on the pty master with bounded ``select`` waits and
ticks its clock; the host opens ``PtyBoard.port`` (the slave) like any serial port. The board keeps
its own slave fd open, so the pty never hangs up: the host may close and reopen the port as often as
it likes (RECONNECT handling, spec §11.2), and frames still flow afterwards.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import threading
import time
import tty
from types import TracebackType
from typing import Final

from hatch_meadow.testing.simulator import SimulatedMeadow

logger = logging.getLogger(__name__)

#: Longest wait in the serving loop: bounds tick latency (watchdog, reboot end) and shutdown time.
POLL_S: Final = 0.02
#: Most bytes moved per read or write; a pty buffers a few KiB anyway.
IO_CHUNK_BYTES: Final = 65536
#: With the ``split_replies`` fault, replies go out in chunks this small...
SPLIT_CHUNK_BYTES: Final = 7
#: ...with this pause between them, so the host sees many short reads.
SPLIT_PAUSE_S: Final = 0.001
#: ``close()`` waits at most this long for the serving thread.
CLOSE_TIMEOUT_S: Final = 1.0


class _Pacer:
    """Keeps the average rate of one direction at or below ``bytes_per_second`` (None: unlimited)."""

    def __init__(self, bytes_per_second: float | None) -> None:
        if bytes_per_second is not None and bytes_per_second <= 0:
            raise ValueError(f"bytes_per_second must be positive, not {bytes_per_second}")
        self.rate = bytes_per_second
        self.ready_at = 0.0

    def allowance(self, wanted: int) -> int:
        """How many bytes to move in one step: about one poll interval's worth when limited."""
        if self.rate is None:
            return wanted
        return max(1, min(wanted, int(self.rate * POLL_S)))

    def spent(self, count: int, now: float) -> None:
        """Account for ``count`` bytes moved at ``now``; idle time earns no credit."""
        if self.rate is not None:
            self.ready_at = max(self.ready_at, now) + count / self.rate


class PtyBoard:
    """Serve a simulated board on a pty until ``close()``.

    Args:
        board: the simulator to serve (a fresh ``SimulatedMeadow()`` if omitted).
        bytes_per_second: cap the average rate of each direction, e.g. 1e6 for USB full-speed benchmarks.
            Host writes back up in the pty, like USB back-pressure (spec §1).

    The ``split_replies`` fault makes replies go out in ≤ 7-byte chunks with short pauses; while the
    board is stalled the master is not read at all, so host writes block once the pty buffer is full.
    """

    def __init__(self, board: SimulatedMeadow | None = None, *, bytes_per_second: float | None = None) -> None:
        self.board = board if board is not None else SimulatedMeadow()
        self._rx = _Pacer(bytes_per_second)
        self._tx = _Pacer(bytes_per_second)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)  # a full pty must not block the loop
        self.port = os.ttyname(self._slave)
        self._outbox = bytearray()
        self._write_after = 0.0
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=f"PtyBoard {self.port}", daemon=True)
        self._thread.start()

    def __enter__(self) -> PtyBoard:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def serving(self) -> bool:
        """True while the serving thread runs."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop serving (within ``CLOSE_TIMEOUT_S``) and close both pty fds. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._thread.join(CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning("PtyBoard %s: serving thread did not stop in time", self.port)
            return  # leave the fds to the thread rather than closing them under it
        os.close(self._master)
        os.close(self._slave)

    # -- the serving thread -----------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            self._outbox += self.board.tick(now)
            can_read = not self.board.stalled and now >= self._rx.ready_at
            write_at = max(self._tx.ready_at, self._write_after)
            can_write = bool(self._outbox) and now >= write_at
            timeout = POLL_S
            if not can_read and not self.board.stalled:
                timeout = min(timeout, self._rx.ready_at - now)
            if self._outbox and not can_write:
                timeout = min(timeout, write_at - now)
            event_at = self.board.next_event_at()
            if event_at is not None:
                timeout = min(timeout, event_at - now)
            readable, writable, _ = select.select(
                [self._master] if can_read else [], [self._master] if can_write else [], [], max(timeout, 0.0))
            if readable:
                self._read_from_host()
            if writable:
                self._write_to_host()

    def _read_from_host(self) -> None:
        try:
            data = os.read(self._master, self._rx.allowance(IO_CHUNK_BYTES))
        except BlockingIOError:
            return
        except OSError as exc:
            # EIO: no slave fd open (cannot happen while we hold ours, but keep polling if it does).
            if exc.errno != errno.EIO:
                logger.debug("PtyBoard %s: read failed: %s", self.port, exc)
            self._stop.wait(POLL_S)
            return
        if not data:
            self._stop.wait(POLL_S)
            return
        now = time.monotonic()
        self._rx.spent(len(data), now)
        self._outbox += self.board.receive(data, now)

    def _write_to_host(self) -> None:
        split = self.board.faults.split_replies
        size = SPLIT_CHUNK_BYTES if split else self._tx.allowance(len(self._outbox))
        try:
            written = os.write(self._master, self._outbox[:size])
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:
                logger.debug("PtyBoard %s: write failed: %s", self.port, exc)
            self._stop.wait(POLL_S)
            return
        del self._outbox[:written]
        now = time.monotonic()
        self._tx.spent(written, now)
        if split:
            self._write_after = now + SPLIT_PAUSE_S
