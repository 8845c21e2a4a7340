"""Read and write the three credential files safely (no secrets in messages, 0600, atomic, no symlinks)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator, Mapping
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
    """The three files in ``directory``, by name (after finishing or undoing an interrupted write)."""
    recover_interrupted(directory)
    return {name: read_file(directory, name) for name in CREDENTIAL_FILES}


#: The journal that commits a staged set; a later run rolls it forward (the set is complete by then).
JOURNAL: Final = ".hatch-meadow-journal"
STAGING_PREFIX: Final = ".hatch-meadow-staging-"
LOCK_FILE: Final = ".hatch-meadow.lock"


def write_credentials(directory: Path, files: Mapping[str, bytes | None], *, force: bool = False) -> list[Path]:
    """Replace credential files as one set: all the new ones, or (after a crash at any point, SIGKILL
    included) all the old ones. ``None`` deletes that file as part of the set. Secrets 0600, never
    through a symlink, never over existing files unless ``force``. All checks happen before the first
    write, so a refusal changes nothing. One writer per folder: a second one fails at once.

    The set is staged complete in a private folder beside the targets (0700) and fsynced; writing the
    journal that names it is the commit; then the files are renamed into place and the journal removed.
    A run that finds a journal finishes those renames first; one that finds staging without a journal
    removes it (see :func:`recover_interrupted`).

    Raises:
        CredentialError: a target exists (without force), is a symlink or a directory, the folder is busy
            with another writer, or cannot be written.
    """
    try:
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True)
            os.chmod(directory, 0o700)  # whatever the umask: it holds secrets
    except OSError as exc:
        raise CredentialError(f"{directory}: cannot create the folder ({exc.strerror})") from exc
    with writer_lock(directory):
        recover_interrupted(directory, locked=True)
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
        try:
            _switch_set(directory, files)
        except OSError as exc:
            raise CredentialError(f"{directory}: cannot write the credential files ({exc.strerror}); the previous "
                                  "files are unchanged", hint="check the folder's permissions and free space") from exc
    return [directory / name for name, data in files.items() if data is not None]


@contextlib.contextmanager
def writer_lock(directory: Path) -> Iterator[None]:
    """Hold the folder's writer lock (in this machine's state folder; released by the OS if we die).

    Raises:
        CredentialError: another process holds it (at once, never waits).
    """
    from hatch_meadow.locking import Locked, exclusive
    from hatch_meadow.userstate import folder_lock_path

    try:
        try:
            lock_path = folder_lock_path(directory)
        except OSError:  # no user state folder (read-only home): lock inside the folder instead
            lock_path = directory / LOCK_FILE
        with exclusive(lock_path):
            yield
    except Locked as exc:
        who = f" (pid {exc.pid})" if exc.pid else ""
        raise CredentialError(f"{directory}: another hatch-meadow{who} is writing credentials in this folder; "
                              "nothing was changed", hint="wait for it to finish, then run this again") from None
    except OSError as exc:
        raise CredentialError(f"{directory}: cannot lock the folder ({exc.strerror}); nothing was changed",
                              hint="check the folder's permissions") from exc


def mode_for(name: str) -> int:
    """0600 for the key and the pass file, 0644 for the certificate."""
    return SECRET_MODE if name in SECRET_FILES else PUBLIC_MODE


def write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the first byte (umask or not), write and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        os.chmod(path, mode)  # the umask may have taken bits away (never added any)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        if fd >= 0:
            os.close(fd)


def _switch_set(directory: Path, files: Mapping[str, bytes | None]) -> None:
    from hatch_meadow.atomicfile import fsync_folder, save_atomic

    staging = new_private_folder(directory, STAGING_PREFIX)
    try:
        for name, data in files.items():
            if data is not None:
                write_new(staging / name, data, mode_for(name))
        fsync_folder(staging)
    except BaseException:
        _remove_tree(staging)
        raise
    present = {name: data is not None for name, data in files.items()}
    save_atomic(directory / JOURNAL, _journal_json(staging.name, present), mode=0o600)  # the commit point
    _roll_forward(directory, {"staging": staging.name, "files": present})


def _journal_json(staging: str, files: Mapping[str, bool]) -> bytes:
    """The journal as JSON, written by hand (json costs a short command ~1 ms). Every string in it is a
    credential file name or the staging folder's prefix + hex, so nothing needs escaping."""
    if not (staging.startswith(STAGING_PREFIX) and staging[len(STAGING_PREFIX):].isalnum()) or any(
            name not in CREDENTIAL_FILES for name in files):
        raise ValueError(f"not a journal entry: {staging!r}, {sorted(files)!r}")  # a bug, never user input
    entries = ", ".join(f'"{name}": {"true" if present else "false"}' for name, present in files.items())
    return f'{{"staging": "{staging}", "files": {{{entries}}}}}'.encode()


def new_private_folder(directory: Path, prefix: str) -> Path:
    """A new private (0700) folder ``prefix`` + random hex in ``directory`` (what tempfile.mkdtemp does, without
    importing it: `generate` is a short command). Staging for credential sets and fleet device folders."""
    for _ in range(100):
        staging = directory / f"{prefix}{os.urandom(8).hex()}"
        try:
            os.mkdir(staging, 0o700)
        except FileExistsError:
            continue
        return staging
    raise FileExistsError(f"{directory}: no free staging name")


def _roll_forward(directory: Path, journal: Mapping[str, object]) -> None:
    from hatch_meadow.atomicfile import fsync_folder

    staging = directory / str(journal["staging"])
    wanted = journal["files"]
    assert isinstance(wanted, dict)
    for name, present in wanted.items():
        if name not in CREDENTIAL_FILES:
            continue  # a journal never names anything else; refuse to move what it should not
        if present:
            if (staging / name).exists():
                os.replace(staging / name, directory / name)
        else:
            (directory / name).unlink(missing_ok=True)
    fsync_folder(directory)
    (directory / JOURNAL).unlink(missing_ok=True)
    _remove_tree(staging)
    fsync_folder(directory)


def recover_interrupted(directory: Path, *, locked: bool = False) -> list[str]:
    """Finish or undo what an interrupted writer left in ``directory``; what was done, as notes.

    A journal → its set is complete: finish moving it into place. Staging folders without a journal →
    remove them (the old set never changed). Temporary files of older versions (``.NAME.*.new``,
    ``.NAME.old``, ``.NAME.*.tmp``) → removed. Skipped while another writer holds the folder.
    """
    if not directory.is_dir() or not _anything_to_recover(directory):
        return []
    if not locked:
        try:
            with writer_lock(directory):
                return recover_interrupted(directory, locked=True)
        except CredentialError:
            return []  # a writer is at work (or the folder is read-only): leave it alone
    import json

    notes: list[str] = []
    journal_path = directory / JOURNAL
    if journal_path.is_file() and not journal_path.is_symlink():
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
            valid = isinstance(journal, dict) and isinstance(journal.get("files"), dict) and str(
                journal.get("staging", "")).startswith(STAGING_PREFIX) and "/" not in str(journal["staging"])
        except (OSError, ValueError):
            valid = False
        if valid:
            _roll_forward(directory, journal)
            notes.append("finished replacing the credential set an interrupted run had prepared")
        else:
            journal_path.unlink(missing_ok=True)
    for leftover in sorted(directory.iterdir()):
        name = leftover.name
        if name.startswith(STAGING_PREFIX) and leftover.is_dir() and not leftover.is_symlink():
            _remove_tree(leftover)
            notes.append("removed the half-prepared set of an interrupted run (the files in place are unchanged)")
        elif _is_old_temp(name) and not leftover.is_dir():
            leftover.unlink(missing_ok=True)
            notes.append(f"removed {name}, left by an interrupted run")
    return notes


def _anything_to_recover(directory: Path) -> bool:
    try:
        return any(n == JOURNAL or n.startswith(STAGING_PREFIX) or _is_old_temp(n) for n in os.listdir(directory))
    except OSError:
        return False


def _is_old_temp(name: str) -> bool:
    """Temporary names older versions and ``save_atomic`` used for credential files and the journal."""
    for target in (*CREDENTIAL_FILES, JOURNAL):
        if name.startswith(f".{target}.") and name.endswith((".new", ".tmp", ".old")):
            return True
    return False


def _remove_tree(folder: Path) -> None:
    """Remove a staging folder. It holds only files (or nothing, once its set moved into place), so a scan
    does it; shutil (~1.5 ms to import for a short command) only when something else is inside."""
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                os.unlink(entry.path)  # a symlink is removed, never followed; a folder raises
        os.rmdir(folder)
    except OSError:
        import shutil

        with contextlib.suppress(OSError):
            shutil.rmtree(folder)


def is_private(path: Path) -> bool:
    """True when no one but the owner can read ``path`` (always true where modes do not exist)."""
    return os.name != "posix" or not stat.S_IMODE(path.stat().st_mode) & 0o077
