"""Explanations of codes, lines and logs: the parts, what each release calls them, the cause and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from hatch_meadow.explain.advice import CHECK, Advice, advice_for
from hatch_meadow.explain.table import Part, board_definition, board_first, releases, split, to_hex
from hatch_meadow.explain.text import Message, codes_in, messages_in, parse_code

MESSAGE_ADVICE: Final = {
    "private-key-parse": Advice("the deployed key, or the pass file beside it, is one the board's Mbed TLS rejects",
                                (CHECK + "  # the exact reason, predicted and from real Mbed TLS",
                                 "hatch-meadow fix", "hatch-meadow generate --force"), "private_key.pem"),
    "certificate-parse": Advice("the deployed client_cert.pem is one the board's Mbed TLS rejects",
                                (CHECK, "hatch-meadow generate --keep-key"), "client_cert.pem"),
    "handshake": Advice("the server refused the connection during the TLS handshake",
                        ("hatch-meadow verify-tls --host HOST --mqtt",)),
    "pair": Advice("the certificate does not belong to the key", ("hatch-meadow generate --keep-key", CHECK),
                   "client_cert.pem"),
}


@dataclass(frozen=True, slots=True)
class CodeReport:
    """One error code: its parts and what to do."""

    code: int
    parts: tuple[Part, ...]
    advice: Advice | None

    @property
    def known(self) -> bool:
        return bool(self.parts) and all(p.known for p in self.parts)

    def names(self) -> list[str]:
        """Each known part's name as the board (3.x) would call it, high-level first."""
        return [board_definition(p).name for p in self.parts if p.known]

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code, "hex": to_hex(self.code), "known": self.known,
            "parts": [{"value": p.value, "hex": p.hex, "level": p.level, "known": p.known,
                       "definitions": [{"constant": d.constant, "module": d.module, "description": d.description,
                                        "releases": list(d.releases)} for d in _board_first(p)]}
                      for p in self.parts],
            "cause": None if self.advice is None else self.advice.cause,
            "file": None if self.advice is None else self.advice.file,
            "fixes": [] if self.advice is None else list(self.advice.fixes),
        }


@dataclass(slots=True)
class ItemReport:
    """One input (an argument or a log line) and what was recognised in it."""

    text: str
    kind: Literal["code", "line"]
    messages: list[Message] = field(default_factory=list)
    codes: list[CodeReport] = field(default_factory=list)

    @property
    def recognised(self) -> bool:
        return bool(self.messages or self.codes)

    @property
    def explained(self) -> bool:
        """Everything recognised is known (a line with nothing recognised is not explained)."""
        return self.recognised and all(c.known for c in self.codes)

    def advice(self) -> Advice | None:
        for report in self.codes:
            if report.advice is not None:
                return report.advice
        return next((MESSAGE_ADVICE[m.key] for m in self.messages if m.key in MESSAGE_ADVICE), None)

    def to_json(self) -> dict[str, Any]:
        advice = self.advice()
        return {"input": self.text, "kind": self.kind, "explained": self.explained,
                "messages": [{"key": m.key, "meaning": m.meaning} for m in self.messages],
                "codes": [c.to_json() for c in self.codes],
                "cause": None if advice is None else advice.cause,
                "fixes": [] if advice is None else list(advice.fixes)}


def _board_first(part: Part) -> list[Any]:
    return board_first(part) if part.known else []


def explain_code(code: int) -> CodeReport:
    """The parts of a negative ``code`` and the advice for it."""
    parts = tuple(split(code))
    names = [board_definition(p).name for p in parts if p.known]
    return CodeReport(code, parts, advice_for(names))


def explain_line(line: str) -> ItemReport:
    """Messages and codes recognised in one line."""
    messages = messages_in(line)
    codes = [explain_code(c) for c in codes_in(line, message_seen=bool(messages))]
    return ItemReport(line, "line", messages, codes)


def explain_argument(argument: str) -> ItemReport:
    """A code (``-4352``, ``0x3D62``…) or, failing that, a whole line."""
    code = parse_code(argument)
    if code is not None:
        return ItemReport(argument, "code", [], [explain_code(code)])
    return explain_line(argument)


def explain_log(text: str) -> list[ItemReport]:
    """Every line of ``text`` that carries a code or a known message."""
    reports = [explain_line(line) for line in text.splitlines()]
    return [r for r in reports if r.recognised]


def known_releases() -> str:
    return ", ".join(releases())
