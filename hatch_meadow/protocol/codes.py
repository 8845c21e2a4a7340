"""Wire codes and limits of HCOM (spec §1, §3, §4, §5)."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

#: The header version we send (CLI v2 since 2024); devices answer 7 (or echo 8 on newer OS builds).
PROTOCOL_VERSION: Final = 0x0008
#: What the board's firmware answers with (spec §3); newer OS builds may echo 8.
DEVICE_PROTOCOL_VERSION: Final = 0x0007
HEADER_SIZE: Final = 12
FILE_INFO_SIZE: Final = 44
#: Largest decoded packet either side handles; keep our frames at or below 8190 (spec §1).
MAX_PACKET_BYTES: Final = 8192
#: File bytes per data packet: 8190-byte packets minus the 2-byte sequence number (spec §7.4).
MAX_DATA_BYTES: Final = 8188
#: The MD5 field of an F7 file start is a fixed ASCII placeholder (spec §7.2).
F7_MD5_PLACEHOLDER: Final = b"12345678901234567890123456789012"
#: The device drops a download after this long without a data packet or END (spec §7.5).
DEVICE_WATCHDOG_S: Final = 3.0


class RequestType(IntEnum):
    """Host → device request types (spec §4); names as in the spec."""

    CHANGE_TRACE_LEVEL = 0x0102
    END_FILE_TRANSFER = 0x0104
    RESTART_PRIMARY_MCU = 0x0105
    ENABLE_DISABLE_NSH = 0x010C
    MONO_DISABLE = 0x010F
    MONO_ENABLE = 0x0110
    MONO_RUN_STATE = 0x0111
    GET_DEVICE_INFORMATION = 0x0112
    NO_TRACE_TO_HOST = 0x0114
    SEND_TRACE_TO_HOST = 0x0115
    END_ESP_FILE_TRANSFER = 0x0116
    MONO_UPDATE_RUNTIME = 0x011C
    MONO_UPDATE_FILE_END = 0x011D
    GET_DEVICE_NAME = 0x011F
    GET_INITIAL_FILE_BYTES = 0x0120
    UPLOAD_START_DATA_SEND = 0x0121
    UPLOAD_ABORT_DATA_SEND = 0x0122
    START_FILE_TRANSFER = 0x0201
    DELETE_FILE_BY_NAME = 0x0202
    START_ESP_FILE_TRANSFER = 0x0203
    UPLOAD_FILE_INIT = 0x0301
    RTC_SET_TIME_CMD = 0x0303
    RTC_READ_TIME_CMD = 0x0304
    LIST_FILES_SUBDIR = 0x0306
    LIST_FILES_SUBDIR_CRC = 0x0307


class ResponseType(IntEnum):
    """Device → host response types (spec §5)."""

    UPLOAD_FILE_COMPLETED = 0x0101
    TEXT_REJECTED = 0x0301
    TEXT_ACCEPTED = 0x0302
    TEXT_CONCLUDED = 0x0303
    TEXT_ERROR = 0x0304
    TEXT_INFORMATION = 0x0305
    TEXT_LIST_HEADER = 0x0306
    TEXT_LIST_MEMBER = 0x0307
    TEXT_CRC_MEMBER = 0x0308
    TEXT_MONO_STDOUT = 0x0309
    TEXT_DEVICE_INFO = 0x030A
    TEXT_TRACE_MSG = 0x030B
    TEXT_RECONNECT = 0x030C
    TEXT_MONO_STDERR = 0x030D
    INIT_DOWNLOAD_OKAY = 0x030E
    INIT_DOWNLOAD_FAIL = 0x030F
    INIT_UPLOAD_OKAY = 0x0310
    INIT_UPLOAD_FAIL = 0x0311
    DNLD_FAIL_RESEND = 0x0312
    DEVICE_PUBLIC_KEY = 0x0313
    DEBUGGING_MONO_DATA = 0x0401
    SEND_INITIAL_FILE_BYTES = 0x0402
    UPLOADING_FILE_DATA = 0x0403


#: Traffic the app or OS sends at any time; never an answer to a request (spec §5, §16).
UNSOLICITED: Final = frozenset({
    ResponseType.TEXT_MONO_STDOUT, ResponseType.TEXT_MONO_STDERR, ResponseType.TEXT_TRACE_MSG,
    ResponseType.DEBUGGING_MONO_DATA,
})

#: What the board's console is made of: the app's stdout and stderr, trace lines and OS information.
CONSOLE: Final = frozenset({
    ResponseType.TEXT_MONO_STDOUT, ResponseType.TEXT_MONO_STDERR, ResponseType.TEXT_TRACE_MSG,
    ResponseType.TEXT_INFORMATION,
})
