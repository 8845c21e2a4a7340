"""Which replies belong to a request, which end it, and what they mean (spec §5, §7, §8, §11, §16). Sans-I/O.

There is no request id on the wire and "concluded" is the only end marker (spec §5), so a reply can
only be matched to a request by its *shape*. Each request has a grammar: the reply types that may
open its answer (ACCEPTED or an ERROR; for END the result text), the types that may follow, and
what must have been seen before a CONCLUDED can end it. A message that does not fit is **stale**,
the tail of an earlier request, and is set aside:

* before the request's first reply: a CONCLUDED (a late post-boot one, a trailing one after an
  error), a DNLD_FAIL_RESEND from the download watchdog, a list line, device information…;
* after an opener, a type foreign to the request (say DEVICE_INFO while a START waits): the opener
  was stale too, so everything collected so far is set aside and matching starts again;
* a CONCLUDED before the content the request must carry (device information, the run state, the
  list header, the END result) is set aside, not taken as the end.

What the grammar cannot tell apart (a stale ERROR looks like a fresh refusal) the :class:`SyncBarrier`
removes: after any failure the host sends END + GET_DEVICE_INFORMATION and discards everything
until that pair's replies have arrived. The board answers in order, so whatever came before them
is stale, and the END closes any download a failed attempt may have left open (spec §7.1: while one
is open the board silently drops every command but END).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from hatch_meadow.protocol.codes import UNSOLICITED, RequestType, ResponseType
from hatch_meadow.protocol.packets import Message

R = ResponseType


class Kept(list[Message]):
    """The last ``KEPT_MESSAGES`` messages of a kind, and how many there were (``total``): a board that floods
    STDOUT or stale replies costs counters, not memory."""

    total: int = 0

    def append(self, message: Message) -> None:
        self.total += 1
        if len(self) >= KEPT_MESSAGES:
            del self[0]
        super().append(message)

    def extend(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.append(message)


#: Messages of one kind (unsolicited, stale, discarded) kept per exchange; beyond it only counted.
KEPT_MESSAGES: Final = 64


class Status(Enum):
    """Where an exchange stands."""

    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    RECONNECT = "reconnect"  # the device is rebooting; reopen the port, then wait for its CONCLUDED


#: Reply types that belong to some request's answer; anything else (TEXT_REJECTED, unknown codes) is
#: treated like unsolicited traffic.
KNOWN_REPLIES: Final = frozenset(ResponseType) - {ResponseType.TEXT_REJECTED}

#: An END's result text (spec §7.6, several OS versions): how the sync barrier recognises END's reply.
END_RESULT: Final = re.compile(r"download|'end'|checksum|success", re.IGNORECASE)

#: Requests the device answers with RECONNECT and a reboot (spec §4, §11.2, §11.3).
REBOOTING: Final = frozenset({RequestType.RESTART_PRIMARY_MCU, RequestType.MONO_DISABLE, RequestType.MONO_ENABLE})


@dataclass(frozen=True, slots=True)
class Grammar:
    """The reply shape of one request type."""

    #: Types that may be the first reply.
    openers: frozenset[int] = frozenset({R.TEXT_ACCEPTED, R.TEXT_ERROR})
    #: Types that may follow the opener (CONCLUDED, unsolicited traffic and INFO always may).
    body: frozenset[int] = frozenset({R.TEXT_ERROR})
    #: One of these must have arrived before a CONCLUDED can end the request (empty: the opener is enough).
    needs: frozenset[int] = frozenset()
    #: Types that end the request at once, with the status they give.
    ends: tuple[tuple[int, Status], ...] = ()
    #: A TEXT_ERROR ends the request at once (an invalid path gets no CONCLUDED, spec §7.2, §8.1).
    error_ends: bool = False
    #: Why a CONCLUDED that ends the request without the reply that makes it succeed is a failure
    #: (empty: a CONCLUDED after the needed content is success).
    concluded_fails: str = ""
    #: An INFO line must say this (lower case) for the request to succeed (END's result, spec §7.6).
    success_text: str = ""


def _set(*kinds: int) -> frozenset[int]:
    return frozenset(kinds)


_PLAIN: Final = Grammar()
_GRAMMARS: Final[dict[int, Grammar]] = {
    RequestType.GET_DEVICE_INFORMATION: Grammar(body=_set(R.TEXT_ERROR, R.TEXT_DEVICE_INFO),
                                                needs=_set(R.TEXT_DEVICE_INFO, R.TEXT_ERROR)),
    RequestType.GET_DEVICE_NAME: Grammar(body=_set(R.TEXT_ERROR, R.TEXT_DEVICE_INFO),
                                         needs=_set(R.TEXT_DEVICE_INFO, R.TEXT_ERROR)),
    RequestType.MONO_RUN_STATE: Grammar(needs=_set(R.TEXT_INFORMATION, R.TEXT_ERROR)),
    # START: ACCEPTED then OKAY / FAIL; a refusal is an ERROR first (runtime enabled, invalid path:
    # no CONCLUDED is promised, spec §7.2, §7.3). A CONCLUDED after ACCEPTED but before OKAY is a failure.
    RequestType.START_FILE_TRANSFER: Grammar(
        body=_set(R.TEXT_ERROR, R.INIT_DOWNLOAD_OKAY, R.INIT_DOWNLOAD_FAIL), error_ends=True,
        ends=((R.INIT_DOWNLOAD_OKAY, Status.OK), (R.INIT_DOWNLOAD_FAIL, Status.FAILED)),
        concluded_fails="the board ended the request before accepting the file"),
    # END: the result text (INFO on success, ERROR on a mismatch or with no download open), CONCLUDED.
    # A DNLD_FAIL_RESEND ends it at once: the watchdog closed the download, and the END itself may have
    # been cleared from the board's buffer with it (spec §7.5), so its reply may never come; the sync
    # that follows sends its own END and absorbs a late reply to this one.
    RequestType.END_FILE_TRANSFER: Grammar(
        openers=_set(R.TEXT_ACCEPTED, R.TEXT_INFORMATION, R.TEXT_ERROR),
        body=_set(R.TEXT_ERROR), needs=_set(R.TEXT_INFORMATION, R.TEXT_ERROR),
        concluded_fails="the board did not confirm the file", success_text="succe"),
    RequestType.LIST_FILES_SUBDIR: Grammar(
        body=_set(R.TEXT_ERROR, R.TEXT_LIST_HEADER, R.TEXT_LIST_MEMBER, R.TEXT_CRC_MEMBER),
        needs=_set(R.TEXT_LIST_HEADER), error_ends=True),
    RequestType.LIST_FILES_SUBDIR_CRC: Grammar(
        body=_set(R.TEXT_ERROR, R.TEXT_LIST_HEADER, R.TEXT_LIST_MEMBER, R.TEXT_CRC_MEMBER),
        needs=_set(R.TEXT_LIST_HEADER), error_ends=True),
    RequestType.DELETE_FILE_BY_NAME: Grammar(needs=_set(R.TEXT_INFORMATION, R.TEXT_ERROR)),
    RequestType.UPLOAD_FILE_INIT: Grammar(
        body=_set(R.TEXT_ERROR, R.INIT_UPLOAD_OKAY, R.INIT_UPLOAD_FAIL), needs=_set(R.TEXT_ERROR),
        ends=((R.INIT_UPLOAD_OKAY, Status.OK), (R.INIT_UPLOAD_FAIL, Status.FAILED))),
    RequestType.UPLOAD_START_DATA_SEND: Grammar(
        openers=_set(R.TEXT_ACCEPTED, R.TEXT_ERROR, R.UPLOADING_FILE_DATA, R.UPLOAD_FILE_COMPLETED),
        body=_set(R.TEXT_ERROR, R.UPLOADING_FILE_DATA, R.UPLOAD_FILE_COMPLETED),
        needs=_set(R.UPLOAD_FILE_COMPLETED, R.TEXT_ERROR)),
    RequestType.GET_INITIAL_FILE_BYTES: Grammar(body=_set(R.TEXT_ERROR, R.SEND_INITIAL_FILE_BYTES),
                                                needs=_set(R.SEND_INITIAL_FILE_BYTES, R.TEXT_ERROR)),
}
_REBOOT_GRAMMAR: Final = Grammar(body=_set(R.TEXT_ERROR), needs=_set(R.TEXT_ERROR))


def grammar_for(request: int) -> Grammar:
    """The reply grammar of a request type (plain ACCEPTED … CONCLUDED for those not listed)."""
    if request in REBOOTING:
        return _REBOOT_GRAMMAR
    return _GRAMMARS.get(request, _PLAIN)


@dataclass
class Exchange:
    """The replies to one request, fed one message at a time; stale ones are set aside."""

    request: RequestType
    status: Status = Status.PENDING
    messages: list[Message] = field(default_factory=list)
    unsolicited: Kept = field(default_factory=lambda: Kept())
    stale: Kept = field(default_factory=lambda: Kept())
    errors: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def done(self) -> bool:
        """True once the reply that ends the request arrived."""
        return self.status is not Status.PENDING

    @property
    def begun(self) -> bool:
        """True once a reply that can open this request's answer arrived."""
        return bool(self.messages)

    def texts(self, kind: ResponseType) -> list[str]:
        """Texts of the collected messages of one type."""
        return [m.text for m in self.messages if m.type == kind]

    def saw(self, kind: ResponseType) -> bool:
        """True if a message of this type arrived, whether it belonged to the request or was stale."""
        return any(m.type == kind for m in (*self.messages, *self.stale))

    def _finish(self, status: Status, reason: str = "") -> Status:
        self.status, self.reason = status, reason or self.reason
        return status

    def _restart(self) -> None:
        """The opener was stale after all: set everything collected aside."""
        self.stale.extend(self.messages)
        self.messages.clear()
        self.errors.clear()

    def feed(self, message: Message) -> Status:
        """Account for one message; return the (possibly new) status."""
        kind = message.type
        if self.done or kind in UNSOLICITED or kind not in KNOWN_REPLIES:
            self.unsolicited.append(message)  # incl. TEXT_REJECTED and codes we do not know: never an answer
            return self.status
        if kind == R.DNLD_FAIL_RESEND and self.request == RequestType.END_FILE_TRANSFER:
            self.stale.append(message)
            return self._finish(Status.FAILED, message.text or "the board's download watchdog fired")
        if kind == R.TEXT_RECONNECT:
            if self.request in REBOOTING:
                return self._finish(Status.RECONNECT)
            return self._finish(Status.FAILED, "the board restarted unexpectedly")
        grammar = grammar_for(self.request)
        if self.begun and kind != R.TEXT_CONCLUDED and kind not in grammar.body and kind != R.TEXT_INFORMATION:
            self._restart()  # foreign to this request: what we took for its opener was stale
        if not self.begun:
            if kind not in grammar.openers:
                # A lone INFO may be the OS talking on its own (spec §5); anything else is a leftover.
                (self.unsolicited if kind == R.TEXT_INFORMATION else self.stale).append(message)
                return self.status
        elif kind == R.TEXT_CONCLUDED:
            return self._conclude(message, grammar)
        self.messages.append(message)
        if kind == R.TEXT_ERROR:
            self.errors.append(message.text)
            if grammar.error_ends:
                return self._finish(Status.FAILED, message.text)
        for end_kind, status in grammar.ends:
            if kind == end_kind:
                reason = "" if status is Status.OK else (message.text or "; ".join(self.errors)
                                                          or "the board refused the request")
                return self._finish(status, reason)
        return self.status

    def _conclude(self, message: Message, grammar: Grammar) -> Status:
        if grammar.needs and not any(m.type in grammar.needs for m in self.messages):
            self.stale.append(message)  # too early to be ours: a late post-boot or trailing CONCLUDED
            return self.status
        self.messages.append(message)
        if self.errors:
            return self._finish(Status.FAILED, "; ".join(self.errors))
        if grammar.concluded_fails and not (
                grammar.success_text
                and any(grammar.success_text in t.lower() for t in self.texts(R.TEXT_INFORMATION))):
            return self._finish(Status.FAILED, grammar.concluded_fails)
        return self._finish(Status.OK)


def transfer_failure(message: Message) -> str | None:
    """While data packets stream, the reason to stop: the watchdog's resend request or a write error.

    Progress INFO lines and unsolicited output are not failures (None).
    """
    if message.type == R.DNLD_FAIL_RESEND:
        return message.text or "the board asked to resend the file"
    if message.type == R.TEXT_ERROR:
        return message.text or "the board reported an error during the transfer"
    return None


_END_RESULT: Final = -1  # marks "the last relevant message was an END result text"


@dataclass
class SyncBarrier:
    """Discard replies until those of a sync pair (END, then GET_DEVICE_INFORMATION) have arrived.

    With ``after_end`` (the default) the END's reply (a result text about the download, then
    CONCLUDED) must be seen first, so complete device-information replies to earlier pings (with OS
    INFO lines inside them or not) cannot end the barrier early;
    without it, any complete ACCEPTED, DEVICE_INFO, CONCLUDED sequence ends it (used while pinging a
    board that is still booting, where pings may be lost).
    """

    after_end: bool = True
    done: bool = False
    info_text: str = ""
    #: Everything fed until the barrier completed, its own replies included.
    discarded: Kept = field(default_factory=lambda: Kept())
    #: What arrived after it completed (in the same read): not stale, keep it for the next request.
    after: list[Message] = field(default_factory=list)
    _past_end: bool = False
    _last: int | None = None  # the last relevant message type (or _END_RESULT), ignoring unsolicited traffic
    _triple: list[int] = field(default_factory=list)

    def feed(self, message: Message) -> bool:
        """Account for one message; True once the barrier is complete."""
        if self.done:
            self.after.append(message)
            return True
        kind = message.type
        self.discarded.append(message)
        if kind in UNSOLICITED or kind not in KNOWN_REPLIES:
            return False
        past_end = self._past_end or not self.after_end
        if not past_end:
            if kind == R.TEXT_CONCLUDED and self._last == _END_RESULT:
                self._past_end = True
            if kind in (R.TEXT_INFORMATION, R.TEXT_ERROR):
                # Only an END result counts; the OS's own INFO lines (spec §5) are ignored here too.
                if END_RESULT.search(message.text):
                    self._last = _END_RESULT
                elif kind == R.TEXT_ERROR:
                    self._last = kind
            else:
                self._last = kind
            return False
        self._last = kind
        if kind == R.TEXT_INFORMATION:
            return False  # the OS may talk at any time; it does not break the sequence
        if kind == R.TEXT_ACCEPTED:
            self._triple = [kind]
        elif kind == R.TEXT_DEVICE_INFO and self._triple == [R.TEXT_ACCEPTED]:
            self._triple.append(kind)
            self.info_text = message.text
        elif kind == R.TEXT_CONCLUDED and len(self._triple) == 2:
            self.done = True
        else:
            self._triple = []
        return self.done

    def feed_all(self, messages: Iterable[Message]) -> bool:
        """Feed several messages; True once complete (later ones are kept in ``after``)."""
        for message in messages:
            self.feed(message)
        return self.done
