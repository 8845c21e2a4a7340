"""Byte-exact tests of the format-preserving csproj patcher across many real-world project-file variants.

Every variant states its input and its full expected output as exact bytes (files under
``tests/data/csproj-variants``). For each one we check the
exact output, idempotence (patching the output again changes nothing) and that ``plan_clean`` removes our
``<ItemGroup Label="hatch-meadow">`` and nothing else. Then: bad inputs, the file-level functions, a
hypothesis property over formatting combinations, and regression tests for bugs these tests found.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from hatch_meadow.csproj import PatchResult, clean_csproj, ensure_csproj, plan_clean, plan_patch
from hatch_meadow.errors import ProjectFileError

CREDS = ("client_cert.pem", "private_key.pem", "private_key_pass.txt")
LABEL = b'<ItemGroup Label="hatch-meadow"'
DEBUG = "'$(Configuration)' == 'Debug'"
BOM = b"\xef\xbb\xbf"
OLD_MTIME_NS = 1_500_000_000_123_456_789


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _without_managed_group(data: bytes) -> bytes:
    """Independently remove the lines of every managed ItemGroup (what plan_clean should do)."""
    while (start := data.find(LABEL)) != -1:
        line_start = data.rfind(b"\n", 0, start) + 1
        assert data[line_start:start].strip(b" \t") == b"", "managed group must start its own line"
        close = data.index(b"</ItemGroup>", start) + len(b"</ItemGroup>")
        eol = data.find(b"\n", close)
        assert data[close:eol if eol != -1 else len(data)].strip(b" \t\r") == b""
        data = data[:line_start] + data[eol + 1 if eol != -1 else len(data):]
    return data


def _managed_groups(data: bytes) -> list[etree._Element]:
    root = etree.fromstring(data)
    return [el for el in root if isinstance(el.tag, str) and el.get("Label") == "hatch-meadow"]


@dataclass(frozen=True)
class Variant:
    """One csproj variant: input, options, and the exact expected output."""

    id: str
    original: bytes
    expected: bytes
    files: tuple[str, ...] = CREDS
    mode: str = "Always"
    condition: str | None = None
    outside: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    actions: dict[str, str] | None = None
    #: plan_clean(expected) gives back the original bytes (False when items were fixed in place etc.).
    clean_restores_original: bool = True

    def patch(self, data: bytes) -> PatchResult:
        """Run plan_patch on ``data`` with this variant's options."""
        return plan_patch(data, list(self.files), mode=self.mode, condition=self.condition,
                          outside=list(self.outside))


# --------------------------------------------------------------------------------------------------
# The variants (inputs and expected outputs, byte for byte)
# --------------------------------------------------------------------------------------------------

DATA = Path(__file__).parent / "data" / "csproj-variants"


def _load_variants() -> list[Variant]:
    """``tests/data/csproj-variants``: ``<id>.in.csproj`` and ``<id>.out.csproj`` byte for byte (git leaves them
    alone: see the folder's .gitattributes), and the options of each in ``variants.json``."""
    variants = []
    for entry in json.loads((DATA / "variants.json").read_text(encoding="utf-8")):
        name = entry["id"]
        variants.append(Variant(
            id=name, original=(DATA / f"{name}.in.csproj").read_bytes(),
            expected=(DATA / f"{name}.out.csproj").read_bytes(), files=tuple(entry.get("files", CREDS)),
            mode=entry.get("mode", "Always"), condition=entry.get("condition"), outside=tuple(entry.get("outside", ())),
            warnings=tuple(entry.get("warnings", ())), actions=entry.get("actions"),
            clean_restores_original=entry.get("clean_restores_original", True)))
    return variants


VARIANTS = _load_variants()

VARIANT_IDS = [v.id for v in VARIANTS]


def test_variants_cover_at_least_fifteen_distinct_cases() -> None:
    """The variant table has at least 15 entries with unique ids."""
    assert len(VARIANTS) >= 15
    assert len(set(VARIANT_IDS)) == len(VARIANT_IDS)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_plan_patch_produces_exact_bytes(variant: Variant) -> None:
    """plan_patch turns each variant into exactly the expected bytes, with the expected warnings."""
    result = variant.patch(variant.original)
    assert result.original == variant.original
    assert result.patched == variant.expected
    assert result.changed is (variant.expected != variant.original)
    assert result.warnings == variant.warnings
    if variant.actions is not None:
        assert {c.file: c.action for c in result.changes} == variant.actions


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_plan_patch_is_idempotent(variant: Variant) -> None:
    """Patching the expected output again yields identical bytes and changed is False."""
    again = variant.patch(variant.expected)
    assert again.patched == variant.expected
    assert again.changed is False
    assert again.diff() == ""
    assert {c.action for c in again.changes} <= {"unchanged"}


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_plan_clean_removes_only_managed_group(variant: Variant) -> None:
    """plan_clean on the patched bytes drops exactly our ItemGroup's lines and nothing else."""
    cleaned = plan_clean(variant.expected).patched
    assert cleaned == _without_managed_group(variant.expected)
    assert LABEL not in cleaned
    assert _managed_groups(cleaned) == []
    if variant.clean_restores_original:
        assert cleaned == variant.original
    assert plan_clean(cleaned).changed is False


def test_plan_patch_already_patched_is_byte_identical_noop() -> None:
    """An already patched project comes back byte-identical, with no warnings and an empty diff."""
    variant = next(v for v in VARIANTS if v.id == "already-patched-example-project-unchanged")
    result = variant.patch(variant.original)
    assert result.patched == variant.original
    assert result.changed is False
    assert result.warnings == ()
    assert result.diff() == ""


def test_plan_patch_old_style_adds_no_namespace_declaration() -> None:
    """New elements in a 2003-namespace project carry no xmlns; lxml still sees them in the namespace."""
    variant = next(v for v in VARIANTS if v.id == "old-style-2003-namespace-tools-version-uses-include")
    patched = variant.patch(variant.original).patched
    assert patched.count(b"xmlns") == 1
    assert b"Update=" not in patched
    (group,) = _managed_groups(patched)
    assert group.tag == "{http://schemas.microsoft.com/developer/msbuild/2003}ItemGroup"
    assert [item.get("Include") for item in group] == list(CREDS)


def test_patch_result_diff_is_lf_unified_diff_of_crlf_file() -> None:
    """diff() of a CRLF change is an LF unified diff with a/ b/ headers and '+' lines for our group."""
    variant = next(v for v in VARIANTS if v.id == "crlf-4space-xml-declaration")
    diff = variant.patch(variant.original).diff()
    assert "\r" not in diff
    assert diff.startswith("--- a/project.csproj\n+++ b/project.csproj\n")
    assert '+    <ItemGroup Label="hatch-meadow">\n' in diff
    assert "+            <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n" in diff
    assert not any(line.startswith("-") and not line.startswith("---") for line in diff.splitlines())


def test_patch_result_diff_marks_missing_final_newline() -> None:
    """diff() of a file without a final newline says so, like diff(1)."""
    variant = next(v for v in VARIANTS if v.id == "bom-declaration-tabs-no-final-newline")
    diff = variant.patch(variant.original).diff()
    assert diff.endswith(" </Project>\n\\ No newline at end of file\n")


# --------------------------------------------------------------------------------------------------
# Bad inputs (pure functions)
# --------------------------------------------------------------------------------------------------

MALFORMED = (
    b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
    b"  <ItemGroup>\n"
    b'    <None Update="client_cert.pem">\n'
    b"  </ItemGroup>\n"
    b"</Project>\n"
)


@pytest.mark.parametrize("plan", [plan_patch, plan_clean], ids=["plan_patch", "plan_clean"])
def test_plan_malformed_xml_reports_line_and_column(plan: Callable[..., object]) -> None:
    """Malformed XML raises ProjectFileError naming the file, line and column of the error."""
    args = (MALFORMED, CREDS) if plan is plan_patch else (MALFORMED,)
    with pytest.raises(ProjectFileError) as info:
        plan(*args, name="MeadowApp.csproj")
    error = info.value
    assert error.exit_code == 2
    assert re.match(r"MeadowApp\.csproj: not well-formed XML at line 4, column \d+: ", error.message)
    assert error.hint is not None
    assert "has not changed the file" in error.hint


def test_plan_patch_malformed_unescaped_ampersand_reports_line_3() -> None:
    """An unescaped '&' in an attribute on line 3 is reported at line 3, column 26."""
    data = (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b"  <ItemGroup>\n"
        b'    <None Update="R&D.pem" />\n'
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )
    with pytest.raises(ProjectFileError, match=r"not well-formed XML at line 3, column 26: EntityRef"):
        plan_patch(data, CREDS)


@pytest.mark.parametrize(
    "data",
    [b"<Foo />", b'<Project xmlns="urn:not-msbuild" />', b"<PropertyGroup><A>1</A></PropertyGroup>"],
    ids=["foo-root", "project-in-foreign-namespace", "propertygroup-root"],
)
def test_plan_patch_non_project_root_rejected(data: bytes) -> None:
    """A root that is not an MSBuild <Project> raises ProjectFileError with a hint to the .csproj."""
    with pytest.raises(ProjectFileError) as info:
        plan_patch(data, CREDS)
    assert "not an MSBuild <Project>" in info.value.message
    assert info.value.hint is not None
    assert ".csproj" in info.value.hint
    with pytest.raises(ProjectFileError, match="not an MSBuild <Project>"):
        plan_clean(data)


def test_plan_patch_empty_file_rejected() -> None:
    """An empty file is malformed XML at line 1."""
    with pytest.raises(ProjectFileError, match=r"not well-formed XML at line 1, column 1"):
        plan_patch(b"", CREDS)


@pytest.mark.parametrize(
    ("element", "spec"),
    [
        ("None", "private_key.pem"),
        ("None", "*.pem"),
        ("None", "**/*.pem"),
        ("None", "other.txt;PRIVATE_KEY.PEM"),
        ("Content", "private_key.pem"),
    ],
    ids=["exact", "glob", "recursive-glob", "list-case-insensitive", "content-remove"],
)
def test_plan_patch_remove_of_credential_rejected(element: str, spec: str) -> None:
    """A Remove matching a credential file raises ProjectFileError naming it; the hint mentions Remove."""
    data = (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b"  <ItemGroup>\n"
        + f'    <{element} Remove="{spec}" />\n'.encode()
        + b"  </ItemGroup>\n"
        b"</Project>\n"
    )
    with pytest.raises(ProjectFileError) as info:
        plan_patch(data, ["private_key.pem"])
    error = info.value
    assert error.exit_code == 2
    assert f'<{element} Remove="{spec}"> at line 3' in error.message
    assert "takes a credential file out of the build" in error.message
    assert error.hint is not None
    assert "Remove" in error.hint


def test_plan_patch_remove_of_other_file_allowed() -> None:
    """A Remove that matches no credential file is left alone and the group is added."""
    data = (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b"  <ItemGroup>\n"
        b'    <None Remove="docs/*.pem" />\n'
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )
    result = plan_patch(data, ["client_cert.pem"])
    assert result.patched == (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b"  <ItemGroup>\n"
        b'    <None Remove="docs/*.pem" />\n'
        b"  </ItemGroup>\n"
        b'  <ItemGroup Label="hatch-meadow">\n'
        b'    <None Update="client_cert.pem">\n'
        b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"    </None>\n"
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )


# --------------------------------------------------------------------------------------------------
# File-level functions (ensure_csproj / clean_csproj)
# --------------------------------------------------------------------------------------------------

SMALL = b'<Project Sdk="Meadow.Sdk/1.1.0">\n  <PropertyGroup />\n</Project>\n'
SMALL_PATCHED = (
    b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
    b"  <PropertyGroup />\n"
    b'  <ItemGroup Label="hatch-meadow">\n'
    b'    <None Update="client_cert.pem">\n'
    b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
    b"    </None>\n"
    b'    <None Update="private_key.pem">\n'
    b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
    b"    </None>\n"
    b'    <None Update="private_key_pass.txt">\n'
    b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
    b"    </None>\n"
    b"  </ItemGroup>\n"
    b"</Project>\n"
)


def _project(tmp_path: Path, data: bytes, mode: int = 0o644) -> Path:
    path = tmp_path / "MeadowApp" / "MeadowApp.csproj"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    return path


def _state(path: Path) -> tuple[bytes, int, int]:
    st_ = path.stat()
    return path.read_bytes(), st_.st_mtime_ns, stat.S_IMODE(st_.st_mode)


def test_ensure_csproj_writes_patched_bytes(tmp_path: Path) -> None:
    """ensure_csproj writes exactly the planned bytes and reports written=True."""
    path = _project(tmp_path, SMALL)
    result = ensure_csproj(path)
    assert result.written is True
    assert result.changed is True
    assert result.patched == SMALL_PATCHED
    assert path.read_bytes() == SMALL_PATCHED
    assert path.stat().st_mtime_ns != OLD_MTIME_NS
    assert sorted(p.name for p in path.parent.iterdir()) == ["MeadowApp.csproj"]  # no temp file left


def test_ensure_csproj_unchanged_file_not_rewritten(tmp_path: Path) -> None:
    """When nothing changes the file is not rewritten: same bytes, same inode, same st_mtime_ns."""
    path = _project(tmp_path, SMALL_PATCHED)
    inode = path.stat().st_ino
    result = ensure_csproj(path)
    assert result.written is False
    assert result.changed is False
    assert _state(path) == (SMALL_PATCHED, OLD_MTIME_NS, 0o644)
    assert path.stat().st_ino == inode


def test_ensure_csproj_keeps_file_mode(tmp_path: Path) -> None:
    """A rewritten file keeps its permission bits (0o640 stays 0o640)."""
    path = _project(tmp_path, SMALL, mode=0o640)
    ensure_csproj(path)
    assert path.read_bytes() == SMALL_PATCHED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_ensure_csproj_follows_symlink_and_rewrites_target(tmp_path: Path) -> None:
    """A symlinked csproj: the target gets the new bytes and the link stays a link to it."""
    target = tmp_path / "real" / "Real.csproj"
    target.parent.mkdir()
    target.write_bytes(SMALL)
    link = tmp_path / "MeadowApp.csproj"
    link.symlink_to(target)
    result = ensure_csproj(link, files=list(CREDS))
    assert result.written is True
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert target.read_bytes() == SMALL_PATCHED
    assert sorted(p.name for p in target.parent.iterdir()) == ["Real.csproj"]


def test_ensure_csproj_dry_run_does_not_write(tmp_path: Path) -> None:
    """dry_run plans the patch but leaves bytes and mtime alone, even for a read-only file."""
    path = _project(tmp_path, SMALL, mode=0o444)
    result = ensure_csproj(path, dry_run=True)
    assert result.patched == SMALL_PATCHED
    assert result.written is False
    assert _state(path) == (SMALL, OLD_MTIME_NS, 0o444)


def test_ensure_csproj_credentials_dir_outside_project_links_files(tmp_path: Path) -> None:
    """Default files from a credentials_dir outside the project become Include+Link items."""
    path = _project(tmp_path, b'<Project Sdk="Meadow.Sdk/1.1.0">\n</Project>\n')
    (tmp_path / "secrets").mkdir()
    result = ensure_csproj(path, credentials_dir=tmp_path / "secrets", mode="PreserveNewest")
    assert result.written is True
    assert path.read_bytes() == (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b'  <ItemGroup Label="hatch-meadow">\n'
        b'    <None Include="..\\secrets\\client_cert.pem" Link="client_cert.pem">\n'
        b"      <CopyToOutputDirectory>PreserveNewest</CopyToOutputDirectory>\n"
        b"    </None>\n"
        b'    <None Include="..\\secrets\\private_key.pem" Link="private_key.pem">\n'
        b"      <CopyToOutputDirectory>PreserveNewest</CopyToOutputDirectory>\n"
        b"    </None>\n"
        b'    <None Include="..\\secrets\\private_key_pass.txt" Link="private_key_pass.txt">\n'
        b"      <CopyToOutputDirectory>PreserveNewest</CopyToOutputDirectory>\n"
        b"    </None>\n"
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )


def test_ensure_csproj_explicit_outside_file_gets_link(tmp_path: Path) -> None:
    """An explicit '../' file is treated as outside the project folder (Include plus Link)."""
    path = _project(tmp_path, b'<Project Sdk="Meadow.Sdk/1.1.0">\n</Project>\n')
    ensure_csproj(path, files=["../secrets/client_cert.pem"], condition=DEBUG)
    assert path.read_bytes() == (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b"  <ItemGroup Label=\"hatch-meadow\" Condition=\"'$(Configuration)' == 'Debug'\">\n"
        b'    <None Include="..\\secrets\\client_cert.pem" Link="client_cert.pem">\n'
        b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"    </None>\n"
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )


def test_clean_csproj_removes_group_and_keeps_mode(tmp_path: Path) -> None:
    """clean_csproj restores the pre-patch bytes and keeps the file mode."""
    path = _project(tmp_path, SMALL_PATCHED, mode=0o640)
    result = clean_csproj(path)
    assert result.written is True
    assert [(c.file, c.action) for c in result.changes] == [(f, "removed") for f in CREDS]
    assert path.read_bytes() == SMALL
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_clean_csproj_without_group_not_rewritten(tmp_path: Path) -> None:
    """clean_csproj on a project without our group writes nothing (mtime unchanged)."""
    path = _project(tmp_path, SMALL)
    result = clean_csproj(path)
    assert result.written is False
    assert result.changes == ()
    assert _state(path) == (SMALL, OLD_MTIME_NS, 0o644)


def test_clean_csproj_dry_run_does_not_write(tmp_path: Path) -> None:
    """clean_csproj(dry_run=True) plans the removal but leaves the file alone."""
    path = _project(tmp_path, SMALL_PATCHED)
    result = clean_csproj(path, dry_run=True)
    assert result.patched == SMALL
    assert result.written is False
    assert _state(path) == (SMALL_PATCHED, OLD_MTIME_NS, 0o644)


REMOVE_PROJECT = (
    b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
    b"  <ItemGroup>\n"
    b'    <None Remove="*.pem" />\n'
    b"  </ItemGroup>\n"
    b"</Project>\n"
)

# (id, setup returning the path to pass, expected message fragment); used for both file-level functions
ERROR_CASES = [
    ("missing-file", lambda tmp: tmp / "MeadowApp" / "Missing.csproj", "no such file"),
    ("directory", lambda tmp: (tmp / "MeadowApp"), "is a directory"),
    ("read-only", lambda tmp: _project(tmp, SMALL, mode=0o444), "is read-only"),
    ("malformed", lambda tmp: _project(tmp, MALFORMED), "not well-formed XML at line 4"),
    ("not-a-project", lambda tmp: _project(tmp, b"<Foo />\n"), "not an MSBuild <Project>"),
]


def _snapshot_tree(folder: Path) -> dict[str, tuple[bytes | None, int, int]]:
    out: dict[str, tuple[bytes | None, int, int]] = {}
    for p in [folder, *sorted(folder.rglob("*"))]:
        st_ = p.lstat()
        out[str(p)] = (p.read_bytes() if p.is_file() else None, st_.st_mtime_ns, stat.S_IMODE(st_.st_mode))
    return out


def _run_error_case(tmp_path: Path, setup: Callable[[Path], Path], function: Callable[[Path], object],
                    fragment: str) -> None:
    (tmp_path / "MeadowApp").mkdir(exist_ok=True)
    path = setup(tmp_path)
    os.utime(tmp_path / "MeadowApp", ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    before = _snapshot_tree(tmp_path / "MeadowApp")
    with pytest.raises(ProjectFileError) as info:
        function(path)
    assert info.value.exit_code == 2
    assert fragment in info.value.message
    assert str(path) in info.value.message
    assert info.value.hint
    assert _snapshot_tree(tmp_path / "MeadowApp") == before


@pytest.mark.parametrize(("setup", "fragment"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_ensure_csproj_error_leaves_file_untouched(
        tmp_path: Path, setup: Callable[[Path], Path], fragment: str) -> None:
    """ensure_csproj raises ProjectFileError and leaves bytes, mtime and mode of everything unchanged."""
    _run_error_case(tmp_path, setup, ensure_csproj, fragment)


def test_ensure_csproj_remove_item_leaves_file_untouched(tmp_path: Path) -> None:
    """A Remove of a credential file: ProjectFileError, file bytes and mtime unchanged."""
    _run_error_case(tmp_path, lambda tmp: _project(tmp, REMOVE_PROJECT), ensure_csproj, 'Remove="*.pem"')


CLEAN_ERROR_CASES = [
    (name, (lambda tmp: _project(tmp, SMALL_PATCHED, mode=0o444)) if name == "read-only" else setup, fragment)
    for name, setup, fragment in ERROR_CASES
]


@pytest.mark.parametrize(("setup", "fragment"), [c[1:] for c in CLEAN_ERROR_CASES],
                         ids=[c[0] for c in CLEAN_ERROR_CASES])
def test_clean_csproj_error_leaves_file_untouched(
        tmp_path: Path, setup: Callable[[Path], Path], fragment: str) -> None:
    """clean_csproj raises ProjectFileError and leaves bytes, mtime and mode of everything unchanged."""
    _run_error_case(tmp_path, setup, clean_csproj, fragment)


@pytest.mark.parametrize("function", [ensure_csproj, clean_csproj], ids=["ensure", "clean"])
def test_read_only_csproj_that_needs_no_change_is_fine(tmp_path: Path, function: Callable[[Path], object]) -> None:
    """A read-only csproj is only an error when a change is due; an up-to-date one is left alone quietly."""
    content = SMALL_PATCHED if function is ensure_csproj else SMALL
    path = _project(tmp_path, content, mode=0o444)
    result = function(path)
    assert result.written is False
    assert _state(path) == (content, OLD_MTIME_NS, 0o444)


def test_ensure_csproj_read_only_hint_mentions_chmod(tmp_path: Path) -> None:
    """The read-only error (detected from mode bits, even as root) tells how to make it writable."""
    path = _project(tmp_path, SMALL, mode=0o444)
    with pytest.raises(ProjectFileError) as info:
        ensure_csproj(path)
    assert info.value.hint is not None
    assert f"chmod u+w {path}" in info.value.hint


# --------------------------------------------------------------------------------------------------
# Property test over formatting combinations
# --------------------------------------------------------------------------------------------------


def _existing_item(form: str, i2: str, i3: str, nl: str, mode: str) -> tuple[str, str]:
    """(existing item text, the same item after the patch) for client_cert.pem, at depth 2."""
    copy = f"<CopyToOutputDirectory>{mode}</CopyToOutputDirectory>"
    forms = {
        "absent": ("", ""),
        "update-empty": (
            f'{i2}<None Update="client_cert.pem" />{nl}',
            f'{i2}<None Update="client_cert.pem">{nl}{i3}{copy}{nl}{i2}</None>{nl}',
        ),
        "update-attr-dq": (
            f'{i2}<None Update="client_cert.pem" CopyToOutputDirectory="PreserveNewest" />{nl}',
            f'{i2}<None Update="client_cert.pem" CopyToOutputDirectory="{mode}" />{nl}',
        ),
        "include-attr-sq": (
            f"{i2}<None Include='client_cert.pem' CopyToOutputDirectory='Never'/>{nl}",
            f"{i2}<None Include='client_cert.pem' CopyToOutputDirectory='{mode}'/>{nl}",
        ),
        "content-child-never": (
            f'{i2}<Content Include="client_cert.pem">{nl}{i3}<CopyToOutputDirectory>Never'
            f"</CopyToOutputDirectory>{nl}{i2}</Content>{nl}",
            f'{i2}<Content Include="client_cert.pem">{nl}{i3}{copy}{nl}{i2}</Content>{nl}',
        ),
        "update-child-always": (
            f'{i2}<None Update="client_cert.pem">{nl}{i3}<CopyToOutputDirectory>Always'
            f"</CopyToOutputDirectory>{nl}{i2}</None>{nl}",
            f'{i2}<None Update="client_cert.pem">{nl}{i3}{copy}{nl}{i2}</None>{nl}',
        ),
    }
    return forms[form]


ITEM_FORMS = ["absent", "update-empty", "update-attr-dq", "include-attr-sq", "content-child-never",
              "update-child-always"]


@settings(max_examples=250, deadline=None)
@given(
    unit=st.sampled_from(["  ", "    ", "\t"]),
    nl=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    declaration=st.booleans(),
    final_newline=st.booleans(),
    form=st.sampled_from(ITEM_FORMS),
    mode=st.sampled_from(["Always", "PreserveNewest"]),
    condition=st.sampled_from([None, DEBUG]),
)
def test_plan_patch_property_exact_idempotent_and_clean(
        unit: str, nl: str, bom: bool, declaration: bool, final_newline: bool, form: str, mode: str,
        condition: str | None) -> None:
    """For any formatting combination: exact bytes, patch twice == once, clean drops only our group."""
    i1, i2, i3 = unit, unit * 2, unit * 3
    existing, fixed = _existing_item(form, i2, i3, nl, mode)
    head = (
        ('<?xml version="1.0" encoding="utf-8"?>' + nl if declaration else "")
        + f'<Project Sdk="Meadow.Sdk/1.1.0">{nl}'
        f"{i1}<PropertyGroup>{nl}"
        f"{i2}<OutputType>Library</OutputType>{nl}"
        f"{i1}</PropertyGroup>{nl}"
        f"{i1}<ItemGroup>{nl}"
        f'{i2}<PackageReference Include="Meadow.F7" Version="2.*" />{nl}'
    )
    tail = f"{i1}</ItemGroup>{nl}"
    end = "</Project>" + (nl if final_newline else "")
    prefix = BOM if bom else b""

    new_files = CREDS if form == "absent" else CREDS[1:]
    cond = f' Condition="{condition}"' if condition else ""
    group = f'{i1}<ItemGroup Label="hatch-meadow"{cond}>{nl}'
    for file in new_files:
        group += (f'{i2}<None Update="{file}">{nl}'
                  f"{i3}<CopyToOutputDirectory>{mode}</CopyToOutputDirectory>{nl}"
                  f"{i2}</None>{nl}")
    group += f"{i1}</ItemGroup>{nl}"

    original = prefix + (head + existing + tail + end).encode()
    expected = prefix + (head + fixed + tail + group + end).encode()
    expected_clean = prefix + (head + fixed + tail + end).encode()

    once = plan_patch(original, list(CREDS), mode=mode, condition=condition)
    assert once.patched == expected
    # every byte before the first edit is preserved
    first_edit = len(prefix) + len((head + existing).encode()) if form == "absent" else \
        len(prefix) + len(head.encode())
    assert once.patched[:first_edit] == original[:first_edit]
    assert once.patched.endswith(end.encode())

    twice = plan_patch(once.patched, list(CREDS), mode=mode, condition=condition)
    assert twice.patched == once.patched
    assert twice.changed is False

    cleaned = plan_clean(once.patched).patched
    assert cleaned == expected_clean
    assert _managed_groups(cleaned) == []
    assert cleaned[:first_edit] == original[:first_edit]
    if form == "absent" or (form == "update-child-always" and mode == "Always"):
        assert cleaned == original


# --------------------------------------------------------------------------------------------------
# Regressions: bugs found by these tests, now fixed
# --------------------------------------------------------------------------------------------------

MULTI_BEFORE_AFTER = [
    pytest.param(
        b'    <None Update="client_cert.pem;private_key.pem" CopyToOutputDirectory="PreserveNewest" />\n',
        b'    <None Update="client_cert.pem;private_key.pem" CopyToOutputDirectory="Always" />\n',
        id="attribute-metadata",
    ),
    pytest.param(
        b'    <None Update="client_cert.pem;private_key.pem">\n'
        b"      <CopyToOutputDirectory>Never</CopyToOutputDirectory>\n"
        b"    </None>\n",
        b'    <None Update="client_cert.pem;private_key.pem">\n'
        b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"    </None>\n",
        id="child-metadata",
    ),
    pytest.param(
        b'    <None Update="client_cert.pem;private_key.pem" />\n',
        b'    <None Update="client_cert.pem;private_key.pem">\n'
        b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"    </None>\n",
        id="no-metadata",
    ),
]


@pytest.mark.parametrize(("item", "fixed_item"), MULTI_BEFORE_AFTER)
def test_plan_patch_multi_file_item_needing_fix_is_fixed_once(item: bytes, fixed_item: bytes) -> None:
    """An item with Update="client_cert.pem;private_key.pem" that needs a fix is fixed once, in place."""
    head = b'<Project Sdk="Meadow.Sdk/1.1.0">\n  <ItemGroup>\n'
    tail = b"  </ItemGroup>\n</Project>\n"
    result = plan_patch(head + item + tail, list(CREDS))
    assert result.patched == (
        head + fixed_item + b"  </ItemGroup>\n"
        b'  <ItemGroup Label="hatch-meadow">\n'
        b'    <None Update="private_key_pass.txt">\n'
        b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"    </None>\n"
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )


def test_plan_patch_inline_metadata_child_kept_when_adding_copy() -> None:
    """<None Update="client_cert.pem"><Link>x.pem</Link></None> keeps its Link when Copy... is added."""
    data = (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b"  <ItemGroup>\n"
        b'    <None Update="client_cert.pem"><Link>certs/x.pem</Link></None>\n'
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )
    patched = plan_patch(data, ["client_cert.pem"]).patched
    item = etree.fromstring(patched).find("ItemGroup/None")
    assert item is not None
    assert item.findtext("CopyToOutputDirectory") == "Always"
    assert item.findtext("Link") == "certs/x.pem"


def test_plan_patch_literal_percent_name_not_confused_with_escaped_spec() -> None:
    """A file literally named cert%20A.pem is not matched by an item for 'cert A.pem'."""
    data = (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b"  <ItemGroup>\n"
        b'    <None Update="cert A.pem" CopyToOutputDirectory="Always" />\n'
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )
    result = plan_patch(data, ["cert%20A.pem"])
    assert result.patched == (
        b'<Project Sdk="Meadow.Sdk/1.1.0">\n'
        b"  <ItemGroup>\n"
        b'    <None Update="cert A.pem" CopyToOutputDirectory="Always" />\n'
        b"  </ItemGroup>\n"
        b'  <ItemGroup Label="hatch-meadow">\n'
        b'    <None Update="cert%2520A.pem">\n'
        b"      <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"    </None>\n"
        b"  </ItemGroup>\n"
        b"</Project>\n"
    )


def test_plan_patch_remove_glob_reported_once() -> None:
    """A single <None Remove="*.pem" /> is named once in the error, not once per matching file."""
    with pytest.raises(ProjectFileError) as info:
        plan_patch(REMOVE_PROJECT, list(CREDS))
    assert info.value.message.count('<None Remove="*.pem"> at line 3') == 1
