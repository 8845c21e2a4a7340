"""MSBuild property expansion and conditions, evaluated only as far as the values are known. Pure.

Everything here is three-valued: a condition is ``True``, ``False`` or ``None`` (unknown), and an
expansion is a string or ``None``. Unknown means the text reads a property whose value hatch-meadow
does not know, calls a property or condition function (``$([MSBuild]::…)``, ``Exists(…)``,
``$(TargetFramework.StartsWith(…))``), refers to items or metadata (``@(…)``, ``%(…)``) or uses syntax
this small parser does not model. Comparisons are case-insensitive, as MSBuild's are (MSBuild
reference, "Conditions"); ``and`` with one false side is false even if the other side is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

#: A property lookup: the value, or None when hatch-meadow does not know it.
Lookup = Callable[[str], "str | None"]

#: ``$(Name)``: a plain property reference (names are letters, digits, ``_`` and ``-``; no dots, so
#: ``$(X.Method())`` stays unexpanded and makes the text unknown).
_REFERENCE: Final = re.compile(r"\$\(\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\)")
_TOKEN: Final = re.compile(
    r"\s*(?:(?P<quoted>'[^']*')|(?P<op>==|!=|<=|>=|<|>|!|\(|\))|(?P<prop>\$\()|(?P<word>[A-Za-z0-9_.:\\/-]+))"
)
_TRUE: Final = frozenset({"true", "on", "yes"})
_FALSE: Final = frozenset({"false", "off", "no"})


class _Unsupported(Exception):
    """The condition uses syntax outside the model: its value is unknown."""


def expand(text: str, lookup: Lookup) -> str | None:
    """``text`` with every ``$(Name)`` replaced by its value; None if any part is unknown."""
    if "@(" in text or "%(" in text:
        return None
    parts: list[str] = []
    position = 0
    for match in _REFERENCE.finditer(text):
        value = lookup(match.group(1))
        if value is None:
            return None
        parts += [text[position:match.start()], value]
        position = match.end()
    parts.append(text[position:])
    if any("$(" in part for part in parts[::2]):
        return None  # a property function or some other expansion we do not model
    return "".join(parts)


def evaluate_condition(condition: str, lookup: Lookup) -> bool | None:
    """The condition's value, or None when it depends on something unknown. An empty condition is true."""
    if not condition.strip():
        return True
    try:
        parser = _Parser(_tokens(condition), lookup)
        value = parser.disjunction()
        if parser.position != len(parser.tokens):
            raise _Unsupported("trailing tokens")
    except _Unsupported:
        return None
    return value


def evaluate_all(conditions: Iterable[str], lookup: Lookup) -> bool | None:
    """The conjunction of several conditions (an import's, a group's, an element's)."""
    result: bool | None = True
    for condition in conditions:
        value = evaluate_condition(condition, lookup)
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens; ``$(…)`` and ``Name(…)`` calls are kept whole, with balanced parentheses."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise _Unsupported(f"unexpected text at {position}")
        kind = str(match.lastgroup)
        start = match.start(kind)
        position = match.end()
        if kind == "prop" or (kind == "word" and text[position:position + 1] == "("):
            end = _balanced_end(text, position if kind == "word" else position - 1)
            tokens.append(("call" if kind == "word" else "operand", text[start:end]))
            position = end
        else:
            tokens.append((kind, match.group(kind)))
    return tokens


def _balanced_end(text: str, open_paren: int) -> int:
    """The offset just after the parenthesis that closes the one at ``open_paren``."""
    depth = 0
    quoted = False
    for index in range(open_paren, len(text)):
        char = text[index]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    raise _Unsupported("unbalanced parentheses")


class _Parser:
    """Recursive descent over the tokens: or > and > not > comparison or boolean operand."""

    def __init__(self, tokens: list[tuple[str, str]], lookup: Lookup) -> None:
        self.tokens = tokens
        self.position = 0
        self.lookup = lookup

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise _Unsupported("unexpected end")
        self.position += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.position += 1
            return True
        return False

    def disjunction(self) -> bool | None:
        value = self._conjunction()
        while self._keyword("or"):
            other = self._conjunction()
            value = True if value is True or other is True else (None if None in (value, other) else False)
        return value

    def _conjunction(self) -> bool | None:
        value = self._negation()
        while self._keyword("and"):
            other = self._negation()
            value = False if value is False or other is False else (None if None in (value, other) else True)
        return value

    def _negation(self) -> bool | None:
        if self._peek() == ("op", "!"):
            self.position += 1
            value = self._negation()
            return None if value is None else not value
        return self._primary()

    def _primary(self) -> bool | None:
        if self._peek() == ("op", "("):
            self.position += 1
            value = self.disjunction()
            if self._take() != ("op", ")"):
                raise _Unsupported("missing )")
            return value
        left = self._operand()
        token = self._peek()
        if token is not None and token[0] == "op" and token[1] in ("==", "!=", "<", ">", "<=", ">="):
            self.position += 1
            return _compare(left, token[1], self._operand())
        if left is None:
            return None
        lowered = left.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise _Unsupported(f"{left!r} is not a boolean")

    def _operand(self) -> str | None:
        kind, text = self._take()
        if kind == "quoted":
            return expand(text[1:-1], self.lookup)
        if kind == "operand":
            return expand(text, self.lookup)
        if kind == "word" and text.lower() not in ("and", "or"):
            return text
        if kind == "call":
            return None  # Exists(), HasTrailingSlash(): depend on the file system or unknown values
        raise _Unsupported(f"unexpected {text!r}")


def _compare(left: str | None, op: str, right: str | None) -> bool | None:
    if left is None or right is None:
        return None
    if op in ("==", "!="):
        return (left.lower() == right.lower()) == (op == "==")
    try:
        a, b = float(left), float(right)
    except ValueError:
        return None  # MSBuild compares versions here too; not modelled
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
