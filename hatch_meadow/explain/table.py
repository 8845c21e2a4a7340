"""Mbed TLS error codes by value, as the public headers of 2.28.8, 3.5.2 and 3.6.6 define them.

A return value is a high-level part (bits 7..14 of its magnitude) plus a low-level part (bits 0..6), each
named by the module that defines it; a value can mean different things in 2.28 and 3.x (the SSL module
renumbered), so each part keeps every definition with the releases that use it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal

HIGH_MASK: Final = 0xFF80
LOW_MASK: Final = 0x7F
MAX_MAGNITUDE: Final = 0x7FFF
Level = Literal["high", "low"]


@dataclass(frozen=True, slots=True)
class Definition:
    """One meaning of a value: ``MBEDTLS_ERR_<name>`` of ``module``, in ``releases``."""

    name: str
    module: str
    level: str  # the module's level in Mbed TLS's own error table ("high" or "low")
    description: str
    releases: tuple[str, ...]

    @property
    def constant(self) -> str:
        return f"MBEDTLS_ERR_{self.name}"


@dataclass(frozen=True, slots=True)
class Part:
    """The high- or low-level part of a return value and what it means (no definitions: unknown)."""

    value: int  # negative
    level: Level
    definitions: tuple[Definition, ...]

    @property
    def hex(self) -> str:
        return to_hex(self.value)

    @property
    def known(self) -> bool:
        return bool(self.definitions)


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, object]:
    text = resources.files("hatch_meadow.explain").joinpath("mbedtls_errors.json").read_text(encoding="utf-8")
    loaded: dict[str, object] = json.loads(text)
    return loaded


def releases() -> tuple[str, ...]:
    """The Mbed TLS releases the table was read from, oldest first."""
    found = _data()["releases"]
    assert isinstance(found, list)
    return tuple(str(r) for r in found)


@functools.lru_cache(maxsize=1)
def _by_value() -> dict[int, tuple[Definition, ...]]:
    codes = _data()["codes"]
    assert isinstance(codes, dict)
    return {int(key, 16): tuple(Definition(d["name"], d["module"], d["level"], d["description"],
                                           tuple(d["releases"])) for d in items)
            for key, items in codes.items()}


def definitions(value: int) -> tuple[Definition, ...]:
    """Every definition of exactly ``value`` (a negative code), newest release last."""
    return _by_value().get(value, ())


def board_definition(part: Part) -> Definition:
    """The definition the board's Mbed TLS 3.x uses for a known part, else the newest."""
    for definition in reversed(part.definitions):
        if any(r.startswith("3.") for r in definition.releases):
            return definition
    return part.definitions[-1]


def board_first(part: Part) -> list[Definition]:
    """The part's definitions, the board's (3.x) first."""
    first = board_definition(part)
    return [first, *(d for d in part.definitions if d is not first)]


def all_values() -> list[int]:
    """Every value the table defines."""
    return sorted(_by_value())


def to_hex(value: int) -> str:
    """``-0x1100`` style, four hex digits at least."""
    return f"-0x{-value:04X}" if value < 0 else f"0x{value:04X}"


def split(code: int) -> list[Part]:
    """The high-level and low-level parts of a negative ``code`` (only the non-zero ones), as Mbed TLS's
    ``mbedtls_strerror`` splits it."""
    magnitude = -code
    parts = []
    for mask, level in ((HIGH_MASK, "high"), (LOW_MASK, "low")):
        value = -(magnitude & mask)
        if value:
            parts.append(Part(value, level, definitions(value)))  # type: ignore[arg-type]
    return parts


def strerror(code: int, release: str, compiled: Callable[[str], bool] | None = None) -> str:
    """What ``mbedtls_strerror`` of ``release`` prints for ``code``: each part as ``MODULE - description``
    (looked up among the modules of that level, as error.c does), joined by `` : ``. ``compiled(module)``
    says whether the build has that module (error.c names only those); default: all of them."""
    magnitude = -code if code < 0 else code
    out = ""
    high = magnitude & HIGH_MASK
    if high:
        out = _strerror_part(-high, "high", release, compiled)
        if any(d.name == "SSL_FATAL_ALERT_MESSAGE" and release in d.releases for d in definitions(-high)):
            return out  # error.c does not translate a low part after a fatal alert
    low = magnitude & LOW_MASK
    if not low:
        return out
    return (out + " : " if out else "") + _strerror_part(-low, "low", release, compiled)


def _strerror_part(value: int, level: str, release: str, compiled: Callable[[str], bool] | None) -> str:
    for definition in definitions(value):
        if release in definition.releases and definition.level == level and (
                compiled is None or compiled(definition.module)):
            return f"{definition.module} - {definition.description}"
    return f"UNKNOWN ERROR CODE ({-value:04X})"
