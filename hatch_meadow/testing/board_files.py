"""The simulated board's flash file system and the requests that read it (spec §7.2, §8). Sans-I/O."""

from __future__ import annotations

from typing import Final

from hatch_meadow.names import CLIENT_CERT, CREDENTIAL_FILES, PRIVATE_KEY
from hatch_meadow.protocol.codes import FILE_INFO_SIZE, RequestType, ResponseType
from hatch_meadow.protocol.crc import nuttx_crc32
from hatch_meadow.protocol.packets import FileInfo, Message
from hatch_meadow.protocol.paths import MEADOW_ROOT, elements_ok
from hatch_meadow.testing.replies import MAX_REPLY_PAYLOAD_BYTES, PROCESSING_ERROR, decode_name, error, info, reply

#: LittleFS block size: the §8.1 example lists 9908 bytes as 12 KB, i.e. 3 blocks of 4 KiB.
FS_BLOCK_BYTES: Final = 4096


def resolve_file_path(name: str) -> str | None:
    """The full path a START/DELETE name stands for, or None if the firmware rejects it (spec §7.2).

    A bare name goes to ``/meadow0/``; otherwise the name must start with ``/meadow0/``, not end in
    ``/`` and have at most 8 elements. There is no SD card (``/mmcsd0/``) on the simulated board.
    """
    if not name:
        return None
    if "/" not in name:
        return MEADOW_ROOT + name
    if not name.startswith(MEADOW_ROOT) or name.endswith("/"):
        return None
    return name if elements_ok(name) else None


def resolve_list_folder(text: str) -> str | None:
    """The folder (ending in ``/``) a LIST request names, or None if malformed (spec §8.1).

    A bare name is a sub-folder of ``/meadow0``; the ``/meadow0/`` form must end in ``/``.
    """
    if not text:
        return None
    if "/" not in text:
        return MEADOW_ROOT + text + "/"
    if not text.startswith(MEADOW_ROOT) or not text.endswith("/"):
        return None
    return text if elements_ok(text.rstrip("/")) else None


def kilobytes(size: int) -> int:
    """Allocated blocks * block size / 1024, as the firmware lists it (spec §8.1)."""
    return -(-size // FS_BLOCK_BYTES) * FS_BLOCK_BYTES // 1024


def plural(count: int, one: str, many: str) -> str:
    """"1 file", "2 files"."""
    return f"{count} {one if count == 1 else many}"


class FileOperations:
    """LIST, DELETE, file read and initial bytes over ``files`` (full paths such as ``/meadow0/App.dll``).

    Mixed into ``SimulatedMeadow``, which owns the attributes declared here.
    """

    files: dict[str, bytes]
    esp_store: dict[str, bytes]
    runtime_enabled: bool
    _upload: str | None

    def _migrate_credentials(self) -> None:
        """Move the TLS credentials into the ESP32 store when cert and key are both present (spec §10.2).

        The pass file is optional: without one, the store keeps whatever passphrase it had.
        """
        if MEADOW_ROOT + CLIENT_CERT not in self.files or MEADOW_ROOT + PRIVATE_KEY not in self.files:
            return
        for name in CREDENTIAL_FILES:
            content = self.files.pop(MEADOW_ROOT + name, None)
            if content is not None:
                self.esp_store[name] = content

    def _on_list(self, request: Message, now: float) -> list[Message]:
        with_crc = request.type == RequestType.LIST_FILES_SUBDIR_CRC
        sent = decode_name(request.payload)
        folder = resolve_list_folder(sent)
        if folder is None or not self._folder_exists(folder):
            return [error(f"Path name '{sent}' is invalid")]  # and no CONCLUDED (spec §8.1, issue #837)
        show_dirs = "/" in sent  # sub-directories are not listed for bare-name requests
        files: dict[str, bytes] = {}
        dirs: set[str] = set()
        for path, content in self.files.items():
            if path.startswith(folder):
                head, sep, _ = path[len(folder):].partition("/")
                if sep:
                    dirs.add(head)
                else:
                    files[head] = content
        if not show_dirs:
            dirs.clear()
        member = ResponseType.TEXT_CRC_MEMBER if with_crc else ResponseType.TEXT_LIST_MEMBER
        replies = [reply(ResponseType.TEXT_ACCEPTED), reply(ResponseType.TEXT_LIST_HEADER),
                   reply(ResponseType.TEXT_LIST_MEMBER, f"Directory:{sent}")]
        for name in sorted(files.keys() | dirs):  # LittleFS lists a directory in name order
            if name in dirs:
                replies.append(reply(ResponseType.TEXT_LIST_MEMBER, f"/{name}"))
            elif with_crc:
                content = files[name]
                line = f"{name} [0x{nuttx_crc32(content):08x}] {kilobytes(len(content))} KB ({len(content)} bytes)"
                replies.append(reply(member, line))
            else:
                replies.append(reply(member, name))
        if with_crc:
            total = sum(len(c) for c in files.values())
            kb = sum(kilobytes(len(c)) for c in files.values())
            summary = (f"A total of {plural(len(files), 'file', 'files')} and "
                       f"{plural(len(dirs), 'directory', 'directories')} using {kb} KB ({total} bytes)")
        else:
            summary = f"A total of {len(files)} files and {len(dirs)} directories found"
        return [*replies, reply(member, summary), reply(ResponseType.TEXT_CONCLUDED)]

    def _folder_exists(self, folder: str) -> bool:
        # Directories exist while they hold a file: deleting the last file removes them (spec §8.2).
        return folder == MEADOW_ROOT or any(path.startswith(folder) for path in self.files)

    def _on_delete(self, request: Message, now: float) -> list[Message]:
        concluded = reply(ResponseType.TEXT_CONCLUDED)
        if self.runtime_enabled:
            return [error("Mono must be disabled for file delete"), concluded]  # sim: text not in the spec
        if len(request.payload) < FILE_INFO_SIZE:
            return [error(PROCESSING_ERROR), concluded]
        name = decode_name(request.payload[FILE_INFO_SIZE:])
        path = resolve_file_path(name)
        if path is None:
            return [error(f"Path name '{name}' is invalid"), concluded, error(PROCESSING_ERROR)]
        if self.files.pop(path, None) is None:
            result = error(f"Meadow failed to delete file '{path}', No such file")
        else:
            result = info(f"File '{path}' deleted")
        return [reply(ResponseType.TEXT_ACCEPTED), result, concluded]

    def _on_upload_init(self, request: Message, now: float) -> list[Message]:
        name = decode_name(request.payload)
        path = resolve_file_path(name)
        accepted = reply(ResponseType.TEXT_ACCEPTED)
        if path is None or path not in self.files:
            self._upload = None
            # sim: the failure text is borrowed from §8.4; INIT_UPLOAD_FAIL ends the request (§8.3).
            return [accepted, error(f"File '{name}' cannot be opened"), reply(ResponseType.INIT_UPLOAD_FAIL)]
        content = self.files[path]
        self._upload = path
        block = FileInfo(size=len(content), crc=nuttx_crc32(content)).pack()
        return [accepted, reply(ResponseType.INIT_UPLOAD_OKAY, payload=block + path.encode())]

    def _on_upload_start(self, request: Message, now: float) -> list[Message]:
        path, self._upload = self._upload, None
        if path is None or path not in self.files:
            return [error("No file upload has been initialised"), reply(ResponseType.TEXT_CONCLUDED)]
        content = self.files[path]
        chunks = [reply(ResponseType.UPLOADING_FILE_DATA, payload=content[i:i + MAX_REPLY_PAYLOAD_BYTES])
                  for i in range(0, len(content), MAX_REPLY_PAYLOAD_BYTES)]
        return [*chunks, reply(ResponseType.UPLOAD_FILE_COMPLETED), reply(ResponseType.TEXT_CONCLUDED)]

    def _on_initial_bytes(self, request: Message, now: float) -> list[Message]:
        name = decode_name(request.payload)
        path = resolve_file_path(name)
        replies = [reply(ResponseType.TEXT_ACCEPTED)]
        if path is None or path not in self.files:
            replies.append(error(f"File '{name}' cannot be opened"))
        else:
            replies.append(reply(ResponseType.SEND_INITIAL_FILE_BYTES,
                                  payload=self.files[path][:MAX_REPLY_PAYLOAD_BYTES]))
        return [*replies, reply(ResponseType.TEXT_CONCLUDED)]
