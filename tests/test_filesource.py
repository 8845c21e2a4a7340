"""Files streamed from disk (issue #17): the same size and CRC as in memory, never more than was scanned, and a
file that vanishes mid-send is a clear error that leaves the board in step."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_device_memory import device_for

from hatch_meadow.errors import InputError
from hatch_meadow.filesource import READ_BYTES, BytesSource, DiskSource, as_source
from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.testing.simulator import SimulatedMeadow


@pytest.mark.parametrize("size", [0, 1, 4095, READ_BYTES, READ_BYTES * 3 + 7])
def test_disk_and_memory_sources_agree(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    disk = DiskSource.stat(path)
    assert (disk.size, disk.crc) == (size, nuttx_crc32(data))
    assert b"".join(disk.chunks(4091)) == data
    assert all(len(chunk) <= 4091 for chunk in disk.chunks(4091))
    memory = as_source(data)
    assert isinstance(memory, BytesSource)
    assert (memory.size, memory.crc, b"".join(memory.chunks(4091))) == (size, nuttx_crc32(data), data)
    assert as_source(disk) is disk


def test_a_file_that_grew_after_the_scan_is_cut_to_the_scanned_size(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 100)
    disk = DiskSource.stat(path)
    path.write_bytes(b"a" * 500)
    assert b"".join(disk.chunks(64)) == b"a" * 100


def test_the_crc_is_read_once_and_lazily(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"before")
    disk = DiskSource.stat(path)  # nothing read yet
    path.write_bytes(b"after!")
    assert disk.crc == nuttx_crc32(b"after!")
    path.write_bytes(b"later!")
    assert disk.crc == nuttx_crc32(b"after!")  # cached: the plan and the START agree


def test_a_vanished_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "gone.bin"
    path.write_bytes(b"x")
    disk = DiskSource.stat(path)
    path.unlink()
    with pytest.raises(InputError, match=r"gone\.bin: cannot read it"):
        _ = disk.crc


class _VanishingSource:
    """A source whose file disappears after the first chunk (the build deleted it mid-deploy)."""

    size = 3 * 4096
    crc = 0

    def chunks(self, size: int) -> Iterator[bytes]:
        yield b"x" * size
        raise InputError("out/App.dll: cannot read it (No such file or directory) while sending it")


def test_a_file_that_vanishes_mid_send_leaves_the_board_in_step() -> None:
    board = SimulatedMeadow()
    device, _ = device_for(board)
    device.attach()
    with pytest.raises(InputError, match="while sending it"):
        device.write_file(_VanishingSource(), "/meadow0/App.dll")
    assert device.write_file(b"next", "/meadow0/next.txt") == 1  # a sync closed the open download first
    assert device.syncs == 1
    assert board.files["/meadow0/next.txt"] == b"next"
    assert "/meadow0/App.dll" not in board.files or board.files["/meadow0/App.dll"] != b"x" * 4096


def test_a_streamed_file_survives_a_stall_past_the_watchdog(tmp_path: Path) -> None:
    """The worst case for a file read from disk: the board stops reading after packet 1 past its watchdog, asks for
    a resend, and the second attempt re-reads the file from the start; the board ends with the exact bytes."""
    from hatch_meadow.testing.faults import Faults

    data = os.urandom(50_000)
    path = tmp_path / "App.dll"
    path.write_bytes(data)
    board = SimulatedMeadow(watchdog_s=0.2, faults=Faults(pause_after_packet=1, pause_s=0.3))
    device, _ = device_for(board)
    device.attach()
    assert device.write_file(DiskSource.stat(path), "/meadow0/App.dll") == 2
    assert board.files["/meadow0/App.dll"] == data
    assert board.faults_fired["pause_after_packet"] == 1
