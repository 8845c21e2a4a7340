"""A minimal, strict DER reader: just enough to classify keys and certificates the way Mbed TLS does.

cryptography hides the algorithm identifiers we need (PBES2 PRF and cipher OIDs, explicit EC
parameters, the SPKI algorithm of an RSA-PSS key) and refuses some inputs Mbed TLS accepts, so the
inspectors walk the DER themselves. Every function raises :class:`DerError` on malformed input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SEQUENCE: Final = 0x30
SET: Final = 0x31
INTEGER: Final = 0x02
BIT_STRING: Final = 0x03
OCTET_STRING: Final = 0x04
NULL: Final = 0x05
OID: Final = 0x06
UTC_TIME: Final = 0x17
GENERALIZED_TIME: Final = 0x18
BOOLEAN: Final = 0x01


class DerError(ValueError):
    """The bytes are not the DER structure expected."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One DER element: its tag, the whole encoding, and the content octets."""

    tag: int
    raw: bytes
    value: bytes

    def children(self) -> list[Tlv]:
        """The elements inside a constructed element."""
        if not self.tag & 0x20:
            raise DerError(f"tag 0x{self.tag:02x} is not constructed")
        return read_all(self.value)


def read_tlv(data: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """Read one element at ``offset``; return it and the offset after it."""
    if offset + 2 > len(data):
        raise DerError("truncated element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not used here")
    length = data[offset + 1]
    pos = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise DerError("bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise DerError("element runs past the end")
    return Tlv(tag, data[offset:end], data[pos:end]), end


def read_all(data: bytes) -> list[Tlv]:
    """Every element in ``data``, which must be consumed exactly."""
    items: list[Tlv] = []
    offset = 0
    while offset < len(data):
        item, offset = read_tlv(data, offset)
        items.append(item)
    return items


def read_single(data: bytes) -> Tlv:
    """Exactly one element and nothing after it (trailing bytes are what Mbed TLS rejects too)."""
    item, end = read_tlv(data)
    if end != len(data):
        raise DerError(f"{len(data) - end} trailing byte(s) after the structure")
    return item


def expect(item: Tlv, tag: int, what: str) -> Tlv:
    """``item`` if it has ``tag``, else a DerError naming ``what``."""
    if item.tag != tag:
        raise DerError(f"{what}: expected tag 0x{tag:02x}, found 0x{item.tag:02x}")
    return item


def decode_oid(value: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's content octets."""
    if not value:
        raise DerError("empty OID")
    parts: list[int] = []
    acc = 0
    for byte in value:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(acc)
            acc = 0
    if value[-1] & 0x80:
        raise DerError("truncated OID")
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(p) for p in [*head, *parts[1:]])


def algorithm(item: Tlv) -> tuple[str, Tlv | None]:
    """An AlgorithmIdentifier: (OID, parameters or None)."""
    parts = expect(item, SEQUENCE, "AlgorithmIdentifier").children()
    if not parts:
        raise DerError("empty AlgorithmIdentifier")
    oid = decode_oid(expect(parts[0], OID, "algorithm").value)
    return oid, parts[1] if len(parts) > 1 else None
