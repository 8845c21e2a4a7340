"""Building the simulated board's replies (spec §3, §5): one message per line of text, seq 0."""

from __future__ import annotations

import re
from typing import Final

from hatch_meadow.protocol.codes import HEADER_SIZE, MAX_PACKET_BYTES, ResponseType
from hatch_meadow.protocol.packets import Message

#: Device → host packets are at most 8192 decoded bytes, so 8180 payload bytes per message (spec §1, §8.4).
MAX_REPLY_PAYLOAD_BYTES: Final = MAX_PACKET_BYTES - HEADER_SIZE
#: The firmware's catch-all follow-up error for a refused download or delete (spec §7.2, §8.1).
PROCESSING_ERROR: Final = "Error during download or delete command processing"


def decode_name(raw: bytes) -> str:
    """A path or name sent by the host (ASCII from CLI v2, UTF-8 from v1)."""
    return raw.decode("utf-8", "replace")


def reply(kind: ResponseType, text: str = "", *, payload: bytes | None = None, user_data: int = 0) -> Message:
    """One device message: seq 0, the device's version (Message's default, 7), text cut at CR/LF (§5)."""
    if payload is None:
        payload = re.split(r"[\r\n]", text, maxsplit=1)[0].encode()
    return Message(type=kind, user_data=user_data, payload=payload[:MAX_REPLY_PAYLOAD_BYTES])


def info(text: str) -> Message:
    """A TEXT_INFORMATION line."""
    return reply(ResponseType.TEXT_INFORMATION, text)


def error(text: str) -> Message:
    """A TEXT_ERROR line."""
    return reply(ResponseType.TEXT_ERROR, text)
