"""The C structure layouts of Mbed TLS 2.28 (LP64) and glibc that :mod:`hatch_meadow.mbedtls_oracle` reads through
ctypes. Pure declarations; the oracle checks the layout at run time before it trusts a pointer."""

from __future__ import annotations

import ctypes

# --- mbedtls_x509_crt layout (2.28, LP64) -------------------------------------------------------
# mbedtls_pk_check_pair() needs a pointer to the `pk` member of the first certificate, so the head
# of the structure (everything up to and including `pk`) is mirrored here. The layout is checked at
# run time (``mbedtls_oracle.RealMbedTLS._first_cert_pk``) before the pointer is used.


class X509Buf(ctypes.Structure):
    _fields_ = (
        ("tag", ctypes.c_int),
        ("len", ctypes.c_size_t),
        ("p", ctypes.c_void_p),
    )


class Asn1NamedData(ctypes.Structure):
    _fields_ = (
        ("oid", X509Buf),
        ("val", X509Buf),
        ("next", ctypes.c_void_p),
        ("next_merged", ctypes.c_ubyte),
    )


class X509Time(ctypes.Structure):
    _fields_ = tuple((field, ctypes.c_int) for field in ("year", "mon", "day", "hour", "min", "sec"))


class PkContext(ctypes.Structure):
    _fields_ = (
        ("pk_info", ctypes.c_void_p),
        ("pk_ctx", ctypes.c_void_p),
    )


class X509CrtHead(ctypes.Structure):
    _fields_ = (
        ("own_buffer", ctypes.c_int),
        ("raw", X509Buf),
        ("tbs", X509Buf),
        ("version", ctypes.c_int),
        ("serial", X509Buf),
        ("sig_oid", X509Buf),
        ("issuer_raw", X509Buf),
        ("subject_raw", X509Buf),
        ("issuer", Asn1NamedData),
        ("subject", Asn1NamedData),
        ("valid_from", X509Time),
        ("valid_to", X509Time),
        ("pk_raw", X509Buf),
        ("pk", PkContext),
    )


class DlInfo(ctypes.Structure):
    _fields_ = (
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    )
