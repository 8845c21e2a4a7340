"""`hatch-meadow explain` (issue #14 item 1): the error table read from Mbed TLS's headers agrees with the real
library's mbedtls_strerror, codes are split as Mbed TLS composes them, log lines are recognised, and the advice
names this project's fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hatch_meadow.creds.mbedtls_errors import ERROR_NAMES
from hatch_meadow.explain import table
from hatch_meadow.explain.report import explain_argument, explain_log
from hatch_meadow.explain.text import codes_in, parse_code

#: generate_errors.pl: which config option makes error.c name a module's codes.
MODULE_OPTIONS = {"X509": ("X509_USE_C", "X509_CREATE_C"), "ASN1": ("ASN1_PARSE_C",), "SSL": ("SSL_TLS_C",),
                  "PEM": ("PEM_PARSE_C", "PEM_WRITE_C")}


def explain_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", "explain", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


def _compiled(real_mbedtls: Any) -> Any:
    cache: dict[str, bool] = {}

    def compiled(module: str) -> bool:
        if module not in cache:
            cache[module] = any(real_mbedtls.has_feature(o) for o in MODULE_OPTIONS.get(module, (f"{module}_C",)))
        return cache[module]

    return compiled


def _release_of(real_mbedtls: Any) -> str:
    """The table's release equal to the loaded library (the wheel's 2.28.8, Debian's 2.28.3)."""
    if real_mbedtls.version not in table.releases():
        pytest.skip(f"the table has no entry for Mbed TLS {real_mbedtls.version} (releases: {table.releases()})")
    return str(real_mbedtls.version)


def test_agrees_with_mbedtls_strerror_on_every_code_and_composition(real_mbedtls: Any) -> None:
    """Every 2.28 code of the table and every high-level + low-level composition of them: the same module,
    description and splitting as the real library's mbedtls_strerror."""
    release = _release_of(real_mbedtls)
    compiled = _compiled(real_mbedtls)
    defined = [v for v in table.all_values() if any(release in d.releases for d in table.definitions(v))]
    high = [v for v in defined if -v & table.HIGH_MASK and not -v & table.LOW_MASK]
    low = [v for v in defined if not -v & table.HIGH_MASK]
    cases = defined + [h + lo for h in high for lo in low]
    mismatches = [(hex(c), real_mbedtls.strerror(c), table.strerror(c, release, compiled)) for c in cases
                  if real_mbedtls.strerror(c) != table.strerror(c, release, compiled)]
    print(f"explain vs mbedtls_strerror ({real_mbedtls.source}): {len(cases) - len(mismatches)}/{len(cases)} "
          f"codes agree ({len(defined)} defined, {len(cases) - len(defined)} compositions)")
    assert mismatches == []
    assert len(cases) > 10_000


def test_agrees_with_mbedtls_strerror_on_every_16_bit_value(real_mbedtls: Any) -> None:
    release = _release_of(real_mbedtls)
    compiled = _compiled(real_mbedtls)
    mismatches = [m for m in range(1, table.MAX_MAGNITUDE + 1)
                  if real_mbedtls.strerror(-m) != table.strerror(-m, release, compiled)]
    assert mismatches == []


def test_the_validators_error_names_come_from_the_same_headers() -> None:
    """One table: the names `check` and the oracle use are the board's (3.x) names of the header table."""
    assert len(ERROR_NAMES) > 100
    for value, name in ERROR_NAMES.items():
        assert explain_argument(hex(value)).codes[0].names() == [name], (hex(value), name)
    assert ERROR_NAMES[-0x1100] == "PEM_INVALID_DATA"
    assert ERROR_NAMES[-0x3880] == "PK_BUFFER_TOO_SMALL"  # PK_HW_ACCEL_FAILED in 2.28


def test_a_value_that_changed_meaning_shows_the_boards_meaning_first() -> None:
    report = explain_argument("0x7E80").codes[0]
    assert [d.name for d in report.parts[0].definitions] == ["SSL_BAD_HS_FINISHED", "SSL_CACHE_ENTRY_NOT_FOUND"]
    assert report.names() == ["SSL_CACHE_ENTRY_NOT_FOUND"]  # Meadow runs Mbed TLS 3.x
    done = explain_cli("0x7E80")
    lines = done.stdout.splitlines()
    assert "SSL_CACHE_ENTRY_NOT_FOUND" in lines[1]
    assert "[Mbed TLS 3.5.2, 3.6.6]" in lines[1]
    assert "SSL_BAD_HS_FINISHED" in lines[2]
    assert "[Mbed TLS 2.28.3, 2.28.8]" in lines[2]


@pytest.mark.parametrize("text", ["-4352", "4352", "-0x1100", "0x1100", "-0X1100", "+4352"])
def test_every_spelling_of_a_code(text: str) -> None:
    assert parse_code(text) == -0x1100


@pytest.mark.parametrize("text", ["0", "32768", "-0x8000", "abc", "0x", "", "4352a", "1.5"])
def test_not_codes(text: str) -> None:
    assert parse_code(text) is None


def test_explain_4352_names_pem_invalid_data_and_the_fix() -> None:
    done = explain_cli("-4352")
    assert done.returncode == 0, done.stderr
    assert "-4352 = -0x1100" in done.stdout
    assert ("MBEDTLS_ERR_PEM_INVALID_DATA (PEM): PEM string is not as expected [Mbed TLS 2.28.3, 2.28.8, 3.5.2, "
            "3.6.6]") in done.stdout
    assert "placeholder" in done.stdout
    assert "hatch-meadow generate --force" in done.stdout


def test_explain_a_composed_code_in_a_log_line() -> None:
    done = explain_cli("failed to parse private key -0x3D62")
    assert done.returncode == 0
    out = done.stdout
    assert "-15714 = -0x3D62 = -0x3D00 (high-level) + -0x0062 (low-level)" in out
    assert "MBEDTLS_ERR_PK_KEY_INVALID_FORMAT (PK): Invalid key tag or value" in out
    assert "MBEDTLS_ERR_ASN1_UNEXPECTED_TAG (ASN1): ASN1 tag was of an unexpected value" in out
    assert "could not parse private_key.pem" in out
    assert "fix:   hatch-meadow check --with-mbedtls" in out


SAVED_LOG = """\
Meadow StdOut: App starting, RSSI -67 dBm, 12:03:44.123
Meadow StdOut: Connecting to my-hub.azure-devices.net:8883
Failed to parse private key -15232
Meadow StdOut: uptime 4352 s
ssl_handshake returned -0x7780
Meadow StdOut: heap 0x20001000 free 51234
failed to parse private key -4352
"""


def test_explain_a_saved_log_from_stdin() -> None:
    done = explain_cli("-", stdin=SAVED_LOG)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("\nFailed to parse private key -15232") + out.startswith("Failed to parse private key -15232") == 1
    assert "PK_PASSWORD_MISMATCH" in out
    assert "trailing newline" in out
    assert "hatch-meadow fix" in out
    assert "SSL_FATAL_ALERT_MESSAGE" in out
    assert "PEM_INVALID_DATA" in out
    assert "uptime" not in out
    assert "heap" not in out
    assert "RSSI" not in out
    items = json.loads(explain_cli("-", "--json", stdin=SAVED_LOG).stdout)["items"]
    assert [i["codes"][0]["hex"] for i in items] == ["-0x3B80", "-0x7780", "-0x1100"]


def test_unknown_codes_are_reported_honestly() -> None:
    done = explain_cli("-0x007F")
    assert done.returncode == 1
    assert "not defined by Mbed TLS 2.28.3, 2.28.8, 3.5.2, 3.6.6 (unknown; no guess)" in done.stdout
    assert "cause:" not in done.stdout
    nothing = explain_cli("hello world")
    assert nothing.returncode == 1
    assert "nothing recognised" in nothing.stdout
    mixed = explain_cli("-4352", "-0x007F", "--json")
    assert mixed.returncode == 1
    assert json.loads(mixed.stdout)["ok"] is False


def test_unreadable_input_exits_2() -> None:
    done = subprocess.run([sys.executable, "-m", "hatch_meadow", "explain", "-"], input=b"\x00\x01binary",
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 2
    assert b"binary data" in done.stderr
    assert b"Traceback" not in done.stderr


def test_codes_are_not_found_in_ordinary_numbers() -> None:
    assert codes_in("RSSI -67 dBm at 12:03:44, v1.2.3, 0x20001000", message_seen=False) == []
    assert codes_in("port 8883 open", message_seen=False) == []
    assert codes_in("failed to parse private key 4352", message_seen=True) == [-4352]
    assert codes_in("error -0x3D62 (-15714)", message_seen=False) == [-0x3D62]


def test_every_item_explains_every_message_line() -> None:
    reports = explain_log(SAVED_LOG)
    assert len(reports) == 3
    assert all(r.explained for r in reports)


def test_generator_reads_a_header(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    try:
        import gen_mbedtls_errors as gen  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    header = ("/** Bad input parameters to function. */\n#define MBEDTLS_ERR_PEM_BAD_INPUT_DATA   -0x1480\n"
              "#define MBEDTLS_ERR_MPI_FILE_IO_ERROR  -0x0002 /**< An error occurred while reading\n"
              " *  from or writing to a file. */\n")
    found = {m.group(2): gen._description(m.group(1), m.group(4)) for m in gen.DEFINE.finditer(header)}
    assert found == {"MBEDTLS_ERR_PEM_BAD_INPUT_DATA": "Bad input parameters to function",
                     "MBEDTLS_ERR_MPI_FILE_IO_ERROR": "An error occurred while reading from or writing to a file"}
