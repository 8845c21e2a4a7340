"""Property fuzzing of every parser that takes bytes from a user or a board (issue #10 suite).

Only the project's own error types may come out (or a clean result): never a bare exception. The number of
examples per target is fixed (``HATCH_MEADOW_FUZZ`` raises it) and printed:
``HATCH_MEADOW_FUZZ=5000 .venv/bin/python -m pytest tests/reliability/test_fuzz.py -q -s``.
"""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatch_meadow.config import load_config
from hatch_meadow.creds import der
from hatch_meadow.creds.certcheck import check_certificate
from hatch_meadow.creds.keycheck import check_key
from hatch_meadow.creds.pem import labels_in, read_block
from hatch_meadow.creds.profiles import PROFILES
from hatch_meadow.errors import MeadowError
from hatch_meadow.protocol.codes import RequestType, ResponseType
from hatch_meadow.protocol.exchange import Exchange, SyncBarrier
from hatch_meadow.protocol.framing import FrameDecoder, encode_frame
from hatch_meadow.protocol.packets import PacketError, parse_packet
from hatch_meadow.secretscan import classify

EXAMPLES = int(os.environ.get("HATCH_MEADOW_FUZZ", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                database=None, derandomize=True)
COUNTS: dict[str, int] = {}


def _count(target: str) -> None:
    COUNTS[target] = COUNTS.get(target, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _report() -> object:
    yield
    print("\nfuzz examples: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items())))


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_frame_decoder_never_raises(chunks: list[bytes]) -> None:
    _count("frame decoder")
    decoder = FrameDecoder()
    for chunk in chunks:
        for packet in decoder.feed(chunk):
            with contextlib.suppress(PacketError):
                parse_packet(packet)


@FUZZ
@given(st.binary(max_size=200))
def test_frames_round_trip(packet: bytes) -> None:
    _count("frame round trip")
    if packet:
        assert FrameDecoder().feed(encode_frame(packet)) == [packet]


_REPLIES = [t for t in ResponseType]


@FUZZ
@given(st.sampled_from(list(RequestType)),
       st.lists(st.tuples(st.one_of(st.sampled_from(_REPLIES), st.integers(0, 0xFFFF)), st.binary(max_size=40)),
                max_size=12))
def test_exchange_accepts_any_reply_sequence(request: RequestType, replies: list[tuple[int, bytes]]) -> None:
    """Any order of any replies: the exchange ends or stays pending, never raises."""
    _count("exchange")
    from hatch_meadow.protocol.packets import Message

    exchange = Exchange(request)
    barrier = SyncBarrier()
    for kind, payload in replies:
        message = Message(type=int(kind), payload=payload)
        exchange.feed(message)
        barrier.feed(message)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(["PRIVATE KEY", "RSA PRIVATE KEY", "CERTIFICATE",
                                                 "ENCRYPTED PRIVATE KEY"]))
def test_pem_reader_never_raises(data: bytes, label: str) -> None:
    _count("PEM reader")
    framed = b"-----BEGIN " + label.encode() + b"-----\n" + data + b"\n-----END " + label.encode() + b"-----\n"
    for blob in (data, framed):
        read_block(blob, label)
        labels_in(blob)


@FUZZ
@given(st.binary(max_size=400))
def test_der_reader_raises_only_der_errors(data: bytes) -> None:
    _count("DER reader")
    with contextlib.suppress(der.DerError):
        der.read_all(data)


@FUZZ
@given(st.binary(max_size=800), st.one_of(st.none(), st.binary(max_size=20)), st.sampled_from(list(PROFILES)))
def test_key_and_certificate_checks_never_raise(data: bytes, password: bytes | None, profile: str) -> None:
    """Whatever the files hold, the checks return a verdict (that is what `check` prints)."""
    _count("key/cert checks")
    spec = PROFILES[profile]
    for blob in (data, b"-----BEGIN PRIVATE KEY-----\n" + data + b"\n-----END PRIVATE KEY-----\n"):
        check_key(blob, password, spec)
        check_certificate(blob, spec)
        classify("f", blob)


_XMLISH = st.text(alphabet=st.sampled_from(list("<>/=\"' \n\tProjectItemGroupNone UpdateIncludeCondition$()&;#x")),
                  max_size=200)


@FUZZ
@given(st.one_of(_XMLISH, st.text(max_size=200)), st.binary(max_size=60))
def test_csproj_patcher_raises_only_its_own_errors(text: str, raw: bytes) -> None:
    _count("csproj patcher")
    from hatch_meadow.csproj import plan_patch

    for data in (text.encode("utf-8", "surrogatepass"), raw, b"<Project>" + text.encode("utf-8", "replace")
                 + b"</Project>"):
        with contextlib.suppress(MeadowError):
            plan_patch(data, ["client_cert.pem", "private_key.pem"])


_TOML_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30)),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=3), max_leaves=6)


@FUZZ
@given(st.dictionaries(st.sampled_from(["csproj", "credentials-dir", "device-id", "key-type", "port",
                                        "deploy-files", "csproj-condition", "validity-days", "profile", "deploy",
                                        "output-dir", "nonsense"]), _TOML_VALUES, max_size=6),
       st.dictionaries(st.sampled_from(["HATCH_MEADOW_DEPLOY", "HATCH_MEADOW_PORT", "HATCH_MEADOW_STRICT"]),
                       st.text(max_size=10), max_size=2))
def test_config_raises_only_configuration_errors(table: dict[str, object], environ: dict[str, str]) -> None:
    _count("config")
    with contextlib.suppress(MeadowError):
        load_config(table, environ=environ)
