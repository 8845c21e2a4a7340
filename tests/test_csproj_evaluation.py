"""The csproj patch as MSBuild evaluates the project (issue #15): default items, Directory.Build files, indentation.

Fixtures under ``tests/data/csproj`` (sources in its SOURCES.md): real project files with their real
Directory.Build.props/.targets, and one hand-made tree per rule. Then the evaluation model on its own,
the item form and its reasons, the before/after bytes, the CLI, and one real hatchling build.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CSPROJ, hatchling_build
from lxml import etree

from hatch_meadow.cli import main
from hatch_meadow.csproj import PatchResult, ensure_csproj, plan_patch
from hatch_meadow.errors import ProjectFileError
from hatch_meadow.msbuild_condition import evaluate_condition, expand
from hatch_meadow.msbuild_context import context_fingerprint, load_build_context, resolve_import
from hatch_meadow.msbuild_eval import DefaultItems, evaluate_project
from hatch_meadow.msbuild_events import PROJECT, BuildContext, SourceFile

DATA = Path(__file__).parent / "data" / "csproj"
CREDS = ["client_cert.pem", "private_key.pem", "private_key_pass.txt"]
FIXTURES = sorted(p for p in DATA.rglob("*.csproj"))
FIXTURE_IDS = [p.relative_to(DATA).as_posix() for p in FIXTURES]
Project = Callable[..., Path]


def patch_fixture(path: Path, data: bytes | None = None) -> PatchResult:
    """Plan the patch for a fixture with its real surroundings (never writes)."""
    data = path.read_bytes() if data is None else data
    return plan_patch(data, CREDS, name=path.relative_to(DATA).as_posix(),
                      context=load_build_context(path, data))


def sdk(body: str = "", items: str = "") -> bytes:
    """A small SDK-style project with extra properties and items."""
    return (f'<Project Sdk="Meadow.Sdk/1.1.0">\n  <PropertyGroup>\n    <OutputType>Library</OutputType>\n{body}'
            f"  </PropertyGroup>\n  <ItemGroup>\n{items}  </ItemGroup>\n</Project>\n").encode()


def context(props: str | None = None, targets: str | None = None) -> BuildContext:
    """A BuildContext with a Directory.Build.props and/or .targets holding the given elements."""
    def source(name: str, body: str | None) -> SourceFile | None:
        return None if body is None else SourceFile(name, f"<Project>\n{body}</Project>\n".encode())
    return BuildContext(props=source("../Directory.Build.props", props),
                        targets=source("../Directory.Build.targets", targets))


def forms(result: PatchResult) -> set[str]:
    """The item forms the patch wrote ("Include"/"Update") for the added items."""
    return {c.detail.split(">")[0].removeprefix("<None ") for c in result.changes if c.action == "added"}


# --------------------------------------------------------------------------------------------------
# The fixture corpus
# --------------------------------------------------------------------------------------------------


def test_corpus_has_real_and_hand_made_fixtures() -> None:
    """At least 80 real project files (Meadow, WPF, MSBuild) and 20 hand-made ones."""
    real = [p for p in FIXTURES if "real" in p.relative_to(DATA).parts[:1]]
    assert len(real) >= 80
    assert {p.relative_to(DATA / "real").parts[0] for p in real} == {"meadow", "wpf", "msbuild"}
    assert len(FIXTURES) - len(real) >= 20


@pytest.mark.parametrize("path", FIXTURES, ids=FIXTURE_IDS)
def test_fixture_patch_keeps_every_line_and_is_idempotent(path: Path) -> None:
    """The patched file parses, keeps each original line byte for byte (in order), and re-patches to itself."""
    result = patch_fixture(path)
    etree.fromstring(result.patched)
    original = result.original.splitlines(keepends=True)
    patched = iter(result.patched.splitlines(keepends=True))
    kept = [line for line in original if any(line == new for new in patched)]
    self_closing_root = [line for line in original if line not in kept]
    assert all(line.strip().startswith(b"<Project") and line.rstrip().endswith(b"/>") for line in self_closing_root)
    assert len(self_closing_root) <= 1
    again = patch_fixture(path, result.patched)
    assert again.patched == result.patched
    assert not again.changed


@pytest.mark.parametrize("path", FIXTURES, ids=FIXTURE_IDS)
def test_fixture_patch_makes_msbuild_copy_every_credential_file(path: Path) -> None:
    """After the patch, the evaluation model (with the real Directory.Build files) copies all three files."""
    result = patch_fixture(path)
    assert [(v.file, v.copied) for v in result.verdicts] == [(f, "yes") for f in CREDS]
    model = evaluate_project(etree.fromstring(result.patched), path.name, CREDS,
                             load_build_context(path, result.patched))
    assert [model.verdict(f).copied for f in CREDS] == ["yes", "yes", "yes"]


#: hand-made tree -> (item form the patch writes, fragment of the reason, fragment of a warning or None)
HANDMADE = {
    "items-off-in-project": ("Include", "default items are off in items-off-in-project/App/App.csproj "
                             "(line 6: EnableDefaultItems = 'false'): using Include", None),
    "none-items-off-in-project": ("Include", "(line 6: EnableDefaultNoneItems = 'false'): using Include", None),
    "items-off-in-props-one-up": ("Include", "default items are off in items-off-in-props-one-up/Directory.Build"
                                  ".props (line 3: EnableDefaultItems = 'false'): using Include", None),
    "items-off-in-props-two-up": ("Include", "default items are off in items-off-in-props-two-up/Directory.Build"
                                  ".props (line 3: EnableDefaultItems = 'false'): using Include", None),
    "none-items-off-in-props": ("Include", "none-items-off-in-props/Directory.Build.props (line 3: "
                                "EnableDefaultNoneItems = 'false')", None),
    "props-on-again-nearer": ("Update", "the SDK's default items include it: using Update", None),
    "props-off-again-nearer": ("Include", "props-off-again-nearer/src/Directory.Build.props (line 4: "
                               "EnableDefaultNoneItems = 'false')", None),
    "only-nearest-props-counts": ("Update", "the SDK's default items include it", None),
    "project-overrides-props": ("Update", "the SDK's default items include it", None),
    "items-off-in-targets": ("Include", "default items are off in items-off-in-targets/Directory.Build.targets "
                             "(line 3: EnableDefaultItems = 'false')", None),
    "items-on-in-targets": ("Update", "the SDK's default items include it", None),
    "props-default-idiom": ("Include", "props-default-idiom/Directory.Build.props (line 3: EnableDefaultItems", None),
    "property-from-known-property": ("Include", "(line 6: EnableDefaultItems = 'false')", None),
    "property-from-unknown-property": ("Include", "using Include, which copies it either way",
                                       "App.csproj:6: EnableDefaultItems is set from '$(UseGlobs)', which "
                                       "hatch-meadow cannot evaluate"),
    "property-under-condition": ("Include", "using Include, which copies it either way",
                                 "App.csproj:6: EnableDefaultItems is set only when '$(Configuration)' == 'Release'"),
    "import-not-read": ("Include", "using Include, which copies it either way",
                        "App.csproj:7: it imports $(SolutionDir)common.props, which hatch-meadow does not read"),
    "choose-when": ("Include", "using Include, which copies it either way",
                    "App.csproj:10: EnableDefaultNoneItems is set only when '$(Platform)' == 'x64'"),
    "import-read": ("Include", "default items are off in import-read/App/shared.props (line 3: "
                    "EnableDefaultNoneItems = 'false')", None),
    "indented-root-tabs": ("Include", "(line 4: EnableDefaultItems = 'false')", None),
    "indented-root-spaces": ("Update", "the SDK's default items include it", None),
    "mixed-indentation": ("Update", "the SDK's default items include it", None),
}


@pytest.mark.parametrize("case", sorted(HANDMADE))
def test_handmade_rule_picks_the_item_form_and_says_why(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each rule's tree gets Include or Update as MSBuild needs, with the reason, and a warning only when unsure."""
    form, reason, warning = HANDMADE[case]
    monkeypatch.chdir(DATA / "handmade")
    csproj = next(Path(case).rglob("App.csproj"))
    result = ensure_csproj(csproj, CREDS, dry_run=True)
    assert forms(result) == {form}
    assert all(reason in c.detail for c in result.changes), [c.detail for c in result.changes]
    if warning is None:
        assert result.warnings == ()
    else:
        assert len(result.warnings) == 1
        assert warning in result.warnings[0]
        assert result.warnings[0].endswith("so it uses Include, which copies the files either way")


def test_every_handmade_tree_has_an_expectation() -> None:
    """No hand-made fixture goes untested by the rule table."""
    assert {p.relative_to(DATA / "handmade").parts[0] for p in FIXTURES if "handmade" in p.parts} == set(HANDMADE)


def test_real_wpf_projects_with_default_items_off_get_include() -> None:
    """WPF samples turn EnableDefaultItems off (or have no SDK): those get Include, the others Update."""
    wpf = [p for p in FIXTURES if "wpf" in p.parts]
    for path in wpf:
        data = path.read_bytes()
        off = b"<EnableDefaultItems>false</EnableDefaultItems>" in data or b"Sdk=" not in data
        assert forms(patch_fixture(path)) == ({"Include"} if off else {"Update"}), path
    assert sum(b"Sdk=" in p.read_bytes() and b"EnableDefaultItems>false" in p.read_bytes() for p in wpf) > 10


def test_real_msbuild_tree_reads_nested_directory_build_files() -> None:
    """MSBuild's own projects: src/Directory.Build.props imports the root one; the targets' unread import warns."""
    path = DATA / "real/msbuild/src/Build/Microsoft.Build.csproj"
    found = load_build_context(path, path.read_bytes())
    assert found.props is not None
    assert found.props.name.endswith("real/msbuild/src/Directory.Build.props")
    assert [(k[1], v.name.split("real/msbuild/")[1] if v else None) for k, v in found.imports.items()] == [
        ("..\\Shared\\DebuggingSources.proj", "src/Shared/DebuggingSources.proj"),
        ("..\\Directory.Build.props", "Directory.Build.props"),
        ("..\\Directory.Build.targets", "Directory.Build.targets"),
    ]
    result = patch_fixture(path)
    assert forms(result) == {"Include"}
    assert len(result.warnings) == 1
    assert "Directory.Build.targets:32: it imports $(RepositoryEngineeringDir)packaging.targets" in result.warnings[0]


# --------------------------------------------------------------------------------------------------
# Before/after bytes
# --------------------------------------------------------------------------------------------------

ITEMS_OFF_AFTER = CSPROJ.replace("</Project>\n", """\
  <ItemGroup Label="hatch-meadow">
    <None Include="client_cert.pem">
      <CopyToOutputDirectory>Always</CopyToOutputDirectory>
    </None>
    <None Include="private_key.pem">
      <CopyToOutputDirectory>Always</CopyToOutputDirectory>
    </None>
    <None Include="private_key_pass.txt">
      <CopyToOutputDirectory>Always</CopyToOutputDirectory>
    </None>
  </ItemGroup>
</Project>
""")


def test_default_items_off_in_props_before_after_diff(tmp_path: Path) -> None:
    """The exact diff for a project whose Directory.Build.props turns default items off."""
    (tmp_path / "Directory.Build.props").write_text(
        "<Project>\n  <PropertyGroup>\n    <EnableDefaultItems>false</EnableDefaultItems>\n  </PropertyGroup>\n"
        "</Project>\n")
    csproj = tmp_path / "MeadowApp" / "MeadowApp.csproj"
    csproj.parent.mkdir()
    csproj.write_text(CSPROJ)
    result = ensure_csproj(csproj, dry_run=True)
    assert result.patched.decode() == ITEMS_OFF_AFTER
    assert result.diff().splitlines()[2:4] == ["@@ -9,4 +9,15 @@", "       <CopyToOutputDirectory>Always</"
                                                "CopyToOutputDirectory>"]
    assert result.changes[0].detail == (
        f"<None Include> item in the hatch-meadow ItemGroup (Always): default items are off in "
        f"{tmp_path}/Directory.Build.props (line 3: EnableDefaultItems = 'false'): using Include")
    assert [v.copied for v in result.verdicts_before] == ["no", "no", "no"]
    assert result.verdicts_before[0].detail == (
        f"not copied: no item includes it (default items are off in {tmp_path}/Directory.Build.props "
        "(line 3: EnableDefaultItems = 'false'))")


def test_indented_root_with_tabs_steps_one_tab(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root at one tab, children at two: the group sits at two tabs and each level adds one."""
    monkeypatch.chdir(DATA / "handmade")
    result = ensure_csproj(Path("indented-root-tabs/App/App.csproj"), CREDS[:1], dry_run=True)
    assert result.patched == (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'\t<Project Sdk="Meadow.Sdk/1.1.0">\n\t\t<PropertyGroup>\n'
        b"\t\t\t<EnableDefaultItems>false</EnableDefaultItems>\n"
        b'\t\t</PropertyGroup>\n'
        b'\t\t<ItemGroup Label="hatch-meadow">\n'
        b'\t\t\t<None Include="client_cert.pem">\n'
        b"\t\t\t\t<CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"\t\t\t</None>\n"
        b"\t\t</ItemGroup>\n"
        b"\t</Project>\n")


def test_indented_root_with_spaces_and_crlf_steps_two_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root at two spaces, children at four: the step is two spaces, CRLF kept."""
    monkeypatch.chdir(DATA / "handmade")
    result = ensure_csproj(Path("indented-root-spaces/App/App.csproj"), CREDS[:1], dry_run=True)
    assert result.patched.endswith(
        b"    </ItemGroup>\r\n"
        b'    <ItemGroup Label="hatch-meadow">\r\n'
        b'      <None Update="client_cert.pem">\r\n'
        b"        <CopyToOutputDirectory>Always</CopyToOutputDirectory>\r\n"
        b"      </None>\r\n"
        b"    </ItemGroup>\r\n"
        b"  </Project>\r\n")


def test_mixed_indentation_follows_the_surrounding_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two-space properties but a tab-indented ItemGroup just above: the new group uses tabs like it."""
    monkeypatch.chdir(DATA / "handmade")
    result = ensure_csproj(Path("mixed-indentation/App/App.csproj"), CREDS[:1], dry_run=True)
    assert result.patched.endswith(
        b"\t</ItemGroup>\n"
        b'\t<ItemGroup Label="hatch-meadow">\n'
        b'\t\t<None Update="client_cert.pem">\n'
        b"\t\t\t<CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"\t\t</None>\n"
        b"\t</ItemGroup>\n"
        b"</Project>\n")


# --------------------------------------------------------------------------------------------------
# The evaluation model and the patch decisions
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("'$(EnableDefaultItems)' == ''", True),
        ("'$(EnableDefaultItems)' != ''", False),
        (" '$(Known)' == 'YES' and '$(Other)' == 'x' ", None),
        ("'$(Known)' == 'no' and '$(Other)' == 'x'", False),
        ("'$(Known)' == 'yes' or Exists('x')", True),
        ("!('$(Known)' == 'yes')", False),
        ("Exists('App.csproj')", None),
        ("$(TargetFramework.StartsWith('net4'))", None),
        ("'$([MSBuild]::GetTargetPlatformIdentifier($(TargetFramework)))' == 'windows'", None),
        ("'1.5' < '2'", True),
        ("'$(Other)'", None),
        ("'$(Known)'", True),
        ("true", True),
        ("'a' == ", None),
        ("", True),
    ],
)
def test_condition_three_valued(condition: str, expected: bool | None) -> None:
    """Known properties are compared case-insensitively; functions and unknown properties give None."""
    known = {"enabledefaultitems": "", "known": "yes"}
    assert evaluate_condition(condition, lambda name: known.get(name.lower())) is expected


def test_expand_refuses_functions_items_and_unknown_properties() -> None:
    """Expansion substitutes known properties only."""
    lookup = {"a": "x"}.get
    assert expand("$(a);$( a )", lookup) == "x;x"
    assert expand("$(b)", lookup) is None
    assert expand("$(a.ToUpper())", lookup) is None
    assert expand("@(None)", lookup) is None


def test_model_default_items_follow_the_last_assignment() -> None:
    """Directory.Build.props, then the body, then Directory.Build.targets: the last assignment decides."""
    off = "  <PropertyGroup><EnableDefaultItems>false</EnableDefaultItems></PropertyGroup>\n"
    on = "  <PropertyGroup><EnableDefaultItems>true</EnableDefaultItems></PropertyGroup>\n"

    def state(data: bytes, around: BuildContext) -> DefaultItems:
        return evaluate_project(etree.fromstring(data), "App.csproj", CREDS, around).default_items

    assert state(sdk(), context()).state == "on"
    assert state(sdk(), context(props=off)) == DefaultItems(
        "off", "default items are off in ../Directory.Build.props (line 2: EnableDefaultItems = 'false')")
    assert state(sdk("    <EnableDefaultItems>true</EnableDefaultItems>\n"), context(props=off)).state == "on"
    assert state(sdk("    <EnableDefaultItems>true</EnableDefaultItems>\n"), context(targets=off)).state == "off"
    assert state(sdk("    <EnableDefaultItems>false</EnableDefaultItems>\n"), context(targets=on)).state == "on"
    assert state(sdk("    <EnableDefaultItems></EnableDefaultItems>\n"), context()).state == "on"  # SDK default


def test_model_item_conditions_are_combined_not_guessed() -> None:
    """Each undecidable condition is tried both ways; the verdict names the one it depends on."""
    items = ("    <None Include=\"client_cert.pem\" CopyToOutputDirectory=\"Always\" "
             "Condition=\"'$(Configuration)' == 'Debug'\" />\n"
             "    <None Remove=\"private_key.pem\" Condition=\"'$(Flavor)' == 'x'\" />\n"
             "    <None Update=\"private_key.pem\" CopyToOutputDirectory=\"PreserveNewest\" />\n")
    model = evaluate_project(etree.fromstring(sdk(items=items)), "App.csproj", CREDS, context())
    verdicts = {f: model.verdict(f) for f in CREDS}
    assert (verdicts["client_cert.pem"].copied, verdicts["client_cert.pem"].detail) == (
        "depends", "copied only when '$(Configuration)' == 'Debug'")
    assert (verdicts["private_key.pem"].copied, verdicts["private_key.pem"].detail) == (
        "depends", "copied unless '$(Flavor)' == 'x'")
    assert verdicts["private_key_pass.txt"].detail == (
        "not copied: its <None> item (the SDK's default items) has CopyToOutputDirectory unset")
    assert model.presence("private_key.pem") == "maybe"
    assert model.presence("private_key_pass.txt") == "yes"


def test_update_in_the_project_is_void_when_props_turn_items_off() -> None:
    """A user's <None Update> with default items off matches nothing: warned, and our Include added."""
    result = plan_patch(sdk(items='    <None Update="client_cert.pem" CopyToOutputDirectory="Always" />\n'),
                        CREDS[:1], context=context(props="  <PropertyGroup><EnableDefaultItems>false"
                                                         "</EnableDefaultItems></PropertyGroup>\n"))
    assert result.warnings == (
        'project.csproj:6: <None Update="client_cert.pem"> matches no item (default items are off in '
        "../Directory.Build.props (line 2: EnableDefaultItems = 'false')), so hatch-meadow adds its own",)
    assert forms(result) == {"Include"}
    assert result.verdicts[0].detail.startswith('copied (Always) by <None Include="client_cert.pem">')


def test_managed_update_group_becomes_include_when_default_items_go_off() -> None:
    """An earlier run's Update items are rewritten as Include once Directory.Build.props turns items off."""
    first = plan_patch(sdk(), CREDS)
    assert forms(first) == {"Update"}
    off = context(props="  <PropertyGroup><EnableDefaultNoneItems>false</EnableDefaultNoneItems></PropertyGroup>\n")
    second = plan_patch(first.patched, CREDS, context=off)
    assert second.patched == first.patched.replace(b"<None Update=", b"<None Include=")
    assert [c.action for c in second.changes] == ["unchanged"] * 3
    assert not plan_patch(second.patched, CREDS, context=off).changed


def test_remove_in_directory_build_targets_is_refused() -> None:
    """A Remove after the project body (Directory.Build.targets) would drop our item: an error naming it."""
    targets = '  <ItemGroup>\n    <None Remove="**/*.pem" />\n  </ItemGroup>\n'
    with pytest.raises(ProjectFileError) as caught:
        plan_patch(sdk(), CREDS, context=context(targets=targets))
    assert str(caught.value) == (
        "project.csproj: even after the patch, MSBuild would not copy client_cert.pem (not copied: removed by "
        '<None Remove="**/*.pem"> at ../Directory.Build.targets:3); private_key.pem (not copied: removed by '
        '<None Remove="**/*.pem"> at ../Directory.Build.targets:3)')
    assert "Directory.Build.targets" in (caught.value.hint or "")


def test_item_under_unknown_condition_is_reported_not_guessed() -> None:
    """A conditional copy item in Directory.Build.targets: the verdict names the condition, with a warning."""
    targets = ("  <ItemGroup Condition=\"'$(Configuration)' == 'Release'\">\n"
               '    <None Update="private_key.pem" CopyToOutputDirectory="Never" />\n  </ItemGroup>\n')
    result = plan_patch(sdk(), CREDS, context=context(targets=targets))
    verdict = result.verdicts[1]
    assert (verdict.copied, verdict.detail) == ("depends", "copied unless '$(Configuration)' == 'Release'")
    assert result.warnings == ("project.csproj: private_key.pem is copied unless '$(Configuration)' == 'Release'",)


def test_csproj_condition_is_the_expected_condition_not_a_warning() -> None:
    """Our own csproj-condition makes the copy conditional on purpose: the verdict says so, no warning."""
    debug = "'$(Configuration)' == 'Debug'"
    result = plan_patch(sdk(), CREDS, condition=debug)
    assert result.warnings == ()
    assert {(v.copied, v.detail) for v in result.verdicts} == {("depends", f"copied only when {debug}")}


def test_credentials_in_a_dot_folder_are_included_with_a_link() -> None:
    """The SDK's glob skips folders starting with '.', so an Update there would match nothing."""
    result = plan_patch(sdk(), [".secrets/client_cert.pem"])
    assert b'<None Include=".secrets\\client_cert.pem" Link="client_cert.pem">' in result.patched
    assert "in .secrets/, which the SDK's default items skip: using Include" in result.changes[0].detail


def test_default_item_excludes_pattern_is_honoured() -> None:
    """``DefaultItemExcludes`` appended with **/*.pem keeps the keys out of the glob: Include for them."""
    result = plan_patch(sdk("    <DefaultItemExcludes>$(DefaultItemExcludes);**/*.pem</DefaultItemExcludes>\n"), CREDS)
    assert [c.detail.split(">")[0] for c in result.changes] == ["<None Include", "<None Include", "<None Update"]
    assert "excluded by DefaultItemExcludes (project.csproj:4)" in result.changes[0].detail


def test_unknown_assignment_before_a_known_one_is_harmless() -> None:
    """Last assignment wins: a conditional value followed by a plain one is known, no warning."""
    body = ("    <EnableDefaultItems Condition=\"'$(X)' == 'y'\">true</EnableDefaultItems>\n"
            "    <EnableDefaultItems>false</EnableDefaultItems>\n")
    result = plan_patch(sdk(body), CREDS)
    assert (forms(result), result.warnings) == ({"Include"}, ())


def test_old_style_project_reads_directory_build_props_through_common_props() -> None:
    """Old-style projects import Directory.Build.props via Microsoft.Common.props: its items count."""
    data = (b'<Project ToolsVersion="15.0" xmlns="http://schemas.microsoft.com/developer/msbuild/2003">\n'
            b'  <Import Project="$(MSBuildExtensionsPath)\\$(MSBuildToolsVersion)\\Microsoft.Common.props" />\n'
            b'  <Import Project="$(MSBuildToolsPath)\\Microsoft.CSharp.targets" />\n</Project>\n')
    props = '  <ItemGroup>\n    <None Include="client_cert.pem" CopyToOutputDirectory="Always" />\n  </ItemGroup>\n'
    evaluation = evaluate_project(etree.fromstring(data), "Old.csproj", CREDS, context(props=props))
    assert evaluation.default_items.state == "none"
    assert evaluation.verdict("client_cert.pem").copied == "yes"
    assert evaluation.verdict("private_key.pem").detail == (
        "not copied: no item includes it (a project without an SDK has no default items)")
    assert plan_patch(data, CREDS).warnings == ()  # toolset imports are not "unread"


def test_resolve_import_idioms(tmp_path: Path) -> None:
    """Literal paths, $(MSBuildThisFileDirectory) and the GetPathOfFileAbove idiom resolve; others do not."""
    (tmp_path / "Directory.Build.props").write_text("<Project />")
    inner = tmp_path / "src"
    inner.mkdir()
    above = "$([MSBuild]::GetPathOfFileAbove('Directory.Build.props', '$(MSBuildThisFileDirectory)../'))"
    assert resolve_import(above, inner, inner) == tmp_path / "Directory.Build.props"
    assert resolve_import("..\\Directory.Build.props", inner, inner) == tmp_path / "Directory.Build.props"
    assert resolve_import("$(MSBuildThisFileDirectory)x.props", inner, inner) == inner / "x.props"
    assert resolve_import("$(RepoRoot)x.props", inner, inner) is None
    assert resolve_import("*.props", inner, inner) is None


def test_context_fingerprint_changes_with_directory_build_props(tmp_path: Path) -> None:
    """A cache keyed on the csproj alone would miss a Directory.Build.props change; this fingerprint does not."""
    csproj = tmp_path / "App" / "App.csproj"
    csproj.parent.mkdir()
    csproj.write_bytes(sdk())
    before = context_fingerprint(load_build_context(csproj, csproj.read_bytes()))
    (tmp_path / "Directory.Build.props").write_text("<Project />")
    after = context_fingerprint(load_build_context(csproj, csproj.read_bytes()))
    assert before != after


def test_project_import_missing_file_is_skipped_not_unread(tmp_path: Path) -> None:
    """An Exists()-guarded import of a file that is not there is skipped silently, as MSBuild does."""
    csproj = tmp_path / "App.csproj"
    csproj.write_bytes(sdk().replace(b"  <ItemGroup>", b'  <Import Project="local.props" '
                                     b"Condition=\"Exists('local.props')\" />\n  <ItemGroup>", 1))
    found = load_build_context(csproj, csproj.read_bytes())
    assert found.imports == {(PROJECT, "local.props"): None}
    assert ensure_csproj(csproj, CREDS, dry_run=True).warnings == ()


# --------------------------------------------------------------------------------------------------
# End to end: the CLI and a real hatchling build
# --------------------------------------------------------------------------------------------------


def _items_off_project(project: Project, hook_table: str = "") -> Path:
    root = project(hook_table)
    (root / "Directory.Build.props").write_text(
        "<Project>\n  <PropertyGroup>\n    <EnableDefaultItems>false</EnableDefaultItems>\n  </PropertyGroup>\n"
        "</Project>\n")
    return root


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_meadow", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def test_cli_patch_csproj_default_items_off(project: Project) -> None:
    """patch-csproj writes Include items and says why; a re-run is unchanged; --dry-run then exits 0."""
    root = _items_off_project(project)
    proc = run_cli("patch-csproj", "MeadowApp/MeadowApp.csproj", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert (root / "MeadowApp/MeadowApp.csproj").read_text() == ITEMS_OFF_AFTER
    assert ("client_cert.pem: added: <None Include> item in the hatch-meadow ItemGroup (Always): default items "
            "are off in Directory.Build.props (line 3: EnableDefaultItems = 'false'): using Include") in proc.stdout
    assert "MeadowApp/MeadowApp.csproj: updated" in proc.stdout
    again = run_cli("patch-csproj", "MeadowApp/MeadowApp.csproj", "--json", cwd=root)
    assert again.returncode == 0
    payload = json.loads(again.stdout)
    assert (payload["changed"], payload["written"]) == (False, False)
    assert [c["copied"] for c in payload["copy"]] == ["yes", "yes", "yes"]
    assert run_cli("patch-csproj", "MeadowApp/MeadowApp.csproj", "--dry-run", cwd=root).returncode == 0


def test_cli_patch_csproj_refuses_a_remove_in_directory_build_targets(project: Project) -> None:
    """Exit 2, the file untouched, and the message names the Remove in Directory.Build.targets."""
    root = project()
    (root / "Directory.Build.targets").write_text('<Project>\n  <ItemGroup>\n    <None Remove="*.pem" />\n'
                                                  "  </ItemGroup>\n</Project>\n")
    proc = run_cli("patch-csproj", "MeadowApp/MeadowApp.csproj", cwd=root)
    assert proc.returncode == 2
    assert 'removed by <None Remove="*.pem"> at Directory.Build.targets:3' in proc.stderr
    assert (root / "MeadowApp/MeadowApp.csproj").read_text() == CSPROJ


def test_cli_check_reports_per_file_copy_verdicts(project: Project) -> None:
    """check says, per credential file, what the next build copies; JSON carries the verdicts."""
    root = _items_off_project(project)
    proc = run_cli("check", "--project", ".", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "csproj    MeadowApp/MeadowApp.csproj: needs changes" in proc.stdout
    assert ("copy      client_cert.pem: after the next build's patch: copied (Always) by "
            '<None Include="client_cert.pem">') in proc.stdout
    report = json.loads(run_cli("check", "--project", ".", "--json", cwd=root).stdout)
    copy = report["project"]["csproj"]["copy"]
    assert [(c["file"], c["copied"], c["mode"]) for c in copy] == [(f, "yes", "Always") for f in CREDS]


def test_cli_check_without_patching_says_the_files_are_not_copied(project: Project) -> None:
    """patch-csproj = false: NOT copied, with the reason, and the fix names Include; --strict fails."""
    root = _items_off_project(project, "patch-csproj = false\n")
    proc = run_cli("check", "--project", ".", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert ("copy      client_cert.pem: NOT copied: no item includes it (default items are off in "
            "Directory.Build.props (line 3: EnableDefaultItems = 'false'))") in proc.stdout
    report = json.loads(run_cli("check", "--project", ".", "--json", cwd=root).stdout)
    finding = report["findings"][0]
    assert finding["code"] == "csproj-missing-items"
    assert finding["fix"].startswith('add <None Include="…"><CopyToOutputDirectory>Always')
    assert run_cli("check", "--project", ".", "--strict", cwd=root).returncode == 1


def test_cli_check_warns_when_default_items_cannot_be_known(project: Project) -> None:
    """A property set under an unknown condition: check shows the warning with file and line."""
    root = project()
    (root / "Directory.Build.props").write_text(
        "<Project>\n  <PropertyGroup Condition=\"'$(Configuration)' == 'Release'\">\n"
        "    <EnableDefaultNoneItems>false</EnableDefaultNoneItems>\n  </PropertyGroup>\n</Project>\n")
    report = json.loads(run_cli("check", "--project", ".", "--json", cwd=root).stdout)
    warnings = [f["message"] for f in report["findings"] if f["code"] == "csproj-item-condition"]
    assert len(warnings) == 1
    assert warnings[0].endswith("Directory.Build.props:3: EnableDefaultNoneItems is set only when '$(Configuration)'"
                                " == 'Release'; hatch-meadow cannot tell whether the SDK's default items exist, so "
                                "it uses Include, which copies the files either way")
    assert main(["check", "--project", str(root), "--strict"]) == 1


def test_hatchling_build_with_default_items_off_writes_include(project: Project) -> None:
    """A real wheel build: Directory.Build.props turns default items off, the hook writes Include and says why."""
    root = _items_off_project(project)
    run = hatchling_build(root)
    assert run.returncode == 0, run.output
    assert (root / "MeadowApp/MeadowApp.csproj").read_text() == ITEMS_OFF_AFTER
    assert "client_cert.pem: added, <None Include> item in the hatch-meadow ItemGroup (Always): default items are " \
           "off in" in run.output
    assert "using Include" in run.output
    second = hatchling_build(root)
    assert second.returncode == 0, second.output
    assert (root / "MeadowApp/MeadowApp.csproj").read_text() == ITEMS_OFF_AFTER


def test_fixture_tree_is_left_untouched() -> None:
    """The fixture tests only plan: no fixture file was rewritten (compared with git's copy)."""
    if shutil.which("git") is None or not (DATA.parent.parent.parent / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "status", "--porcelain", "--", str(DATA)], capture_output=True, text=True,
                          check=False, cwd=DATA)
    assert [line for line in proc.stdout.splitlines() if line.startswith(" M")] == []


# --------------------------------------------------------------------------------------------------
# Indentation: one step is a child's indentation minus its parent's
# --------------------------------------------------------------------------------------------------

ONE_FILE = ["client_cert.pem"]


def test_indent_step_indented_root_with_tabs() -> None:
    """Root at one tab, children at two: the group sits at two tabs and each level adds one tab."""
    data = b'\t<Project Sdk="X">\n\t\t<PropertyGroup>\n\t\t\t<A>1</A>\n\t\t</PropertyGroup>\n\t</Project>\n'
    assert plan_patch(data, ONE_FILE).patched == (
        b'\t<Project Sdk="X">\n\t\t<PropertyGroup>\n\t\t\t<A>1</A>\n\t\t</PropertyGroup>\n'
        b'\t\t<ItemGroup Label="hatch-meadow">\n\t\t\t<None Update="client_cert.pem">\n'
        b"\t\t\t\t<CopyToOutputDirectory>Always</CopyToOutputDirectory>\n\t\t\t</None>\n\t\t</ItemGroup>\n"
        b"\t</Project>\n")


def test_indent_step_indented_root_with_spaces_and_crlf() -> None:
    """Root at two spaces, children at six: the step is four spaces, CRLF kept."""
    data = (b'  <Project Sdk="X">\r\n      <PropertyGroup>\r\n          <A>1</A>\r\n      </PropertyGroup>\r\n'
            b"  </Project>")
    assert plan_patch(data, ONE_FILE).patched == (
        b'  <Project Sdk="X">\r\n      <PropertyGroup>\r\n          <A>1</A>\r\n      </PropertyGroup>\r\n'
        b'      <ItemGroup Label="hatch-meadow">\r\n          <None Update="client_cert.pem">\r\n'
        b"              <CopyToOutputDirectory>Always</CopyToOutputDirectory>\r\n          </None>\r\n"
        b"      </ItemGroup>\r\n  </Project>")


def test_indent_step_mixed_file_follows_the_surrounding_lines() -> None:
    """Two-space properties but a tab-indented ItemGroup just above: the new group is indented like it."""
    data = (b'<Project Sdk="X">\n  <PropertyGroup>\n    <A>1</A>\n  </PropertyGroup>\n'
            b'\t<ItemGroup>\n\t\t<None Update="a.yaml" />\n\t</ItemGroup>\n</Project>\n')
    assert plan_patch(data, ONE_FILE).patched == data.replace(b"</Project>", (
        b'\t<ItemGroup Label="hatch-meadow">\n\t\t<None Update="client_cert.pem">\n'
        b"\t\t\t<CopyToOutputDirectory>Always</CopyToOutputDirectory>\n\t\t</None>\n\t</ItemGroup>\n</Project>"))


def test_indent_step_indented_empty_root_closes_at_the_root_indentation() -> None:
    """``  <Project Sdk=…/>`` becomes an open/close pair, the close tag at the root's own indentation."""
    assert plan_patch(b'  <Project Sdk="X" />\n', ONE_FILE).patched == (
        b'  <Project Sdk="X">\n    <ItemGroup Label="hatch-meadow">\n      <None Update="client_cert.pem">\n'
        b"        <CopyToOutputDirectory>Always</CopyToOutputDirectory>\n      </None>\n    </ItemGroup>\n"
        b"  </Project>\n")


def test_indent_step_metadata_added_to_an_existing_item() -> None:
    """Fixing an item in an indented root adds one step of its group, not the root child's absolute indent."""
    data = (b'\t<Project Sdk="X">\n\t\t<ItemGroup>\n\t\t\t<None Update="client_cert.pem" />\n'
            b"\t\t</ItemGroup>\n\t</Project>\n")
    assert plan_patch(data, ONE_FILE).patched == (
        b'\t<Project Sdk="X">\n\t\t<ItemGroup>\n\t\t\t<None Update="client_cert.pem">\n'
        b"\t\t\t\t<CopyToOutputDirectory>Always</CopyToOutputDirectory>\n"
        b"\t\t\t</None>\n\t\t</ItemGroup>\n\t</Project>\n")
