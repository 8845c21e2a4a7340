"""Meadow's HCOM serial protocol, pure and sans-I/O (``shared/spec/hcom-protocol.md``).

``codes`` (request/response enums and limits), ``framing`` (COBS with 0x00 delimiters), ``packets``
(the 12-byte header, data packets, the file-info block, typed messages), ``crc`` (NuttX CRC32),
``text`` (device-info and file-list lines), ``exchange`` (which replies end a request, and how).
Nothing here reads or writes a port.
"""
