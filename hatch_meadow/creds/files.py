"""Read and write the three credential files safely (no secrets in messages, 0600, atomic, no symlinks)."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hatch_meadow.errors import CredentialError
from hatch_meadow.names import CREDENTIAL_FILES, SECRET_FILES

#: Meadow's firmware declares 4096-byte key/PEM buffers; lengths are int16 on the NuttX side.
FIRMWARE_BUFFER_BYTES: Final = 4096
MAX_FILE_BYTES: Final = 32767
#: We never read more than this from a credential file (a huge file is a mistake, not a key).
READ_LIMIT_BYTES: Final = 1 << 20
SECRET_MODE: Final = 0o600
PUBLIC_MODE: Final = 0o644


@dataclass(frozen=True, slots=True)
class FileState:
    """One credential file as found: missing, unreadable, or its bytes."""

    name: str
    path: Path
    data: bytes | None  # None unless readable
    problem: str | None = None  # why it could not be read

    @property
    def exists(self) -> bool:
        """Something is at the path (a file, a folder, a broken link…)."""
        return self.data is not None or self.problem is not None


def read_file(directory: Path, name: str) -> FileState:
    """Read one credential file, never following it past 1 MiB and never raising."""
    path = directory / name
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return FileState(name, path, None, "is a symlink to a missing file")
        return FileState(name, path, None)
    except OSError as exc:
        return FileState(name, path, None, f"cannot be inspected ({exc.strerror})")
    if stat.S_ISDIR(info.st_mode):
        return FileState(name, path, None, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        return FileState(name, path, None, "is not a regular file")
    if info.st_size > READ_LIMIT_BYTES:
        return FileState(name, path, None, f"is {info.st_size} bytes, far too large for a credential file")
    try:
        with path.open("rb") as handle:
            return FileState(name, path, handle.read(READ_LIMIT_BYTES))
    except OSError as exc:
        return FileState(name, path, None, f"cannot be read ({exc.strerror})")


def read_credentials(directory: Path) -> dict[str, FileState]:
    """The three files in ``directory``, by name."""
    return {name: read_file(directory, name) for name in CREDENTIAL_FILES}


def write_credentials(directory: Path, files: dict[str, bytes], *, force: bool = False) -> list[Path]:
    """Write credential files atomically: secrets 0600, never through a symlink, never over existing
    files unless ``force``. All checks happen before the first write, so a refusal changes nothing.

    Raises:
        CredentialError: a target exists (without force), is a symlink or a directory, or cannot be written.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CredentialError(f"{directory}: cannot create the folder ({exc.strerror})") from exc
    for name in files:
        path = directory / name
        if path.is_symlink():
            raise CredentialError(f"{path}: is a symlink; hatch-meadow never writes credentials through one",
                                  hint="remove the link (or point credentials-dir at the real folder)")
        if path.is_dir():
            raise CredentialError(f"{path}: is a directory, not a file", hint="remove or rename that folder")
        if path.exists() and not force:
            raise CredentialError(f"{path}: already exists; refusing to overwrite credentials",
                                  hint="pass --force to replace them (the board keeps the old ones until you "
                                  "deploy the new set)")
    return _replace_all(directory, files)


def _replace_all(directory: Path, files: dict[str, bytes]) -> list[Path]:
    """Replace the files together: all new ones, or (on any failure, Ctrl-C included) all old ones.

    New contents go to temporary files first; existing files get a hard-link backup; only then are
    the temporaries renamed into place. A key is never left without its passphrase.
    """
    import tempfile

    temps: dict[str, str] = {}
    backups: dict[str, Path] = {}
    done: list[str] = []
    try:
        for name, data in files.items():
            fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".new")
            temps[name] = temp
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), SECRET_MODE if name in SECRET_FILES else PUBLIC_MODE)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for name in files:
            target = directory / name
            if target.exists():
                backup = directory / f".{name}.old"
                backup.unlink(missing_ok=True)
                os.link(target, backup)
                backups[name] = backup
        for name in files:
            os.replace(temps.pop(name), directory / name)
            done.append(name)
    except BaseException as exc:
        for name in done:  # put the old set back
            if name in backups:
                os.replace(backups.pop(name), directory / name)
            else:
                (directory / name).unlink(missing_ok=True)
        for temp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(temp)
        for backup in backups.values():
            backup.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CredentialError(f"{directory}: cannot write the credential files ({exc.strerror}); the previous "
                                  "files are unchanged", hint="check the folder's permissions and free space") from exc
        raise
    for backup in backups.values():
        backup.unlink(missing_ok=True)
    return [directory / name for name in files]


def is_private(path: Path) -> bool:
    """True when no one but the owner can read ``path`` (always true where modes do not exist)."""
    return os.name != "posix" or not stat.S_IMODE(path.stat().st_mode) & 0o077
