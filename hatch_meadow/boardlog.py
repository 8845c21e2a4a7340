"""The board's console as lines: which stream, redacted, explained; and the verdict of a watch.

Lines come from the board (hostile until checked): each is cut to a sane length, made terminal-safe, and
redacted before it is shown or recorded: PEM blocks, long base64 runs and the deployed set's passphrase
never leave this module. A line that carries an Mbed TLS error or a known TLS failure message is an
error line (with its explanation); one matching the ready pattern ends a watch as "ready".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from hatch_meadow.explain.report import ItemReport, explain_line
from hatch_meadow.protocol.codes import ResponseType
from hatch_meadow.protocol.packets import Message

MAX_LINE_CHARS: Final = 500
MAX_KEPT_LINES: Final = 2000
STREAMS: Final = {ResponseType.TEXT_MONO_STDOUT: "stdout", ResponseType.TEXT_MONO_STDERR: "stderr",
                  ResponseType.TEXT_TRACE_MSG: "trace", ResponseType.TEXT_INFORMATION: "info"}
BASE64_RUN: Final = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
Verdict = Literal["ready", "error", "silent"]
TLS_MESSAGES: Final = frozenset({"private-key-parse", "certificate-parse", "handshake", "pair"})


@dataclass(frozen=True, slots=True)
class LogLine:
    """One console line: seconds since the watch began, the stream, the (redacted) text, and for an error line
    its explanation."""

    at: float
    stream: str
    text: str
    boot: int  # how many reboots the host had seen when it arrived
    explanation: ItemReport | None = None

    @property
    def is_error(self) -> bool:
        return self.explanation is not None

    def to_json(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "stream": self.stream, "text": self.text,
                "error": None if self.explanation is None else self.explanation.to_json()}


@dataclass
class BoardLog:
    """Lines as they arrive (``feed``), the first error, the ready line."""

    ready: re.Pattern[str] | None = None
    secrets: Sequence[bytes] = ()
    boot: Callable[[], int] = lambda: 0
    on_line: Callable[[LogLine], None] | None = None
    started: float = field(default_factory=time.monotonic)
    lines: list[LogLine] = field(default_factory=list)
    dropped: int = 0
    _in_pem: bool = False

    def feed(self, message: Message) -> None:
        """Take one console message (it may hold several lines)."""
        stream = STREAMS.get(message.type, "info")  # type: ignore[call-overload]
        for raw in message.payload.decode("utf-8", errors="replace").splitlines() or [""]:
            text = self._redact(raw)
            if not text.strip():
                continue
            found = explain_line(text)
            failing = bool(TLS_MESSAGES & {m.key for m in found.messages}) or any(
                c.advice is not None for c in found.codes)
            line = LogLine(time.monotonic() - self.started, stream, text, self.boot(), found if failing else None)
            if len(self.lines) < MAX_KEPT_LINES:
                self.lines.append(line)
            else:
                self.dropped += 1
            if self.on_line is not None:
                self.on_line(line)

    def _redact(self, raw: str) -> str:
        from hatch_meadow.textsafe import printable

        text = raw[:MAX_LINE_CHARS]
        if "-----BEGIN" in text:
            self._in_pem = "-----END" not in text.split("-----BEGIN", 1)[1]
            text = text.split("-----BEGIN", 1)[0] + "[redacted: PEM block]"
        elif self._in_pem:
            self._in_pem = "-----END" not in text
            return "[redacted]"
        for secret in self.secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret.decode("utf-8", errors="replace"), "[redacted]")
        return printable(BASE64_RUN.sub("[redacted]", text))

    def since(self, boot: int) -> list[LogLine]:
        """Lines that arrived after the host saw reboot number ``boot``."""
        return [line for line in self.lines if line.boot >= boot]

    def verdict(self, boot: int = 0) -> tuple[Verdict, LogLine | None]:
        """"error" (the first error line), "ready" (the ready line) or "silent", counting lines from ``boot``."""
        for line in self.since(boot):
            if line.is_error:
                return "error", line
            if self.ready is not None and self.ready.search(line.text):
                return "ready", line
        return "silent", None

    def decided(self, boot: int = 0) -> bool:
        return self.verdict(boot)[0] != "silent"


def ready_pattern(text: str | None) -> re.Pattern[str] | None:
    """The compiled ``--ready`` / ``ready-pattern`` regex.

    Raises:
        InputError: not a valid regular expression.
    """
    if text is None:
        return None
    from hatch_meadow.errors import InputError

    try:
        return re.compile(text)
    except re.error as exc:
        raise InputError(f"--ready {text!r} is not a valid regular expression ({exc})",
                         hint="e.g. --ready 'connected to the IoT hub'") from exc


def explanation_summary(line: LogLine) -> list[str]:
    """Two or three short lines under an error line: what the code is, the cause, the first fix."""
    item = line.explanation
    if item is None:
        return []
    out = []
    for code in item.codes:
        names = "+".join(code.names()) or "unknown code"
        out.append(f"{names} ({code.code} = {code.to_json()['hex']})")
    advice = item.advice()
    if advice is not None:
        where = f" [{advice.file}]" if advice.file else ""
        out.append(f"cause{where}: {advice.cause}")
        if advice.fixes:
            out.append(f"fix: {advice.fixes[0]}")
    return out
