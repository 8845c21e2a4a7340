"""Keep credentials out of sdists and wheels: inspect what a build would pack, and what it packed."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from hatch_meadow.errors import MeadowError
from hatch_meadow.names import SECRET_FILES


def list_archive(path: Path) -> list[str]:
    """Member names of a wheel (zip) or an sdist (tar.gz)."""
    if path.suffix == ".whl" or zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    import tarfile  # only sdists need it; keeps the hook's import cheap

    with tarfile.open(path) as archive:
        return archive.getnames()


def find_credentials(members: Iterable[str], credential_paths: Iterable[str]) -> list[str]:
    """Members that are one of our credential files, or any private key / pass file by name.

    ``credential_paths`` are project-root-relative ``/`` paths; sdists prefix members with
    ``<name>-<version>/``, so a member matches when it ends with the relative path.
    """
    wanted = [p.strip("/") for p in credential_paths]
    hits = []
    for member in members:
        clean = member.strip("/")
        if PurePosixPath(clean).name in SECRET_FILES or any(
            clean == rel or clean.endswith("/" + rel) for rel in wanted
        ):
            hits.append(member)
    return hits


def ensure_artifact_clean(path: Path, credential_paths: Iterable[str], secrets: Iterable[bytes] = ()) -> None:
    """Delete ``path`` and raise if it contains credentials: by name, and by content (any name).

    Raises:
        MeadowError: naming the artifact and the members (never their content); the artifact is removed.
    """
    from hatch_meadow.scan import scan_archive_file

    report = scan_archive_file(path, secrets)
    if report.not_scanned and not report.hits:
        raise MeadowError(f"{path.name} could not be checked for private keys: "
                          + "; ".join(f"{where}: {why}" for where, why in report.not_scanned),
                          hint="the artifact was kept; check it with `hatch-meadow scan` before publishing it")
    hits = [f"{m} (a credential file)" for m in find_credentials(list_archive(path), credential_paths)]
    hits += [f"{h.where.split('!', 1)[1]} ({h.what})" for h in report.hits
             if not any(h.where.endswith("!" + m.split(" (")[0]) for m in hits)]
    if not hits:
        return
    path.unlink(missing_ok=True)
    raise MeadowError(
        f"{path.name} contained private-key material: {'; '.join(hits)}; hatch-meadow deleted the artifact",
        hint="exclude them from the build: add them to .gitignore, or to "
        "[tool.hatch.build.targets.<target>] exclude = [...]",
    )
