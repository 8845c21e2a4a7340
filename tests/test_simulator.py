"""The simulated Meadow (spec §15), driven only through the protocol core: requests built with
``protocol.packets``, framed with ``encode_frame``, replies read back with ``FrameDecoder`` and
``parse_packet``. Times are passed as ``now``; nothing here sleeps longer than a fraction of a second."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from hatch_meadow.names import CLIENT_CERT, PASS_FILE, PRIVATE_KEY
from hatch_meadow.protocol.codes import DEVICE_WATCHDOG_S, RequestType, ResponseType
from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.protocol.exchange import Exchange, Status
from hatch_meadow.protocol.framing import FrameDecoder, encode_frame
from hatch_meadow.protocol.packets import (
    FileInfo,
    Header,
    Message,
    encode_data,
    encode_delete,
    encode_file_start,
    encode_request,
    parse_packet,
)
from hatch_meadow.protocol.text import parse_device_info, parse_file_line
from hatch_meadow.testing.simulator import Faults, SimulatedMeadow

R = ResponseType

# Spec §7.7, byte for byte.
START_WIRE = bytes.fromhex(
    "00 01 01 02 08 03 01 02 01 01 01 01 01 02 06 01 01 05 b5 94 54 80 01 01 01 33"
    "31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36"
    "37 38 39 30 31 32 2f 6d 65 61 64 6f 77 30 2f 68 65 6c 6c 6f 2e 74 78 74 00")
ACCEPTED_WIRE = bytes.fromhex("00 01 01 02 07 03 02 03 01 01 01 01 01 01 00")
OKAY_WIRE = bytes.fromhex("00 01 01 02 07 03 0e 03 01 01 01 01 01 01 00")
DATA_WIRE = bytes.fromhex("00 02 01 07 48 65 6c 6c 6f 0a 00")
END_WIRE = bytes.fromhex("00 01 01 02 08 03 04 01 01 01 01 01 01 01 00")
SUCCESS_TEXT = b"Download of '/meadow0/hello.txt' succeeded (checksum:0x805494B5)"
INFO_WIRE = bytes.fromhex("00 01 01 02 07 03 05 03 01 01 01 01 01 41") + SUCCESS_TEXT + b"\x00"
CONCLUDED_WIRE = bytes.fromhex("00 01 01 02 07 03 03 03 01 01 01 01 01 01 00")


def decode(wire: bytes) -> list[Message]:
    """Every device message in ``wire``."""
    messages = []
    for packet in FrameDecoder().feed(wire):
        message = parse_packet(packet)
        assert isinstance(message, Message)
        messages.append(message)
    return messages


def kinds(messages: list[Message]) -> list[int]:
    return [m.type for m in messages]


def request(board: SimulatedMeadow, kind: RequestType, payload: bytes = b"", *, now: float = 0.0,
            user_data: int = 0) -> list[Message]:
    """Send one framed request; return the decoded replies."""
    return decode(board.receive(encode_frame(encode_request(kind, payload, user_data=user_data)), now))


def send_packet(board: SimulatedMeadow, packet: bytes, now: float = 0.0) -> list[Message]:
    return decode(board.receive(encode_frame(packet), now))


def write_file(board: SimulatedMeadow, path: str, data: bytes, *, chunk: int = 4096,
               now: float = 0.0) -> list[Message]:
    """START, data packets, END, as a client would; every reply, in order."""
    replies = send_packet(board, encode_file_start(path, len(data), nuttx_crc32(data)), now)
    for seq, offset in enumerate(range(0, len(data), chunk), start=1):
        replies += send_packet(board, encode_data(seq, data[offset:offset + chunk]), now)
    return replies + send_packet(board, encode_request(RequestType.END_FILE_TRANSFER), now)


def reboot(board: SimulatedMeadow, *, now: float = 0.0) -> list[Message]:
    """RESTART_PRIMARY_MCU, then let the reboot finish."""
    replies = request(board, RequestType.RESTART_PRIMARY_MCU, now=now)
    assert board.tick(now + board.reboot_s) == b""
    return replies


@pytest.fixture(name="board")
def _board() -> SimulatedMeadow:
    return SimulatedMeadow()


# -- §7.7 worked example ----------------------------------------------------------------------------------


def test_simulator_worked_example_byte_for_byte(board: SimulatedMeadow) -> None:
    """The device answers the spec's §7.7 wire bytes with exactly the spec's wire bytes."""
    assert encode_frame(encode_file_start("/meadow0/hello.txt", 6, 0x805494B5)) == START_WIRE
    assert board.receive(START_WIRE, 0.0) == ACCEPTED_WIRE + OKAY_WIRE
    assert board.receive(DATA_WIRE, 0.1) == b""
    assert board.receive(END_WIRE, 0.2) == INFO_WIRE + CONCLUDED_WIRE
    assert board.files == {"/meadow0/hello.txt": b"Hello\n"}


def test_simulator_any_chunking_and_noise(board: SimulatedMeadow) -> None:
    """Byte-by-byte delivery, lone 0x00s and an undecodable frame change nothing (spec §2)."""
    stream = b"\x00\x00" + START_WIRE + b"\x00\x05\x01\x00" + DATA_WIRE + END_WIRE
    out = b"".join(board.receive(stream[i:i + 1], 0.0) for i in range(len(stream)))
    assert out == ACCEPTED_WIRE + OKAY_WIRE + INFO_WIRE + CONCLUDED_WIRE
    assert board.files["/meadow0/hello.txt"] == b"Hello\n"


def test_simulator_end_result_satisfies_exchange(board: SimulatedMeadow) -> None:
    """The protocol core's exchange rules accept the simulator's START and END replies."""
    start = Exchange(RequestType.START_FILE_TRANSFER)
    for message in decode(board.receive(START_WIRE, 0.0)):
        start.feed(message)
    board.receive(DATA_WIRE, 0.0)
    end = Exchange(RequestType.END_FILE_TRANSFER)
    for message in decode(board.receive(END_WIRE, 0.0)):
        end.feed(message)
    assert (start.status, end.status) == (Status.OK, Status.OK)


# -- downloads ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "stored"), [
    ("App.dll", "/meadow0/App.dll"),
    ("/meadow0/client_cert.pem", "/meadow0/client_cert.pem"),
    ("/meadow0/a/b/c/d/e/f/x.bin", "/meadow0/a/b/c/d/e/f/x.bin"),  # 8 elements
])
def test_simulator_path_rules_accept(board: SimulatedMeadow, name: str, stored: str) -> None:
    """Bare names go to /meadow0/; /meadow0/ paths of up to 8 elements are kept (spec §7.2)."""
    replies = write_file(board, name, b"x")
    assert kinds(replies) == [R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_OKAY, R.TEXT_INFORMATION, R.TEXT_CONCLUDED]
    assert replies[2].text == f"Download of '{stored}' succeeded (checksum:0x{nuttx_crc32(b'x'):08X})"
    assert board.files == {stored: b"x"}


@pytest.mark.parametrize("name", [
    "/foo.txt", "/data/foo.txt", "/meadow0/dir/", "/meadow0/a/b/c/d/e/f/g/x.bin", "/mmcsd0/x", "",
])
def test_simulator_path_rules_reject(board: SimulatedMeadow, name: str) -> None:
    """Anything else: ERROR, CONCLUDED, ERROR, and no INIT_DOWNLOAD_FAIL (spec §7.2)."""
    replies = send_packet(board, encode_file_start(name, 1, 0))
    assert [(m.type, m.text) for m in replies] == [
        (R.TEXT_ERROR, f"Path name '{name}' is invalid"),
        (R.TEXT_CONCLUDED, ""),
        (R.TEXT_ERROR, "Error during download or delete command processing"),
    ]
    assert not board.download_active


def test_simulator_runtime_enabled_refuses_download() -> None:
    """With the runtime enabled: ERROR, header-only INIT_DOWNLOAD_FAIL, CONCLUDED (spec §7.1)."""
    board = SimulatedMeadow(runtime_enabled=True)
    replies = send_packet(board, encode_file_start("/meadow0/a.txt", 1, 0))
    assert [(m.type, m.payload) for m in replies] == [
        (R.TEXT_ERROR, b"Mono must be disabled for file download"),
        (R.INIT_DOWNLOAD_FAIL, b""),
        (R.TEXT_CONCLUDED, b""),
    ]
    assert board.files == {}


def test_simulator_ignores_commands_during_download(board: SimulatedMeadow) -> None:
    """While a download is active every command but END is dropped silently (spec §7.1)."""
    send_packet(board, encode_file_start("/meadow0/a.txt", 2, nuttx_crc32(b"ab")))
    assert request(board, RequestType.GET_DEVICE_INFORMATION) == []
    assert send_packet(board, encode_file_start("/meadow0/b.txt", 1, 0)) == []
    send_packet(board, encode_data(1, b"ab"))
    assert kinds(request(board, RequestType.END_FILE_TRANSFER)) == [R.TEXT_INFORMATION, R.TEXT_CONCLUDED]
    assert kinds(request(board, RequestType.GET_DEVICE_INFORMATION))[0] == R.TEXT_ACCEPTED


def test_simulator_progress_every_ten_percent(board: SimulatedMeadow) -> None:
    """'File N% downloaded' at each multiple of 10, from the bytes before each packet (spec §7.4)."""
    replies = write_file(board, "/meadow0/p.bin", bytes(100), chunk=10)
    progress = [m.text for m in replies if m.type == R.TEXT_INFORMATION and "downloaded" in m.text]
    assert progress == [f"File {n}% downloaded" for n in range(10, 100, 10)]


def test_simulator_end_without_download(board: SimulatedMeadow) -> None:
    """END with nothing active: ERROR and CONCLUDED (spec §7.6)."""
    replies = request(board, RequestType.END_FILE_TRANSFER)
    assert [(m.type, m.text) for m in replies] == [
        (R.TEXT_ERROR, "'End' command received, but no active download"), (R.TEXT_CONCLUDED, "")]


def test_simulator_watchdog_asks_for_resend(board: SimulatedMeadow) -> None:
    """3 s without data after START or the last packet: partial file deleted, DNLD_FAIL_RESEND (spec §7.5)."""
    send_packet(board, encode_file_start("/meadow0/w.bin", 4, nuttx_crc32(b"abcd")), now=10.0)
    assert board.tick(10.0 + DEVICE_WATCHDOG_S - 0.5) == b""
    send_packet(board, encode_data(1, b"ab"), now=12.0)  # re-arms the watchdog
    assert board.tick(12.0 + DEVICE_WATCHDOG_S - 0.1) == b""
    replies = decode(board.tick(12.0 + DEVICE_WATCHDOG_S + 0.1))
    assert [(m.type, m.text) for m in replies] == [
        (R.DNLD_FAIL_RESEND, "File '/meadow0/w.bin' download failed, resend")]
    assert "/meadow0/w.bin" not in board.files
    assert send_packet(board, encode_data(2, b"cd"), now=16.0) == []  # no download any more
    assert kinds(request(board, RequestType.MONO_RUN_STATE, now=16.0))[0] == R.TEXT_ACCEPTED


def test_simulator_drop_fault_gives_mismatch_once(board: SimulatedMeadow) -> None:
    """A dropped packet makes END report a checksum mismatch; the fault fires exactly once."""
    data = bytes(range(256)) * 40
    board.faults = Faults(drop_data_packet=2)  # faults can be swapped at any time
    replies = write_file(board, "/meadow0/d.bin", data)
    error = [m.text for m in replies if m.type == R.TEXT_ERROR]
    assert len(error) == 1
    assert error[0].startswith("Download of '/meadow0/d.bin' failed due to checksum mismatch, f/s read:0x")
    assert error[0].endswith(f"sender:0x{nuttx_crc32(data):08X}")
    assert replies[-1].type == R.TEXT_CONCLUDED
    assert (board.faults.drop_data_packet, board.faults_fired["drop_data_packet"]) == (None, 1)
    assert kinds(write_file(board, "/meadow0/d.bin", data))[-2:] == [R.TEXT_INFORMATION, R.TEXT_CONCLUDED]
    assert board.files["/meadow0/d.bin"] == data


def test_simulator_corrupt_fault_and_size_mismatch(board: SimulatedMeadow) -> None:
    """A flipped byte is a checksum mismatch; a short file with a matching CRC is a size mismatch (§7.6)."""
    board.faults.corrupt_data_packet = 1
    replies = write_file(board, "/meadow0/c.bin", b"hello")
    assert "failed due to checksum mismatch" in replies[-2].text
    send_packet(board, encode_file_start("/meadow0/s.bin", 7, nuttx_crc32(b"hello")))
    send_packet(board, encode_data(1, b"hello"))
    replies = request(board, RequestType.END_FILE_TRANSFER)
    assert [(m.type, m.text) for m in replies] == [
        (R.TEXT_ERROR, "Download of '/meadow0/s.bin' failed due to file size mismatch calculated:5, sender:7"),
        (R.TEXT_CONCLUDED, "")]


def test_simulator_init_fail_once(board: SimulatedMeadow) -> None:
    """init_fail_times=1: ACCEPTED, INIT_DOWNLOAD_FAIL with the firmware's reason, CONCLUDED; then normal."""
    board.faults.init_fail_times = 1
    replies = send_packet(board, encode_file_start("/meadow0/i.txt", 1, 0))
    assert [(m.type, m.text) for m in replies] == [
        (R.TEXT_ACCEPTED, ""),
        (R.INIT_DOWNLOAD_FAIL, "File '/meadow0/i.txt' Init for download failed because another file is being "
                               "processed"),
        (R.TEXT_CONCLUDED, "")]
    assert kinds(write_file(board, "/meadow0/i.txt", b"i"))[:2] == [R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_OKAY]
    assert board.faults_fired["init_fail"] == 1


def test_simulator_resend_once(board: SimulatedMeadow) -> None:
    """resend_after_packet=1: DNLD_FAIL_RESEND right after the first data packet, once (spec §7.5)."""
    board.faults.resend_after_packet = 1
    send_packet(board, encode_file_start("/meadow0/r.bin", 8, nuttx_crc32(bytes(8))))
    assert kinds(send_packet(board, encode_data(1, bytes(4)))) == [R.DNLD_FAIL_RESEND]
    assert not board.download_active
    assert kinds(write_file(board, "/meadow0/r.bin", bytes(8), chunk=4))[-2:] == [
        R.TEXT_INFORMATION, R.TEXT_CONCLUDED]


def test_simulator_stall_until_unstall(board: SimulatedMeadow) -> None:
    """stall_after_packets: the board hangs (no replies, no watchdog) until unstall()."""
    board.faults.stall_after_packets = 1
    data = b"0123456789"
    send_packet(board, encode_file_start("/meadow0/s.bin", 10, nuttx_crc32(data)))
    wire = encode_frame(encode_data(1, data[:5])) + encode_frame(encode_data(2, data[5:]))
    assert board.receive(wire, 0.0) == b""  # the second packet is never read
    assert board.stalled
    assert request(board, RequestType.END_FILE_TRANSFER, now=1.0) == []
    assert board.tick(10.0) == b""
    board.unstall()
    assert kinds(decode(board.tick(10.0))) == [R.DNLD_FAIL_RESEND]  # the overdue watchdog fires


def test_simulator_silent_fault(board: SimulatedMeadow) -> None:
    """silent: not a Meadow, nothing ever comes back."""
    board.faults.silent = True
    assert board.receive(START_WIRE, 0.0) == b""
    assert request(board, RequestType.GET_DEVICE_INFORMATION) == []


def test_simulator_unsolicited_output(board: SimulatedMeadow) -> None:
    """unsolicited_every=2: a STDOUT line before every second reply; the exchange sets them aside."""
    board.faults.unsolicited_every = 2
    replies = request(board, RequestType.GET_DEVICE_INFORMATION)
    assert kinds(replies) == [R.TEXT_ACCEPTED, R.TEXT_MONO_STDOUT, R.TEXT_DEVICE_INFO, R.TEXT_CONCLUDED]
    exchange = Exchange(RequestType.GET_DEVICE_INFORMATION)
    for message in replies:
        exchange.feed(message)
    assert exchange.status is Status.OK
    assert kinds(exchange.unsolicited) == [R.TEXT_MONO_STDOUT]


# -- lists, delete, read ----------------------------------------------------------------------------------


@pytest.fixture(name="stocked")
def _stocked() -> SimulatedMeadow:
    return SimulatedMeadow(files={
        "/meadow0/App.pdb": bytes(9908),
        "/meadow0/App.dll": b"MZ" * 10,
        "/meadow0/sub/x.bin": b"x",
        "/meadow0/Data/y.txt": b"y",
    })


def test_simulator_list_with_crc(stocked: SimulatedMeadow) -> None:
    """0x0307: header, Directory line, CRC_MEMBER lines (§8.1 format), folders, totals, CONCLUDED."""
    replies = request(stocked, RequestType.LIST_FILES_SUBDIR_CRC, b"/meadow0/")
    assert [(m.type, m.text) for m in replies] == [
        (R.TEXT_ACCEPTED, ""),
        (R.TEXT_LIST_HEADER, ""),
        (R.TEXT_LIST_MEMBER, "Directory:/meadow0/"),
        (R.TEXT_CRC_MEMBER, f"App.dll [0x{nuttx_crc32(b'MZ' * 10):08x}] 4 KB (20 bytes)"),
        (R.TEXT_CRC_MEMBER, f"App.pdb [0x{nuttx_crc32(bytes(9908)):08x}] 12 KB (9908 bytes)"),
        (R.TEXT_LIST_MEMBER, "/Data"),
        (R.TEXT_LIST_MEMBER, "/sub"),
        (R.TEXT_CRC_MEMBER, "A total of 2 files and 2 directories using 16 KB (9928 bytes)"),
        (R.TEXT_CONCLUDED, ""),
    ]
    entries = [parse_file_line(m.text) for m in replies[2:-1]]
    assert [(e.name, e.is_dir, e.size) for e in entries if e] == [
        ("App.dll", False, 20), ("App.pdb", False, 9908), ("Data", True, None), ("sub", True, None)]


def test_simulator_list_without_crc_and_bare_name(stocked: SimulatedMeadow) -> None:
    """0x0306 lists names; a bare folder name is under /meadow0 and lists no sub-folders (§8.1)."""
    replies = request(stocked, RequestType.LIST_FILES_SUBDIR, b"/meadow0/sub/")
    assert [m.text for m in replies[2:]] == [
        "Directory:/meadow0/sub/", "x.bin", "A total of 1 files and 0 directories found", ""]
    replies = request(stocked, RequestType.LIST_FILES_SUBDIR_CRC, b"sub")
    assert [m.text for m in replies[2:]] == [
        "Directory:sub", f"x.bin [0x{nuttx_crc32(b'x'):08x}] 4 KB (1 bytes)",
        "A total of 1 file and 0 directories using 4 KB (1 bytes)", ""]


@pytest.mark.parametrize("folder", [b"/meadow0", b"/nope/", b"/meadow0/missing/", b""])
def test_simulator_list_invalid_path_has_no_concluded(stocked: SimulatedMeadow, folder: bytes) -> None:
    """An invalid or missing folder: one TEXT_ERROR and no CONCLUDED (spec §8.1, issue #837)."""
    replies = request(stocked, RequestType.LIST_FILES_SUBDIR_CRC, folder)
    assert [(m.type, m.text) for m in replies] == [(R.TEXT_ERROR, f"Path name '{folder.decode()}' is invalid")]


def test_simulator_delete(stocked: SimulatedMeadow) -> None:
    """DELETE_FILE_BY_NAME: INFO when deleted, ERROR when missing, CONCLUDED either way (spec §8.2)."""
    replies = send_packet(stocked, encode_delete("/meadow0/sub/x.bin"))
    assert [(m.type, m.text) for m in replies] == [
        (R.TEXT_ACCEPTED, ""), (R.TEXT_INFORMATION, "File '/meadow0/sub/x.bin' deleted"), (R.TEXT_CONCLUDED, "")]
    replies = send_packet(stocked, encode_delete("App.exe"))
    assert [(m.type, m.text) for m in replies] == [
        (R.TEXT_ACCEPTED, ""), (R.TEXT_ERROR, "Meadow failed to delete file '/meadow0/App.exe', No such file"),
        (R.TEXT_CONCLUDED, "")]
    assert "/sub" not in [m.text for m in request(stocked, RequestType.LIST_FILES_SUBDIR, b"/meadow0/")]


def test_simulator_delete_needs_runtime_disabled(stocked: SimulatedMeadow) -> None:
    """Deleting with the runtime enabled is refused and nothing is removed (spec §8.2)."""
    stocked.runtime_enabled = True
    replies = send_packet(stocked, encode_delete("/meadow0/App.dll"))
    assert kinds(replies) == [R.TEXT_ERROR, R.TEXT_CONCLUDED]
    assert "/meadow0/App.dll" in stocked.files


def test_simulator_file_read_round_trip(board: SimulatedMeadow) -> None:
    """UPLOAD_FILE_INIT + UPLOAD_START_DATA_SEND give back the bytes written, in ≤ 8180-byte chunks (§8.3)."""
    data = bytes(range(251)) * 100
    write_file(board, "/meadow0/big.bin", data, chunk=8188)
    init = request(board, RequestType.UPLOAD_FILE_INIT, b"/meadow0/big.bin")
    assert kinds(init) == [R.TEXT_ACCEPTED, R.INIT_UPLOAD_OKAY]
    info = FileInfo.unpack(init[1].payload)
    assert (info.size, info.crc, init[1].payload[44:]) == (len(data), nuttx_crc32(data), b"/meadow0/big.bin")
    replies = request(board, RequestType.UPLOAD_START_DATA_SEND)
    chunks = [m.payload for m in replies if m.type == R.UPLOADING_FILE_DATA]
    assert b"".join(chunks) == data
    assert max(map(len, chunks)) == 8180
    assert kinds(replies)[-2:] == [R.UPLOAD_FILE_COMPLETED, R.TEXT_CONCLUDED]


def test_simulator_file_read_missing(board: SimulatedMeadow) -> None:
    """Reading a missing file: ERROR and INIT_UPLOAD_FAIL, which the exchange treats as failure."""
    replies = request(board, RequestType.UPLOAD_FILE_INIT, b"/meadow0/none.txt")
    assert kinds(replies) == [R.TEXT_ACCEPTED, R.TEXT_ERROR, R.INIT_UPLOAD_FAIL]
    exchange = Exchange(RequestType.UPLOAD_FILE_INIT)
    for message in replies:
        exchange.feed(message)
    assert exchange.status is Status.FAILED


# -- device information, runtime, reboot ------------------------------------------------------------------


def test_simulator_device_info_and_run_state() -> None:
    """Device info in firmware key order with the configured SerialNo; the runtime state texts (§11)."""
    board = SimulatedMeadow(serial_number="ABCDEF012345", runtime_enabled=True)
    replies = request(board, RequestType.GET_DEVICE_INFORMATION)
    assert kinds(replies) == [R.TEXT_ACCEPTED, R.TEXT_DEVICE_INFO, R.TEXT_CONCLUDED]
    assert replies[1].text.startswith(
        "Product|Meadow F7 Micro~Model|F7Micro~ProcessorType|STM32F777IIK6~CoprocessorType|ESP32~OSVersion|")
    info = parse_device_info(replies[1].text)
    assert (info["serialno"], info["hardware"]) == ("ABCDEF012345", "F7FeatherV2")
    assert request(board, RequestType.MONO_RUN_STATE)[1].text == "Mono is enabled"
    board.runtime_enabled = False
    assert request(board, RequestType.MONO_RUN_STATE)[1].text == "Mono is disabled"


def test_simulator_unknown_request(board: SimulatedMeadow) -> None:
    """An unsupported request type gets TEXT_ERROR and CONCLUDED."""
    replies = send_packet(board, Header(type=0x0199).pack())
    assert [(m.type, m.text) for m in replies] == [
        (R.TEXT_ERROR, "Request type 0x0199 is not supported"), (R.TEXT_CONCLUDED, "")]


def test_simulator_mono_disable_reboots_and_concludes_on_first_request() -> None:
    """Legacy mode (boot_concluded_delay_s=None): MONO_DISABLE: ACCEPTED, INFO, RECONNECT; input
    ignored while rebooting; then the post-boot CONCLUDED arrives in front of the reply to the first
    request, and only then (spec §5, §11.2)."""
    board = SimulatedMeadow(runtime_enabled=True, reboot_s=0.5, boot_concluded_delay_s=None)
    replies = request(board, RequestType.MONO_DISABLE, user_data=7, now=1.0)
    assert [(m.type, m.text, m.user_data) for m in replies] == [
        (R.TEXT_ACCEPTED, "", 0), (R.TEXT_INFORMATION, "Mono has been disabled. Restarting F7 Micro", 0),
        (R.TEXT_RECONNECT, "", 7)]
    assert board.rebooting
    assert request(board, RequestType.GET_DEVICE_INFORMATION, now=1.2) == []
    assert board.tick(1.5) == b""
    assert (board.rebooting, board.reboots, board.runtime_enabled) == (False, 1, False)
    first = request(board, RequestType.MONO_RUN_STATE, now=2.0)
    assert [(m.type, m.text) for m in first] == [
        (R.TEXT_CONCLUDED, ""), (R.TEXT_ACCEPTED, ""), (R.TEXT_INFORMATION, "Mono is disabled"),
        (R.TEXT_CONCLUDED, "")]
    assert kinds(request(board, RequestType.MONO_RUN_STATE, now=2.1))[0] == R.TEXT_ACCEPTED


def test_simulator_restart_echoes_user_data(board: SimulatedMeadow) -> None:
    """RESTART_PRIMARY_MCU: ACCEPTED, then RECONNECT with the request's UserData (spec §11.3)."""
    replies = request(board, RequestType.RESTART_PRIMARY_MCU, user_data=0x12345678)
    assert [(m.type, m.user_data) for m in replies] == [(R.TEXT_ACCEPTED, 0), (R.TEXT_RECONNECT, 0x12345678)]


def test_simulator_migrates_credentials_on_reboot(board: SimulatedMeadow) -> None:
    """On reboot cert, key and pass file move byte-exact into the ESP32 store and leave /meadow0/ (§10.2)."""
    creds = {CLIENT_CERT: b"-----BEGIN CERTIFICATE-----\n", PRIVATE_KEY: b"-----BEGIN PRIVATE KEY-----\n",
             PASS_FILE: b"s3cret"}
    for name, content in creds.items():
        write_file(board, f"/meadow0/{name}", content)
    write_file(board, "App.dll", b"MZ")
    reboot(board)
    assert board.esp_store == creds
    assert board.files == {"/meadow0/App.dll": b"MZ"}
    assert board.reboots == 1


def test_simulator_migration_keeps_stale_pass(board: SimulatedMeadow) -> None:
    """Without a pass file the store keeps its old passphrase; without a key nothing moves (§10.2)."""
    board.esp_store[PASS_FILE] = b"old"
    write_file(board, f"/meadow0/{CLIENT_CERT}", b"cert")
    reboot(board)
    assert board.esp_store == {PASS_FILE: b"old"}
    assert f"/meadow0/{CLIENT_CERT}" in board.files
    write_file(board, f"/meadow0/{PRIVATE_KEY}", b"key", now=1.0)
    reboot(board, now=1.0)
    assert board.esp_store == {CLIENT_CERT: b"cert", PRIVATE_KEY: b"key", PASS_FILE: b"old"}
    assert board.files == {}


# -- transports -----------------------------------------------------------------------------------------

needs_pty = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")


def read_replies(port: object, count: int, timeout: float = 2.0) -> list[Message]:
    """Read from a pyserial port until ``count`` messages arrived (bounded)."""
    decoder = FrameDecoder()
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        chunk = port.read(max(1, port.in_waiting))  # type: ignore[attr-defined]
        for packet in decoder.feed(chunk):
            message = parse_packet(packet)
            assert isinstance(message, Message)
            messages.append(message)
    return messages


INFO_REQUEST = encode_frame(encode_request(RequestType.GET_DEVICE_INFORMATION))


@pytest.fixture(name="pty_board")
def _pty_board() -> Iterator[object]:
    from hatch_meadow.testing.pty_board import PtyBoard

    with PtyBoard(SimulatedMeadow(serial_number="0A0B0C0D0E0F")) as pty_board:
        yield pty_board


@needs_pty
def test_pty_board_serves_real_serial_across_reopen(pty_board: object) -> None:
    """A real serial.Serial can open, exchange, close and reopen the pty repeatedly."""
    import serial

    for _ in range(3):
        port = serial.Serial(timeout=0.1)
        port.port = pty_board.port  # type: ignore[attr-defined]
        port.dtr = port.rts = False  # as the vendor CLI opens it (spec §1); a pty ignores them
        port.open()
        try:
            port.write(INFO_REQUEST)
            replies = read_replies(port, 3)
        finally:
            port.close()
        assert kinds(replies) == [R.TEXT_ACCEPTED, R.TEXT_DEVICE_INFO, R.TEXT_CONCLUDED]
        assert parse_device_info(replies[1].text)["serialno"] == "0A0B0C0D0E0F"


@needs_pty
def test_pty_board_split_replies_and_file_write(pty_board: object) -> None:
    """With split_replies the host gets ≤ 7-byte reads and the same frames; a file write lands on the board."""
    import serial

    board: SimulatedMeadow = pty_board.board  # type: ignore[attr-defined]
    with serial.Serial(pty_board.port, timeout=0.05) as port:  # type: ignore[attr-defined]
        port.write(START_WIRE)
        assert kinds(read_replies(port, 2)) == [R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_OKAY]
        port.write(DATA_WIRE + END_WIRE)
        assert read_replies(port, 2)[0].text == SUCCESS_TEXT.decode()
        board.faults.split_replies = True
        port.timeout = 0
        port.write(INFO_REQUEST)
        decoder, pieces = FrameDecoder(), 0
        packets: list[bytes] = []
        deadline = time.monotonic() + 2.0
        while len(packets) < 3 and time.monotonic() < deadline:
            chunk = port.read(4096)
            pieces += bool(chunk)
            packets += decoder.feed(chunk)
            time.sleep(0.0005)
        messages = [m for m in map(parse_packet, packets) if isinstance(m, Message)]
        assert kinds(messages) == [
            R.TEXT_ACCEPTED, R.TEXT_DEVICE_INFO, R.TEXT_CONCLUDED]
        assert pieces > 10  # ~60 chunks of ≤ 7 bytes, not one burst
    assert board.files == {"/meadow0/hello.txt": b"Hello\n"}


@needs_pty
def test_pty_board_throttle_both_directions() -> None:
    """bytes_per_second caps both directions: 16 KiB each way at 64 kB/s takes well over 0.2 s each."""
    import serial

    from hatch_meadow.testing.pty_board import PtyBoard

    data = bytes(range(256)) * 64
    wire = encode_frame(encode_file_start("/meadow0/t.bin", len(data), nuttx_crc32(data)))
    board = SimulatedMeadow()
    with PtyBoard(board, bytes_per_second=64_000) as pty, serial.Serial(pty.port, timeout=0.1) as port:
        port.write(wire)
        assert kinds(read_replies(port, 2)) == [R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_OKAY]
        started = time.monotonic()
        port.write(b"".join(encode_frame(encode_data(seq, data[offset:offset + 8188]))
                            for seq, offset in enumerate(range(0, len(data), 8188), start=1))
                   + encode_frame(encode_request(RequestType.END_FILE_TRANSFER)))
        end = read_replies(port, 4)  # two progress lines, the result, CONCLUDED
        assert [m.text for m in end[:3]] == [
            "File 40% downloaded", "File 90% downloaded",
            f"Download of '/meadow0/t.bin' succeeded (checksum:0x{nuttx_crc32(data):08X})"]
        upload_s = time.monotonic() - started
        port.write(encode_frame(encode_request(RequestType.UPLOAD_FILE_INIT, b"t.bin")))
        assert kinds(read_replies(port, 2)) == [R.TEXT_ACCEPTED, R.INIT_UPLOAD_OKAY]
        started = time.monotonic()
        port.write(encode_frame(encode_request(RequestType.UPLOAD_START_DATA_SEND)))
        replies = read_replies(port, 4)
        download_s = time.monotonic() - started
    assert b"".join(m.payload for m in replies if m.type == R.UPLOADING_FILE_DATA) == data
    assert (upload_s >= 0.2, download_s >= 0.2) == (True, True)


@needs_pty
def test_pty_board_stall_blocks_host_and_close_is_prompt() -> None:
    """A stalled pty board stops reading, so host writes time out; close() stops the thread within 1 s."""
    import serial

    from hatch_meadow.testing.pty_board import PtyBoard

    board = SimulatedMeadow(faults=Faults(stall_after_packets=1))
    pty = PtyBoard(board)
    with serial.Serial(pty.port, timeout=0.1, write_timeout=0.1) as port:
        port.write(encode_frame(encode_file_start("x.bin", 10**6, 0)))
        assert kinds(read_replies(port, 2)) == [R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_OKAY]
        packet = encode_frame(encode_data(1, bytes(8188)))
        with pytest.raises(serial.SerialTimeoutException):
            port.write(packet * 64)  # far more than a pty buffers
        assert board.stalled
    started = time.monotonic()
    pty.close()
    assert (pty.serving, time.monotonic() - started < 1.0) == (False, True)


def test_sim_url_answers_and_keeps_state() -> None:
    """sim://t1?serial=… answers device info with that SerialNo and keeps files across close/reopen."""
    import serial

    from hatch_meadow.testing.protocol_sim import board_for, forget_board, register_sim_url

    register_sim_url()
    url = "sim://t1?serial=ABCDEF012345"
    forget_board(url)
    try:
        with serial.serial_for_url(url, timeout=0.2) as port:
            port.write(INFO_REQUEST)
            replies = read_replies(port, 3)
            assert parse_device_info(replies[1].text)["serialno"] == "ABCDEF012345"
            port.write(START_WIRE + DATA_WIRE + END_WIRE)
            assert kinds(read_replies(port, 4))[-2:] == [R.TEXT_INFORMATION, R.TEXT_CONCLUDED]
        with serial.serial_for_url("sim://t1", timeout=0.2) as port:
            port.write(encode_frame(encode_request(RequestType.LIST_FILES_SUBDIR, b"/meadow0/")))
            replies = read_replies(port, 6)
        assert [m.text for m in replies][3] == "hello.txt"
        assert board_for("t1").files == {"/meadow0/hello.txt": b"Hello\n"}
    finally:
        forget_board(url)


def test_simulator_post_boot_concluded_comes_after_the_host_reopens() -> None:
    """Default mode: the post-boot CONCLUDED is sent 0.2 s after the host opens the port again, on its
    own (tick), never in front of a reply; a host that never reopens never gets it."""
    board = SimulatedMeadow(runtime_enabled=False, reboot_s=0.5)
    board.host_opened(0.0)
    assert kinds(request(board, RequestType.RESTART_PRIMARY_MCU, now=1.0)) == [R.TEXT_ACCEPTED, R.TEXT_RECONNECT]
    board.host_closed(1.01)
    assert board.tick(1.6) == b""  # the reboot is over, but nobody has the port open
    assert board.next_event_at() is None
    board.host_opened(2.0)
    assert board.next_event_at() == pytest.approx(2.2)
    assert kinds(request(board, RequestType.MONO_RUN_STATE, now=2.1)) == [
        R.TEXT_ACCEPTED, R.TEXT_INFORMATION, R.TEXT_CONCLUDED]
    assert board.tick(2.19) == b""
    assert board.tick(2.2) == CONCLUDED_WIRE
    assert board.tick(5.0) == b""


def test_simulator_pause_keeps_input_and_watchdog_fires() -> None:
    """pause_after_packet: input waits unread for pause_s while the watchdog runs; when reading resumes
    the board answers the END that waited in the pipe with 'no active download' (spec §7.5, §7.6)."""
    board = SimulatedMeadow(faults=Faults(pause_after_packet=1, pause_s=4.0))
    start = encode_frame(encode_file_start("/meadow0/a.bin", 3, nuttx_crc32(b"abc")))
    assert kinds(decode(board.receive(start, 0.0))) == [R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_OKAY]
    tail = encode_frame(encode_request(RequestType.END_FILE_TRANSFER))
    assert board.receive(encode_frame(encode_data(1, b"abc")) + tail, 0.1) == b""
    assert not board.reading(0.2)
    assert kinds(decode(board.tick(3.2))) == [R.DNLD_FAIL_RESEND]
    assert "/meadow0/a.bin" not in board.files
    assert board.receive(INFO_REQUEST, 3.5) == b""  # still paused: waits behind the END
    replies = decode(board.tick(4.1))
    assert [(m.type, m.text) for m in replies][:2] == [
        (R.TEXT_ERROR, "'End' command received, but no active download"), (R.TEXT_CONCLUDED, "")]
    assert kinds(replies)[2:] == [R.TEXT_ACCEPTED, R.TEXT_DEVICE_INFO, R.TEXT_CONCLUDED]


def test_simulator_concluded_after_error_and_noise() -> None:
    """concluded_after_error adds a CONCLUDED after each ERROR; stdout/zero shares add STDOUT frames and
    lone 0x00 bytes (seeded, so reproducible)."""
    board = SimulatedMeadow(faults=Faults(concluded_after_error=True))
    assert kinds(request(board, RequestType.END_FILE_TRANSFER)) == [R.TEXT_ERROR, R.TEXT_CONCLUDED, R.TEXT_CONCLUDED]
    noisy = SimulatedMeadow(seed=7, faults=Faults(stdout_share=1.0, zero_share=1.0))
    wire = noisy.receive(INFO_REQUEST, 0.0)
    assert wire.count(b"\x00\x00\x00") == 3  # each message: STDOUT frame, lone 0x00, then the reply frame
    assert kinds(decode(wire)) == [R.TEXT_MONO_STDOUT, R.TEXT_ACCEPTED, R.TEXT_MONO_STDOUT,
                                          R.TEXT_DEVICE_INFO, R.TEXT_MONO_STDOUT, R.TEXT_CONCLUDED]


def test_simulator_init_fail_times() -> None:
    """init_fail_times=2: two STARTs fail (ACCEPTED, INIT_DOWNLOAD_FAIL, CONCLUDED), the third succeeds."""
    board = SimulatedMeadow(faults=Faults(init_fail_times=2))
    start = encode_frame(encode_file_start("/meadow0/a.bin", 0, 0))
    for _ in range(2):
        assert kinds(decode(board.receive(start, 0.0))) == [
            R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_FAIL, R.TEXT_CONCLUDED]
    assert kinds(decode(board.receive(start, 0.0))) == [R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_OKAY]
    assert board.starts["/meadow0/a.bin"] == 3


def test_sim_url_reboot_and_read_timeout() -> None:
    """sim:// drops off during a reboot like a USB device: the old connection fails once its replies are
    read, opening fails until the reboot is over, and the post-boot CONCLUDED follows the reopen."""
    import serial

    from hatch_meadow.testing.protocol_sim import board_for, forget_board, register_sim_url

    register_sim_url()
    url = "sim://t2?runtime=enabled&reboot=0.2"
    forget_board(url)
    try:
        with serial.serial_for_url(url, timeout=0.1) as port:
            port.write(encode_frame(encode_request(RequestType.MONO_DISABLE)))
            assert kinds(read_replies(port, 3))[-1] == R.TEXT_RECONNECT
            with pytest.raises(serial.SerialException, match="disconnected"):
                port.read(1)
        with pytest.raises(serial.SerialException, match="No such file"):
            serial.serial_for_url("sim://t2", timeout=0.3)
        time.sleep(0.25)
        with serial.serial_for_url("sim://t2", timeout=0.3) as port:
            assert kinds(read_replies(port, 1)) == [R.TEXT_CONCLUDED]
            port.write(INFO_REQUEST)
            assert kinds(read_replies(port, 3)) == [R.TEXT_ACCEPTED, R.TEXT_DEVICE_INFO, R.TEXT_CONCLUDED]
        assert (board_for("t2").runtime_enabled, board_for("t2").reboots) == (False, 1)
    finally:
        forget_board(url)


def test_sim_url_stall_backs_up_writes() -> None:
    """A stalled board reads nothing: writes pile up, then time out like USB back-pressure (spec §1)."""
    import serial

    from hatch_meadow.testing.protocol_sim import STALL_BUFFER_BYTES, board_for, forget_board, register_sim_url

    register_sim_url()
    url = "sim://t3"
    forget_board(url)
    board = board_for(url)
    board.faults.stall_after_packets = 1
    data = bytes(8188)
    try:
        with serial.serial_for_url(url, timeout=0.05, write_timeout=0.05) as port:
            port.write(encode_frame(encode_file_start("/meadow0/big.bin", 20 * len(data), 0)))
            assert kinds(read_replies(port, 2)) == [R.TEXT_ACCEPTED, R.INIT_DOWNLOAD_OKAY]
            port.write(encode_frame(encode_data(1, data)))  # the board hangs after this packet
            port.write(encode_frame(encode_data(2, data)))  # waits unread
            assert (board.stalled, port.out_waiting) == (True, len(encode_frame(encode_data(2, data))))
            with pytest.raises(serial.SerialTimeoutException):
                port.write(bytes(STALL_BUFFER_BYTES))
            board.unstall()
            port.write(encode_frame(encode_request(RequestType.END_FILE_TRANSFER)))
            replies = read_replies(port, 2)  # the held packet was read after all: 2 of 20 packets arrived
            assert [(m.type, m.text) for m in replies] == [
                (R.TEXT_ERROR, "Download of '/meadow0/big.bin' failed due to file size mismatch calculated:16376, "
                               "sender:163760"),
                (R.TEXT_CONCLUDED, "")]
            assert port.out_waiting == 0
    finally:
        forget_board(url)
