"""``hatch-meadow explain``: Mbed TLS error codes and Meadow's TLS log lines, in Meadow terms.

:mod:`.table` is the data (every ``MBEDTLS_ERR_*`` of Mbed TLS 2.28.8, 3.5.2 and 3.6.6, read from the
public headers by ``scripts/gen_mbedtls_errors.py``) and the splitting rules; :mod:`.advice` the likely causes
and this project's fix commands; :mod:`.text` finds codes and known messages in a line or a log;
:mod:`.report` puts them together.
"""
