"""Real Mbed TLS, called the way a Meadow board calls it: the test oracle for the credential checks.

The PyPI wheel ``python-mbedtls==2.10.1`` bundles Mbed TLS 2.28.8 (default config) as shared
libraries in ``python_mbedtls.libs/``. Its own Python API hides the real error codes (it retries
``mbedtls_pk_parse_public_key`` and raises that error instead), so this module calls the C functions
through :mod:`ctypes` directly (spec ``mbedtls-compat.md`` §8.1).

Where that wheel is missing (python-mbedtls 2.10.1 has none for Python 3.13), the system's Mbed TLS
2.28 is used instead: ``libmbedcrypto.so.7`` and ``libmbedx509.so.1``, e.g. Debian's / Ubuntu's
``libmbedx509-1`` package (2.28.3 on Debian 12); spec §8.2. Both give the same results on every case
of the spec's tables. :attr:`RealMbedTLS.source` says which one was loaded. Run
``python -m hatch_meadow.mbedtls_oracle`` to see it (exit 1 and what is missing when neither is found).

Meadow's calling convention (spec §1), reproduced here:

* key buffer = the file bytes + one NUL, and the length *includes* the NUL;
* password = the exact bytes of ``private_key_pass.txt`` (no newline stripping); an empty or absent
  pass file is passed as ``NULL``, length 0;
* certificate buffer = the file bytes + one NUL, length includes the NUL; any non-zero return,
  including a positive "N certificates failed", is a failure on the board.

Only the 2.x signatures are supported (``mbedtls_pk_parse_key`` with five arguments,
``mbedtls_pk_check_pair`` with two), which is what the wheel ships; a library that is not Mbed TLS 2.28
is refused.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hatch_meadow.creds.mbedtls_errors import ERROR_NAMES, error_name
from hatch_meadow.mbedtls_abi import DlInfo, X509CrtHead

__all__ = ["ERROR_NAMES", "MbedTLSUnavailable", "ParseResult", "RealMbedTLS", "error_name", "load", "main"]

INSTALL_HINT: Final = "pip install 'hatch-meadow[mbedtls]'"
#: Sonames of the Mbed TLS 2.28 libraries a system provides (Debian/Ubuntu: libmbedcrypto7, libmbedx509-1).
SYSTEM_LIBRARIES: Final = ("libmbedcrypto.so.7", "libmbedx509.so.1")
SYSTEM_INSTALL_HINT: Final = "Debian/Ubuntu: apt-get install libmbedx509-1 (Mbed TLS 2.28)"
#: The only Mbed TLS line whose ABI this module declares (5-argument pk_parse_key, the x509_crt layout).
SUPPORTED_VERSION_PREFIX: Final = "2.28."
#: The first Python version for which python-mbedtls 2.10.1 publishes no wheel.
NO_WHEEL_FROM: Final = (3, 13)

# The contexts are opaque to us. sizeof(mbedtls_pk_context) is 16 and sizeof(mbedtls_x509_crt) is
# well under 8 KiB on 2.28 / x86-64 (spec §8.1); these sizes leave plenty of room.
PK_CONTEXT_BYTES: Final = 512
X509_CRT_BYTES: Final = 16 * 1024
STRERROR_BYTES: Final = 512
VERSION_STRING_BYTES: Final = 32  # mbedtls_version_get_string needs >= 9 bytes

class MbedTLSUnavailable(Exception):
    """No usable Mbed TLS 2.28: neither python-mbedtls's bundled libraries nor the system's.

    Attributes:
        hint: What to install to get one, for this Python.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint or install_hint()


def install_hint() -> str:
    """How to get a real Mbed TLS 2.28 on this Python: the extra where python-mbedtls has a wheel."""
    if sys.version_info[:2] >= NO_WHEEL_FROM:
        return SYSTEM_INSTALL_HINT
    return f"{INSTALL_HINT}, or {SYSTEM_INSTALL_HINT}"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one Mbed TLS call returned, named and explained.

    Attributes:
        code: The raw return value (0, a negative error code, or a positive failed-certificate count).
        name: :func:`error_name` of ``code``.
        message: ``mbedtls_strerror`` text for ``code`` (empty for 0 and for positive counts).
        detail: For a parsed key, the pk type name and bit length, e.g. ``"RSA 2048"``; else None.
    """

    code: int
    name: str
    message: str
    detail: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the board would accept it: only an exact 0 counts (spec §1)."""
        return self.code == 0


_ASN1_SEQUENCE_TAG: Final = 0x30


def _bundled_library_dir() -> Path:
    """Find ``python_mbedtls.libs``, the sibling of the installed ``mbedtls`` package folder."""
    spec = importlib.util.find_spec("mbedtls")
    if spec is None or not spec.submodule_search_locations:
        if sys.version_info[:2] >= NO_WHEEL_FROM:
            version = ".".join(map(str, sys.version_info[:2]))
            raise MbedTLSUnavailable(f"python-mbedtls is not installed (2.10.1 has no wheel for Python {version})")
        raise MbedTLSUnavailable(f"python-mbedtls is not installed ({INSTALL_HINT})")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    return package_dir.parent / "python_mbedtls.libs"


def _find_library(folder: Path, stem: str) -> Path:
    """Return the bundled ``<stem>-<hash>.so*`` file; the hash belongs to the wheel build."""
    matches = sorted(folder.glob(f"{stem}-*.so*"))
    if not matches:
        raise MbedTLSUnavailable(
            f"no {stem} shared library in {folder} (a python-mbedtls built from source bundles none; "
            f"its 2.10.1 wheel does: {INSTALL_HINT})"
        )
    return matches[0]


def _system_libraries() -> tuple[str, str]:
    """The system's libmbedcrypto and libmbedx509 of Mbed TLS 2.28, by soname (found by the loader)."""
    return SYSTEM_LIBRARIES


def _loaded_from(library: ctypes.CDLL, symbol: str, fallback: str) -> str:
    """The file a loaded library's ``symbol`` comes from (``dladdr``), or ``fallback`` where unavailable."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
    except (OSError, AttributeError):  # not glibc / no dladdr in the global scope
        return fallback
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
    dladdr.restype = ctypes.c_int
    info = DlInfo()
    address = ctypes.addressof(ctypes.c_char.in_dll(library, symbol))
    if not dladdr(address, ctypes.byref(info)) or not info.dli_fname:
        return fallback
    return str(Path(info.dli_fname.decode(errors="replace")).resolve())


def _nul_terminated(data: bytes) -> bytes:
    """Append the NUL Meadow adds when it stores a file (spec §1)."""
    return data + b"\x00"


class RealMbedTLS:
    """Mbed TLS 2.28 libraries (python-mbedtls's or the system's), called with Meadow's buffer and password
    conventions."""

    def __init__(self, crypto_path: Path | str, x509_path: Path | str, *, origin: str = "python-mbedtls wheel") -> None:
        """Load the two shared libraries and declare the function signatures.

        Args:
            crypto_path: ``libmbedcrypto`` shared library: a file, or a soname for the system's loader.
            x509_path: ``libmbedx509`` shared library (needs libmbedcrypto's symbols).
            origin: Where the libraries come from, for :attr:`source` (e.g. ``"system"``).

        Raises:
            MbedTLSUnavailable: a library cannot be loaded, or it is not Mbed TLS 2.28.
        """
        try:
            # libmbedx509 has no RPATH and resolves its crypto symbols globally: load crypto first.
            self._crypto = ctypes.CDLL(str(crypto_path), mode=ctypes.RTLD_GLOBAL)
            self._x509 = ctypes.CDLL(str(x509_path), mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:
            raise MbedTLSUnavailable(f"cannot load the {origin} Mbed TLS ({crypto_path}): {exc}") from exc
        self.origin = origin
        #: The two libraries as given (files, or sonames for the loader).
        self.paths: tuple[str, str] = (str(crypto_path), str(x509_path))
        #: The libmbedcrypto file actually loaded.
        self.library: str = _loaded_from(self._crypto, "mbedtls_version_get_string", str(crypto_path))
        self._crypto.mbedtls_version_get_string.argtypes = [ctypes.c_char_p]
        self._crypto.mbedtls_version_get_string.restype = None
        self.version: str = self._version_string()
        if not self.version.startswith(SUPPORTED_VERSION_PREFIX):
            raise MbedTLSUnavailable(
                f"the {origin} Mbed TLS ({self.library}) is {self.version}; only 2.28 is supported"
            )
        self._declare()

    @property
    def source(self) -> str:
        """Which library this is, e.g. ``"system library /usr/lib/…/libmbedcrypto.so.2.28.3"``."""
        return f"{self.origin} library {self.library}"

    def _declare(self) -> None:
        """Set argtypes/restype for every function used (2.x signatures, spec §8.1)."""
        ptr, size, text, c_int = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int
        crypto, x509 = self._crypto, self._x509
        crypto.mbedtls_pk_init.argtypes = [ptr]
        crypto.mbedtls_pk_init.restype = None
        crypto.mbedtls_pk_free.argtypes = [ptr]
        crypto.mbedtls_pk_free.restype = None
        crypto.mbedtls_pk_parse_key.argtypes = [ptr, text, size, text, size]
        crypto.mbedtls_pk_parse_key.restype = c_int
        crypto.mbedtls_pk_get_name.argtypes = [ptr]
        crypto.mbedtls_pk_get_name.restype = text
        crypto.mbedtls_pk_get_bitlen.argtypes = [ptr]
        crypto.mbedtls_pk_get_bitlen.restype = size
        crypto.mbedtls_pk_check_pair.argtypes = [ptr, ptr]
        crypto.mbedtls_pk_check_pair.restype = c_int
        crypto.mbedtls_strerror.argtypes = [c_int, ctypes.c_char_p, size]
        crypto.mbedtls_strerror.restype = None
        crypto.mbedtls_version_get_string.argtypes = [ctypes.c_char_p]
        crypto.mbedtls_version_get_string.restype = None
        crypto.mbedtls_version_check_feature.argtypes = [text]
        crypto.mbedtls_version_check_feature.restype = c_int
        x509.mbedtls_x509_crt_init.argtypes = [ptr]
        x509.mbedtls_x509_crt_init.restype = None
        x509.mbedtls_x509_crt_free.argtypes = [ptr]
        x509.mbedtls_x509_crt_free.restype = None
        x509.mbedtls_x509_crt_parse.argtypes = [ptr, text, size]
        x509.mbedtls_x509_crt_parse.restype = c_int

    def _version_string(self) -> str:
        buffer = ctypes.create_string_buffer(VERSION_STRING_BYTES)
        self._crypto.mbedtls_version_get_string(buffer)
        return buffer.value.decode("ascii")

    def has_feature(self, name: str) -> bool:
        """Whether a config option was compiled in, e.g. ``"MBEDTLS_DES_C"`` (or just ``"DES_C"``)."""
        option = name if name.startswith("MBEDTLS_") else f"MBEDTLS_{name}"
        return int(self._crypto.mbedtls_version_check_feature(option.encode("ascii"))) == 0

    def strerror(self, code: int) -> str:
        """``mbedtls_strerror`` for a negative code; empty for 0 and positive counts."""
        if code >= 0:
            return ""
        buffer = ctypes.create_string_buffer(STRERROR_BYTES)
        self._crypto.mbedtls_strerror(code, buffer, len(buffer))
        return buffer.value.decode("utf-8", errors="replace")

    def _result(self, code: int, detail: str | None = None) -> ParseResult:
        return ParseResult(code=code, name=error_name(code), message=self.strerror(code), detail=detail)

    @contextmanager
    def _pk_context(self) -> Iterator[ctypes.Array[ctypes.c_char]]:
        context = ctypes.create_string_buffer(PK_CONTEXT_BYTES)
        self._crypto.mbedtls_pk_init(context)
        try:
            yield context
        finally:
            self._crypto.mbedtls_pk_free(context)

    @contextmanager
    def _crt_chain(self) -> Iterator[ctypes.Array[ctypes.c_char]]:
        chain = ctypes.create_string_buffer(X509_CRT_BYTES)
        self._x509.mbedtls_x509_crt_init(chain)
        try:
            yield chain
        finally:
            self._x509.mbedtls_x509_crt_free(chain)

    def _parse_key_into(self, context: ctypes.Array[ctypes.c_char], key: bytes, password: bytes | None) -> int:
        buffer = _nul_terminated(key)
        # Meadow: an empty pass file means "no password" (NULL, 0), never an empty string.
        pwd = password or None
        return int(self._crypto.mbedtls_pk_parse_key(context, buffer, len(buffer), pwd, len(pwd or b"")))

    def _key_detail(self, context: ctypes.Array[ctypes.c_char]) -> str:
        name_raw: bytes | None = self._crypto.mbedtls_pk_get_name(context)
        name = name_raw.decode("ascii") if name_raw else "?"
        return f"{name} {int(self._crypto.mbedtls_pk_get_bitlen(context))}"

    def parse_key(self, key: bytes, password: bytes | None) -> ParseResult:
        """Run ``mbedtls_pk_parse_key`` as Meadow does.

        Args:
            key: The exact bytes of ``private_key.pem``.
            password: The exact bytes of ``private_key_pass.txt``; None or empty means no password.

        Returns:
            The result; ``detail`` is e.g. ``"RSA 2048"`` when the key parsed.
        """
        with self._pk_context() as context:
            code = self._parse_key_into(context, key, password)
            return self._result(code, self._key_detail(context) if code == 0 else None)

    def parse_cert(self, cert: bytes) -> ParseResult:
        """Run ``mbedtls_x509_crt_parse`` as Meadow does (bundle allowed; any non-zero fails).

        Args:
            cert: The exact bytes of ``client_cert.pem`` (PEM, PEM bundle or DER).
        """
        with self._crt_chain() as chain:
            return self._result(self._parse_cert_into(chain, cert))

    def _parse_cert_into(self, chain: ctypes.Array[ctypes.c_char], cert: bytes) -> int:
        buffer = _nul_terminated(cert)
        return int(self._x509.mbedtls_x509_crt_parse(chain, buffer, len(buffer)))

    def check_pair(self, cert: bytes, key: bytes, password: bytes | None) -> ParseResult:
        """Run ``mbedtls_pk_check_pair`` on the first certificate's public key and the private key.

        Mbed TLS (and so Meadow) uses the *first* certificate of the file as the own certificate,
        so a CA-first bundle fails here (spec §5.2, pair checks). Meadow itself never calls this.

        Args:
            cert: The exact bytes of ``client_cert.pem``.
            key: The exact bytes of ``private_key.pem``.
            password: The exact bytes of ``private_key_pass.txt``; None or empty means no password.

        Returns:
            The certificate's parse result if it is not 0, else the key's parse result if that is
            not 0, else the pair check result (``detail`` = the key's type and size).

        Raises:
            MbedTLSUnavailable: the loaded library's certificate structure does not have the
                expected 2.28 layout, so the public key cannot be located safely.
        """
        with self._crt_chain() as chain:
            cert_code = self._parse_cert_into(chain, cert)
            if cert_code != 0:
                return self._result(cert_code)
            with self._pk_context() as context:
                key_code = self._parse_key_into(context, key, password)
                if key_code != 0:
                    return self._result(key_code)
                public = self._first_cert_pk(chain)
                code = int(self._crypto.mbedtls_pk_check_pair(public, context))
                return self._result(code, self._key_detail(context))

    def _first_cert_pk(self, chain: ctypes.Array[ctypes.c_char]) -> int:
        """Address of ``chain->pk``, after checking that the mirrored layout matches this library."""
        head = X509CrtHead.from_buffer(chain)
        raw_start = head.raw.p or 0
        pk_raw_start = head.pk_raw.p or 0
        layout_ok = (
            head.version in (1, 2, 3)
            and raw_start != 0
            and raw_start <= pk_raw_start < raw_start + head.raw.len
            and ctypes.c_ubyte.from_address(pk_raw_start).value == _ASN1_SEQUENCE_TAG
            and head.pk.pk_info is not None
        )
        if not layout_ok:
            raise MbedTLSUnavailable(
                f"unexpected mbedtls_x509_crt layout in Mbed TLS {self.version}; only 2.28 is supported"
            )
        return ctypes.addressof(chain) + X509CrtHead.pk.offset


@functools.cache
def load() -> RealMbedTLS:
    """Load real Mbed TLS 2.28, once per process: python-mbedtls's bundled copy, else the system's.

    Raises:
        MbedTLSUnavailable: neither is there (the message says what was missing, ``hint`` what to install).
    """
    reasons = []
    try:
        folder = _bundled_library_dir()
        return RealMbedTLS(_find_library(folder, "libmbedcrypto"), _find_library(folder, "libmbedx509"))
    except MbedTLSUnavailable as exc:
        reasons.append(str(exc))
    crypto, x509 = _system_libraries()
    try:
        return RealMbedTLS(crypto, x509, origin="system")
    except MbedTLSUnavailable as exc:
        reasons.append(str(exc))
    raise MbedTLSUnavailable("no real Mbed TLS 2.28 found: " + "; ".join(reasons))


def main() -> int:
    """``python -m hatch_meadow.mbedtls_oracle``: print which Mbed TLS the checks use, or what is missing."""
    try:
        real = load()
    except MbedTLSUnavailable as exc:
        print(f"real Mbed TLS: unavailable: {exc}\nhint: {exc.hint}")
        return 1
    print(f"real Mbed TLS: Mbed TLS {real.version}, {real.source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
