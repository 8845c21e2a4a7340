"""The credentials engine: generate, inspect and validate Meadow TLS client credentials.

Modules, bottom up: ``der`` (a minimal DER reader), ``pem`` (PEM framing exactly as Mbed TLS reads it),
``legacypem`` (RFC 1421 "traditional" PEM encryption), ``profiles`` (what each Mbed TLS build parses),
``keycheck`` / ``certcheck`` (predictions for one file), ``files`` (reading and writing the three files),
``validate`` (the whole set), ``generate`` (new credentials), ``thumbprint``.
"""
