"""The sans-I/O reply grammar and the sync barrier, fed scripted message sequences (no I/O at all)."""

from __future__ import annotations

import pytest

from hatch_meadow.protocol.codes import RequestType, ResponseType
from hatch_meadow.protocol.exchange import Exchange, Status, SyncBarrier, grammar_for, transfer_failure
from hatch_meadow.protocol.packets import Message

R = ResponseType
Q = RequestType

ACCEPTED = Message(R.TEXT_ACCEPTED)
CONCLUDED = Message(R.TEXT_CONCLUDED)
OKAY = Message(R.INIT_DOWNLOAD_OKAY)
DEVICE_INFO = Message(R.TEXT_DEVICE_INFO, payload=b"Model|F7Micro~SerialNo|ABC")
STDOUT = Message(R.TEXT_MONO_STDOUT, payload=b"App: hello")
RESEND = Message(R.DNLD_FAIL_RESEND, payload=b"File '/meadow0/a' download failed, resend")
NO_DOWNLOAD = Message(R.TEXT_ERROR, payload=b"'End' command received, but no active download")
SUCCESS = Message(R.TEXT_INFORMATION, payload=b"Download of '/meadow0/a' succeeded (checksum:0x0)")
PING_REPLY = [ACCEPTED, DEVICE_INFO, CONCLUDED]


def info(text: str) -> Message:
    return Message(R.TEXT_INFORMATION, payload=text.encode())


def error(text: str) -> Message:
    return Message(R.TEXT_ERROR, payload=text.encode())


def run(request: RequestType, messages: list[Message]) -> Exchange:
    """Feed messages until the exchange ends; assert nothing is fed after that."""
    exchange = Exchange(request)
    for index, message in enumerate(messages):
        exchange.feed(message)
        if exchange.done:
            assert index == len(messages) - 1, f"ended early at message {index}"
    return exchange


# -- the plain shapes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("request_type", "messages", "status"), [
    (Q.GET_DEVICE_INFORMATION, PING_REPLY, Status.OK),
    (Q.MONO_RUN_STATE, [ACCEPTED, info("Mono is enabled"), CONCLUDED], Status.OK),
    (Q.START_FILE_TRANSFER, [ACCEPTED, OKAY], Status.OK),
    (Q.START_FILE_TRANSFER, [ACCEPTED, Message(R.INIT_DOWNLOAD_FAIL, payload=b"busy")], Status.FAILED),
    (Q.START_FILE_TRANSFER, [error("Mono must be disabled for file download")], Status.FAILED),
    (Q.START_FILE_TRANSFER, [ACCEPTED, CONCLUDED], Status.FAILED),
    (Q.END_FILE_TRANSFER, [SUCCESS, CONCLUDED], Status.OK),
    (Q.END_FILE_TRANSFER, [info("File 50% downloaded"), SUCCESS, CONCLUDED], Status.OK),
    (Q.END_FILE_TRANSFER, [error("Download of 'a' failed due to checksum mismatch"), CONCLUDED], Status.FAILED),
    (Q.END_FILE_TRANSFER, [info("File 50% downloaded"), CONCLUDED], Status.FAILED),
    (Q.LIST_FILES_SUBDIR_CRC, [ACCEPTED, Message(R.TEXT_LIST_HEADER), Message(R.TEXT_CRC_MEMBER, payload=b"x"),
                               CONCLUDED], Status.OK),
    (Q.LIST_FILES_SUBDIR_CRC, [error("Path name 'x' is invalid")], Status.FAILED),
    (Q.DELETE_FILE_BY_NAME, [ACCEPTED, info("File 'a' deleted"), CONCLUDED], Status.OK),
    (Q.DELETE_FILE_BY_NAME, [ACCEPTED, error("No such file"), CONCLUDED], Status.FAILED),
    (Q.MONO_DISABLE, [ACCEPTED, info("Mono has been disabled"), Message(R.TEXT_RECONNECT)], Status.RECONNECT),
    (Q.RESTART_PRIMARY_MCU, [ACCEPTED, Message(R.TEXT_RECONNECT)], Status.RECONNECT),
    (Q.MONO_RUN_STATE, [ACCEPTED, Message(R.TEXT_RECONNECT)], Status.FAILED),
    (Q.UPLOAD_FILE_INIT, [ACCEPTED, error("cannot be opened"), Message(R.INIT_UPLOAD_FAIL)], Status.FAILED),
    (Q.UPLOAD_START_DATA_SEND, [Message(R.UPLOADING_FILE_DATA, payload=b"abc"),
                                Message(R.UPLOAD_FILE_COMPLETED), CONCLUDED], Status.OK),
    (Q.CHANGE_TRACE_LEVEL, [ACCEPTED, CONCLUDED], Status.OK),
])
def test_plain_reply_shapes(request_type: RequestType, messages: list[Message], status: Status) -> None:
    """Each request's own reply sequence (spec §4, §7, §8, §11) ends it with the right status."""
    assert run(request_type, messages).status is status


def test_unsolicited_traffic_is_set_aside_anywhere() -> None:
    """STDOUT before, inside and after a reply never changes its meaning (spec §5, §16)."""
    exchange = run(Q.GET_DEVICE_INFORMATION, [STDOUT, ACCEPTED, STDOUT, DEVICE_INFO, STDOUT, CONCLUDED])
    assert exchange.status is Status.OK
    assert len(exchange.unsolicited) == 3
    assert exchange.stale == []


# -- stale replies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("leftover", [CONCLUDED, RESEND, DEVICE_INFO, Message(R.TEXT_LIST_HEADER), OKAY])
def test_a_leftover_before_the_first_reply_is_stale(leftover: Message) -> None:
    """A CONCLUDED or DNLD_FAIL_RESEND (or any type that cannot open the reply) before the request's first
    reply belongs to an earlier request: a retry START must not take it as its answer."""
    exchange = run(Q.START_FILE_TRANSFER, [leftover, ACCEPTED, OKAY])
    assert exchange.status is Status.OK
    assert exchange.stale == [leftover]


def test_late_post_boot_concluded_does_not_end_any_request() -> None:
    """A post-boot CONCLUDED that arrives after the ping was answered is stale for every later request."""
    for request_type, reply in [
        (Q.MONO_RUN_STATE, [ACCEPTED, info("Mono is disabled"), CONCLUDED]),
        (Q.LIST_FILES_SUBDIR_CRC, [ACCEPTED, Message(R.TEXT_LIST_HEADER), CONCLUDED]),
        (Q.END_FILE_TRANSFER, [SUCCESS, CONCLUDED]),
        (Q.DELETE_FILE_BY_NAME, [ACCEPTED, info("deleted"), CONCLUDED]),
        (Q.GET_DEVICE_INFORMATION, PING_REPLY),
    ]:
        exchange = run(request_type, [CONCLUDED, *reply])
        assert (exchange.status, exchange.stale) == (Status.OK, [CONCLUDED]), request_type.name


def test_concluded_before_required_content_is_stale() -> None:
    """A CONCLUDED that slips in between ACCEPTED and the content a request must carry is not its end."""
    exchange = run(Q.MONO_RUN_STATE, [ACCEPTED, CONCLUDED, info("Mono is enabled"), CONCLUDED])
    assert exchange.status is Status.OK
    assert exchange.texts(R.TEXT_INFORMATION) == ["Mono is enabled"]
    assert exchange.stale == [CONCLUDED]


def test_stale_ping_reply_before_a_start_is_set_aside() -> None:
    """An old ping's ACCEPTED looks like START's opener, but its DEVICE_INFO gives it away: all of it is stale."""
    exchange = run(Q.START_FILE_TRANSFER, [*PING_REPLY, ACCEPTED, OKAY])
    assert exchange.status is Status.OK
    assert exchange.stale == PING_REPLY


def test_rebooting_request_ignores_a_bare_concluded() -> None:
    """MONO_DISABLE ends at RECONNECT; a stray CONCLUDED after its ACCEPTED does not end it."""
    exchange = run(Q.MONO_DISABLE, [ACCEPTED, CONCLUDED, info("Mono has been disabled"), Message(R.TEXT_RECONNECT)])
    assert exchange.status is Status.RECONNECT


def test_end_crossed_by_the_watchdog_fails_at_once() -> None:
    """The stall case: RESEND arrives while END waits in the pipe. END fails there and then (its own reply
    may never come if the watchdog cleared the board's buffer); the late reply is the sync's to absorb."""
    exchange = run(Q.END_FILE_TRANSFER, [RESEND])
    assert exchange.status is Status.FAILED
    assert exchange.reason == RESEND.text
    assert exchange.saw(R.DNLD_FAIL_RESEND)


def test_end_with_resend_inside_fails() -> None:
    """A RESEND after progress lines (inside END's reply) makes END fail at once."""
    exchange = run(Q.END_FILE_TRANSFER, [info("File 10% downloaded"), RESEND])
    assert exchange.status is Status.FAILED


@pytest.mark.parametrize("odd", [Message(R.TEXT_REJECTED, payload=b"no"), Message(0x0314), Message(0x0999)])
def test_rejected_and_unknown_types_are_not_answers(odd: Message) -> None:
    """TEXT_REJECTED and codes we do not know never restart or end a reply: START still sees its OKAY."""
    exchange = run(Q.START_FILE_TRANSFER, [ACCEPTED, odd, OKAY])
    assert exchange.status is Status.OK
    assert exchange.unsolicited == [odd]


def test_file_read_start_needs_its_okay() -> None:
    """A stray CONCLUDED after ACCEPTED does not end UPLOAD_FILE_INIT (it would skip the CRC check)."""
    exchange = Exchange(Q.UPLOAD_FILE_INIT)
    for message in [ACCEPTED, CONCLUDED]:
        exchange.feed(message)
    assert not exchange.done
    exchange.feed(Message(R.INIT_UPLOAD_OKAY))
    assert exchange.status is Status.OK


def test_unexpected_reboot_fails_the_request() -> None:
    """RECONNECT in answer to a request that does not reboot: the request failed."""
    assert run(Q.LIST_FILES_SUBDIR, [Message(R.TEXT_RECONNECT)]).reason == "the board restarted unexpectedly"


def test_transfer_failure_signals() -> None:
    """During data: RESEND and ERROR stop the transfer; progress and STDOUT do not."""
    assert transfer_failure(RESEND) == RESEND.text
    assert transfer_failure(error("Write of 'a', seq 3 failed")) == "Write of 'a', seq 3 failed"
    assert transfer_failure(info("File 10% downloaded")) is None
    assert transfer_failure(STDOUT) is None


def test_grammar_defaults_for_unlisted_requests() -> None:
    """Requests without their own grammar take ACCEPTED … CONCLUDED."""
    assert grammar_for(Q.SEND_TRACE_TO_HOST) == grammar_for(Q.NO_TRACE_TO_HOST)
    assert not grammar_for(Q.SEND_TRACE_TO_HOST).needs


# -- the sync barrier ---------------------------------------------------------------------------------------


def feed(barrier: SyncBarrier, messages: list[Message]) -> int | None:
    """Index of the message that completed the barrier, or None."""
    for index, message in enumerate(messages):
        if barrier.feed(message):
            return index
    return None


def test_barrier_waits_for_the_end_reply_then_the_ping_reply() -> None:
    """Everything up to END's reply and the ping's ACCEPTED, DEVICE_INFO, CONCLUDED is discarded."""
    stream = [ACCEPTED, OKAY, error("stale"), CONCLUDED, NO_DOWNLOAD, CONCLUDED, *PING_REPLY]
    barrier = SyncBarrier()
    assert feed(barrier, stream) == len(stream) - 1
    assert barrier.info_text == DEVICE_INFO.text


def test_barrier_skips_stale_ping_replies_before_the_end_reply() -> None:
    """Replies to earlier pings (a reconnect's repeated pings) cannot complete the barrier early."""
    stream = [*PING_REPLY, *PING_REPLY, NO_DOWNLOAD, CONCLUDED, *PING_REPLY]
    assert feed(SyncBarrier(), stream) == len(stream) - 1


def test_barrier_survives_noise_and_extra_concludeds() -> None:
    """Lone CONCLUDEDs (late post-boot, after every error), STDOUT and INFO lines do not fool it."""
    stream = [CONCLUDED, RESEND, CONCLUDED, STDOUT, NO_DOWNLOAD, CONCLUDED, CONCLUDED, STDOUT, ACCEPTED,
              info("os talking"), DEVICE_INFO, STDOUT, CONCLUDED]
    assert feed(SyncBarrier(), stream) == len(stream) - 1


def test_barrier_ignores_os_info_inside_stale_ping_replies() -> None:
    """An OS INFO line at the end of a stale ping reply is not an END result: the stale ping replies that
    follow cannot complete the barrier before the sync's own END reply (found in review)."""
    os_info = info("Meadow OS: network up")
    stale = [ACCEPTED, DEVICE_INFO, os_info, CONCLUDED, *PING_REPLY]
    stream = [*stale, NO_DOWNLOAD, CONCLUDED, *PING_REPLY]
    barrier = SyncBarrier()
    assert feed(barrier, stream) == len(stream) - 1


def test_barrier_recognises_an_end_that_closed_a_download() -> None:
    """The sync's END may close an open download: its 'Download of … failed/succeeded' text counts too."""
    for result in [error("Download of 'a' failed due to file size mismatch calculated:1, sender:2"), SUCCESS]:
        stream = [*PING_REPLY, result, CONCLUDED, *PING_REPLY]
        assert feed(SyncBarrier(), stream) == len(stream) - 1


def test_barrier_keeps_what_comes_after() -> None:
    """Messages after the barrier completed (same read) are kept for the next request, not discarded."""
    barrier = SyncBarrier()
    barrier.feed_all([NO_DOWNLOAD, CONCLUDED, *PING_REPLY, STDOUT, ACCEPTED])
    assert barrier.done
    assert barrier.after == [STDOUT, ACCEPTED]


def test_ping_only_barrier_takes_the_first_complete_reply() -> None:
    """after_end=False (pinging a booting board): any complete ping reply ends it; a broken one does not."""
    stream = [ACCEPTED, CONCLUDED, DEVICE_INFO, CONCLUDED, *PING_REPLY]
    assert feed(SyncBarrier(after_end=False), stream) == len(stream) - 1
