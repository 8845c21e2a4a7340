"""Issue #16 (adopting hatch-meadow in an existing app): local state never in the project or its artifacts."""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from conftest import hatchling_build

Project = Callable[..., Path]


def test_no_local_state_is_packed_even_without_a_gitignore(project: Project) -> None:
    """A project without a .gitignore (hatchling then excludes nothing): sdist and wheel hold no hatch-meadow state,
    and the project folder gets no state folder, however often it is built."""
    root = project('device-id = "dev-001"\n', gitignore=False, extra_toml="""
        [tool.hatch.build.targets.sdist]
        exclude = ["MeadowApp/*.pem", "MeadowApp/private_key_pass.txt"]
        """)
    for target in ("wheel", "sdist", "wheel"):
        run = hatchling_build(root, target=target)
        assert run.returncode == 0, run.output
    assert not (root / ".hatch-meadow").exists()
    artifacts = sorted((root / "dist").glob("*"))
    assert {a.suffix for a in artifacts} == {".whl", ".gz"}
    for artifact in artifacts:
        if artifact.suffix == ".whl":
            names = zipfile.ZipFile(artifact).namelist()
        else:
            with tarfile.open(artifact) as archive:
                names = archive.getnames()
        assert not [n for n in names if ".hatch-meadow" in n or "deploy-record" in n or "state.json" in n]
