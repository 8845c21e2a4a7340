"""Which replies end a request, and what they mean (spec §5, §7, §8, §11, §16). Sans-I/O.

There is no request id on the wire: the host keeps one request outstanding and reads until the
reply that ends it. Unsolicited STDOUT/STDERR/TRACE frames can arrive at any time and are set aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from hatch_meadow.protocol.codes import UNSOLICITED, RequestType, ResponseType
from hatch_meadow.protocol.packets import Message


class Status(Enum):
    """Where an exchange stands."""

    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    RECONNECT = "reconnect"  # the device is rebooting; reopen the port, then wait for CONCLUDED


#: Requests the device answers with RECONNECT and a reboot (spec §4, §11.2, §11.3).
REBOOTING = frozenset({RequestType.RESTART_PRIMARY_MCU, RequestType.MONO_DISABLE, RequestType.MONO_ENABLE})


@dataclass
class Exchange:
    """The replies to one request, fed one message at a time."""

    request: RequestType
    status: Status = Status.PENDING
    messages: list[Message] = field(default_factory=list)
    unsolicited: list[Message] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def done(self) -> bool:
        """True once a terminal reply arrived."""
        return self.status is not Status.PENDING

    def texts(self, kind: ResponseType) -> list[str]:
        """Texts of the collected messages of one type."""
        return [m.text for m in self.messages if m.type == kind]

    def _finish(self, status: Status, reason: str = "") -> Status:
        self.status, self.reason = status, reason or self.reason
        return status

    def feed(self, message: Message) -> Status:
        """Account for one message; return the (possibly new) status."""
        if self.done:
            self.unsolicited.append(message)
            return self.status
        if message.type in UNSOLICITED:
            self.unsolicited.append(message)
            return self.status
        self.messages.append(message)
        kind, req = message.type, self.request
        if kind == ResponseType.TEXT_ERROR:
            self.errors.append(message.text)
            if req in (RequestType.LIST_FILES_SUBDIR, RequestType.LIST_FILES_SUBDIR_CRC,
                       RequestType.START_FILE_TRANSFER):
                # An invalid path gets ERROR and no CONCLUDED (spec §7.2, §8.1): do not wait for one.
                return self._finish(Status.FAILED, message.text)
            return self.status
        if kind == ResponseType.TEXT_RECONNECT:
            return self._finish(Status.RECONNECT if req in REBOOTING else Status.FAILED,
                                "" if req in REBOOTING else "the device restarted unexpectedly")
        if kind == ResponseType.DNLD_FAIL_RESEND:
            return self._finish(Status.FAILED, message.text or "download failed, resend")
        if req == RequestType.START_FILE_TRANSFER:
            if kind == ResponseType.INIT_DOWNLOAD_OKAY:
                return self._finish(Status.OK)
            if kind == ResponseType.INIT_DOWNLOAD_FAIL:
                return self._finish(Status.FAILED, message.text or "the device refused the download")
            if kind == ResponseType.TEXT_CONCLUDED:
                return self._finish(Status.FAILED, "the device ended the request before accepting the file")
            return self.status
        if req == RequestType.UPLOAD_FILE_INIT:
            if kind == ResponseType.INIT_UPLOAD_OKAY:
                return self._finish(Status.OK)
            if kind == ResponseType.INIT_UPLOAD_FAIL:
                return self._finish(Status.FAILED, "; ".join(self.errors) or "the device cannot send that file")
        if kind == ResponseType.TEXT_CONCLUDED:
            if req == RequestType.GET_DEVICE_INFORMATION and not self.texts(ResponseType.TEXT_DEVICE_INFO) \
                    and not self.errors:
                # After a reboot the board sends one CONCLUDED on its own (spec §5, §11.2); the
                # information request, used as the reconnect ping, always carries DEVICE_INFO first.
                self.messages.pop()
                return self.status
            if self.errors:
                return self._finish(Status.FAILED, "; ".join(self.errors))
            if req == RequestType.END_FILE_TRANSFER and not any(
                    "succe" in t.lower() for t in self.texts(ResponseType.TEXT_INFORMATION)):
                return self._finish(Status.FAILED, "the device did not confirm the file")
            return self._finish(Status.OK)
        return self.status
