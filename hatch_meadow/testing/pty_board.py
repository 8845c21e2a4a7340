"""A simulated Meadow on a pseudo-terminal, for end-to-end tests with a real ``serial.Serial`` (POSIX only).

A daemon thread serves a ``SimulatedMeadow`` on the pty master with bounded ``poll`` waits and ticks
its clock; the host opens ``PtyBoard.port`` like any serial port. That path is a stable symlink (like
``/dev/serial/by-id/…``) to the current pty, because the board behaves like a USB device:

* the board does not hold the slave side open, so it sees when the host opens and closes the port
  (POLLHUP on the master) and tells the simulator (``host_opened``: the post-boot CONCLUDED is due);
* on a reboot (RECONNECT) it "drops off USB": once the RECONNECT is out, the link is removed and the
  master closed (a host still reading gets an error, as after an unplug), and when the simulated
  reboot ends a fresh pty appears under the same link;
* while the board is not reading (a stall or pause fault) the master is not read at all, so host
  writes block once the pty buffer is full: real back-pressure.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import shutil
import tempfile
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
#: With the ``split_replies`` fault, this pause separates the short writes, so the host sees many short reads.
SPLIT_PAUSE_S: Final = 0.001
#: After a RECONNECT went out, the board stays on USB at most this long (or until the host closes).
UNPLUG_GRACE_S: Final = 0.1
#: ``close()`` waits at most this long for the serving thread.
CLOSE_TIMEOUT_S: Final = 1.0
#: The link's name inside its private folder.
LINK_NAME: Final = "ttyMEADOW0"


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

    Faults the transport carries out: ``split_replies`` (replies in writes of 1..N bytes, short
    pauses between), ``reply_latency_s`` (each burst of replies held back), stall/pause (the master
    is not read).
    """

    def __init__(self, board: SimulatedMeadow | None = None, *, bytes_per_second: float | None = None) -> None:
        self.board = board if board is not None else SimulatedMeadow()
        self._rx = _Pacer(bytes_per_second)
        self._tx = _Pacer(bytes_per_second)
        self._folder = tempfile.mkdtemp(prefix="hatch-meadow-pty-")
        #: The path the host opens: a symlink to the current pty (it vanishes while the board reboots).
        self.port = os.path.join(self._folder, LINK_NAME)
        self._master: int | None = None
        self._plug()
        self._outbox = bytearray()
        self._write_after = 0.0
        self._attached = False
        self._reboots_seen = self.board.reboots_started
        self._unplug_at: float | None = None
        self.unplugs = 0
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

    @property
    def plugged(self) -> bool:
        """True while the port exists (False during a simulated reboot)."""
        return self._master is not None

    def close(self) -> None:
        """Stop serving (within ``CLOSE_TIMEOUT_S``), close the pty and remove the link. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._thread.join(CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning("PtyBoard %s: serving thread did not stop in time", self.port)
            return  # leave the fds to the thread rather than closing them under it
        self._unplug()
        shutil.rmtree(self._folder, ignore_errors=True)

    # -- USB presence -------------------------------------------------------------------------------

    def _plug(self) -> None:
        """A fresh pty under the stable link; the board does not keep the slave open."""
        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(master, False)  # a full pty must not block the loop
        staging = self.port + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
        os.symlink(name, staging)
        os.replace(staging, self.port)
        self._master = master

    def _unplug(self) -> None:
        if self._master is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port)
        os.close(self._master)
        self._master = None
        self.unplugs += 1
        if self._attached:
            self._attached = False
            self.board.host_closed(time.monotonic())
        self._outbox.clear()  # what was not delivered is lost with the connection

    def _track_reboot(self, now: float) -> None:
        """Drop off USB after a RECONNECT went out; come back when the simulated reboot is over."""
        late = self.board.faults.late_unplug_s
        if self.board.reboots_started != self._reboots_seen:
            self._reboots_seen = self.board.reboots_started
            self._unplug_at = now + (UNPLUG_GRACE_S if late is None else late)
        if self._unplug_at is not None and self._master is not None and (
                now >= self._unplug_at or (late is None and not self._outbox and not self._attached)):
            self._unplug_at = None
            self._unplug()
        if self._master is None and self._unplug_at is None and not self.board.rebooting:
            self._plug()


    # -- the serving thread -----------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            self._queue(self.board.tick(now), now)
            self._track_reboot(now)
            master = self._master
            if master is None:
                self._stop.wait(POLL_S / 4)
                continue
            self._poll(master, now)

    def _queue(self, data: bytes, now: float) -> None:
        if not data:
            return
        if not self._attached:
            return  # nobody is listening: the board's output goes nowhere
        if self._unplug_at is not None:
            return  # the connection dies with the reboot: what the board says next is for the new one
        if not self._outbox:
            self._write_after = max(self._write_after, now + self.board.faults.reply_latency_s)
        self._outbox += data

    def _poll(self, master: int, now: float) -> None:
        can_read = self._attached and self.board.reading(now) and now >= self._rx.ready_at
        write_at = max(self._tx.ready_at, self._write_after)
        can_write = self._attached and bool(self._outbox) and now >= write_at
        timeout = POLL_S
        if self._attached and self.board.reading(now) and not can_read:
            timeout = min(timeout, self._rx.ready_at - now)
        if self._outbox and not can_write:
            timeout = min(timeout, write_at - now)
        event_at = self.board.next_event_at()
        if event_at is not None:
            timeout = min(timeout, event_at - now)
        if self._unplug_at is not None:
            timeout = min(timeout, self._unplug_at - now)
        # POLLHUP (nobody has the slave open) tells whether the host holds the port; select() then waits
        # with microsecond timeouts (poll() rounds up to whole milliseconds, which would slow the pacer).
        poller = select.poll()
        poller.register(master, 0)
        attached = not any(revents & select.POLLHUP for _, revents in poller.poll(0))
        if attached != self._attached:
            self._attached = attached
            if self._unplug_at is None:  # opening the dying port after a RECONNECT reaches no board
                (self.board.host_opened if attached else self.board.host_closed)(time.monotonic())
            if not attached:
                self._outbox.clear()
            return
        if not attached:
            self._stop.wait(min(POLL_S, max(timeout, 0.0)))  # nobody is listening: nothing to read or write
            return
        readable, writable, _ = select.select(
            [master] if can_read else [], [master] if can_write else [], [], max(timeout, 0.0))
        if readable:
            self._read_from_host(master)
        if writable:
            self._write_to_host(master)

    def _read_from_host(self, master: int) -> None:
        try:
            data = os.read(master, self._rx.allowance(IO_CHUNK_BYTES))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: the host closed the port meanwhile
                logger.debug("PtyBoard %s: read failed: %s", self.port, exc)
            return
        if not data:
            return
        now = time.monotonic()
        self._rx.spent(len(data), now)
        if self._unplug_at is not None:
            return  # written to the dying port after a RECONNECT: lost, as on a real board
        self._queue(self.board.receive(data, now), now)

    def _write_to_host(self, master: int) -> None:
        split = self.board.faults.split_replies
        size = self.board.split_size() if split else self._tx.allowance(len(self._outbox))
        try:
            written = os.write(master, self._outbox[:size])
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno != errno.EIO:
                logger.debug("PtyBoard %s: write failed: %s", self.port, exc)
            return
        del self._outbox[:written]
        now = time.monotonic()
        self._tx.spent(written, now)
        if split:
            self._write_after = now + SPLIT_PAUSE_S
