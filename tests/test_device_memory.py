"""MeadowDevice over an in-memory transport wired straight to the simulated board: the device layer's
logic (sync, retries, reboots, file operations) without a pty, in real time but fast."""

from __future__ import annotations

import time

import pytest

from hatch_meadow.device import MeadowDevice, Timeouts
from hatch_meadow.errors import DeviceRejectedError, DeviceTimeoutError, PortNotFoundError, TransportError
from hatch_meadow.testing.faults import Faults
from hatch_meadow.testing.simulator import SimulatedMeadow

QUICK = Timeouts(request=2.0, start=2.0, end=2.0, boot=3.0, post_boot=0.2, ping_interval=0.05, sync=2.0,
                 attach=1.0)


class MemoryTransport:
    """A Transport for the simulated board: writes go to ``receive``, reads drain its replies and ``tick``.

    Like the pty board, the connection drops when the board reboots (reads fail once the replies that
    were already sent are read) and ``reopen`` waits for the reboot to end, then tells the board.
    """

    def __init__(self, board: SimulatedMeadow) -> None:
        self.board = board
        self.name = "memory://board"
        self.reopens = 0
        self._inbox = bytearray()
        self._open = False
        self._connect()

    def _connect(self) -> None:
        self._epoch = self.board.reboots_started
        self._open = True
        self.board.host_opened(time.monotonic())

    def _check(self) -> None:
        if not self._open:
            raise TransportError(f"{self.name}: closed")
        if self.board.reboots_started != self._epoch and not self._inbox:
            raise TransportError(f"{self.name}: device disconnected")

    def write(self, data: bytes) -> None:
        self._check()
        self._inbox += self.board.receive(data, time.monotonic())

    def read(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            self._inbox += self.board.tick(time.monotonic())
            self._check()
            if self._inbox or time.monotonic() >= deadline:
                data = bytes(self._inbox)
                self._inbox.clear()
                return data
            time.sleep(0.002)

    def close(self) -> None:
        if self._open:
            self._open = False
            self.board.host_closed(time.monotonic())

    def remember_identity(self) -> None:
        """Nothing to remember: the board is always this object."""

    def reopen(self, deadline: float) -> None:
        self.close()
        self._inbox.clear()
        while True:
            self.board.tick(time.monotonic())  # lets the reboot finish; what it says now is lost, as on USB
            if not self.board.rebooting:
                break
            if time.monotonic() >= deadline:
                raise PortNotFoundError(f"{self.name}: did not come back")
            time.sleep(0.005)
        self.reopens += 1
        self._connect()


def device_for(board: SimulatedMeadow) -> tuple[MeadowDevice, MemoryTransport]:
    transport = MemoryTransport(board)
    return MeadowDevice(transport, timeouts=QUICK), transport


def test_attach_returns_the_board_information() -> None:
    """First contact: END (harmless here), ping, the parsed device information."""
    device, _ = device_for(SimulatedMeadow(serial_number="ABCDEF012345"))
    info = device.attach()
    assert (info.serial_number, info.os_version) == ("ABCDEF012345", "2.0.1.0")
    assert device.syncs == 0


def test_pause_past_the_watchdog_costs_one_sync_and_one_retry() -> None:
    """The stall case in memory: attempt 1 fails (watchdog), one sync, attempt 2 succeeds."""
    board = SimulatedMeadow(watchdog_s=0.2, faults=Faults(pause_after_packet=1, pause_s=0.3))
    device, _ = device_for(board)
    device.attach()
    assert device.write_file(b"x" * 20_000, "/meadow0/a.bin") == 2
    assert device.syncs == 1
    assert board.files["/meadow0/a.bin"] == b"x" * 20_000
    assert board.faults_fired["pause_after_packet"] == 1


@pytest.mark.parametrize("faults", [
    Faults(resend_after_packet=2, concluded_after_error=True),
    Faults(corrupt_data_packet=3, concluded_after_error=True, stdout_share=0.5, zero_share=0.5),
    Faults(init_fail_times=2, concluded_after_error=True),
], ids=["resend", "corrupt-noisy", "init-fail-twice"])
def test_transient_faults_with_extra_concludeds(faults: Faults) -> None:
    """Each transient fault, with a stray CONCLUDED after every error: the right bytes, at most 3 attempts,
    and the next request still gets its own answer."""
    board = SimulatedMeadow(faults=faults, seed=3)
    device, _ = device_for(board)
    device.attach()
    data = bytes(range(256)) * 100
    attempts = device.write_file(data, "/meadow0/b.bin")
    assert 2 <= attempts <= 3
    assert board.files["/meadow0/b.bin"] == data
    assert device.runtime_state() is False
    assert [e.name for e in device.list_files()] == ["b.bin"]


def test_refused_request_then_next_request_is_clean() -> None:
    """An invalid folder (ERROR, no CONCLUDED) fails that request only; a later DELETE of a missing file
    fails with the board's reason; then a list works (each failure followed by a sync)."""
    board = SimulatedMeadow(files={"/meadow0/x.txt": b"x"})
    device, _ = device_for(board)
    device.attach()
    with pytest.raises(DeviceRejectedError, match="is invalid"):
        device.list_files("/meadow0/nope/")
    with pytest.raises(DeviceRejectedError, match="No such file"):
        device.delete_file("/meadow0/missing.txt")
    assert [e.name for e in device.list_files()] == ["x.txt"]
    assert device.syncs == 2


def test_runtime_enable_disable_follow_the_reboot() -> None:
    """MONO_DISABLE / MONO_ENABLE: RECONNECT, the connection drops, reopen after the reboot, post-boot CONCLUDED."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.1)
    device, transport = device_for(board)
    device.attach()
    device.disable_runtime()
    assert device.runtime_state() is False
    device.enable_runtime()
    assert device.runtime_state() is True
    assert (transport.reopens, board.reboots) == (2, 2)


def test_late_post_boot_concluded_is_stale() -> None:
    """The post-boot CONCLUDED comes after the client pinged: it ends no later request."""
    board = SimulatedMeadow(reboot_s=0.05, boot_concluded_delay_s=0.4)
    device, _ = device_for(board)
    device.attach()
    device.reset()
    time.sleep(0.3)  # the late CONCLUDED is now on its way
    assert device.runtime_state() is False
    assert [e.name for e in device.list_files()] == []
    assert device.stale >= 1


def test_file_read_verifies_the_crc() -> None:
    """read_file returns the bytes the board announced, checked against its CRC."""
    board = SimulatedMeadow(files={"/meadow0/App.dll": b"MZ" + bytes(10_000)})
    device, _ = device_for(board)
    device.attach()
    assert device.read_file("/meadow0/App.dll") == b"MZ" + bytes(10_000)
    with pytest.raises(DeviceRejectedError, match=r"reading /meadow0/missing.bin failed: .*cannot be opened"):
        device.read_file("/meadow0/missing.bin")


def test_silent_board_times_out_at_attach_and_sync() -> None:
    """No answer: attach fails after Timeouts.attach naming the port; a later request first needs a sync,
    which fails after Timeouts.sync."""
    device, _ = device_for(SimulatedMeadow(faults=Faults(silent=True)))
    started = time.monotonic()
    with pytest.raises(DeviceTimeoutError, match="memory://board: no Meadow answered"):
        device.attach()
    assert time.monotonic() - started < 1.5
    with pytest.raises(DeviceTimeoutError, match="stopped answering"):
        device.runtime_state()
