"""The csproj patch as MSBuild evaluates the project (issue #15): default items, Directory.Build files, indentation.

The evaluation model (``hatch_meadow.msbuild_eval`` and friends) on its own, then the indentation of
what the patch adds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from hatch_meadow.csproj import plan_patch
from hatch_meadow.msbuild_condition import evaluate_condition, expand
from hatch_meadow.msbuild_context import context_fingerprint, load_build_context, resolve_import
from hatch_meadow.msbuild_eval import DefaultItems, evaluate_project
from hatch_meadow.msbuild_events import BuildContext, SourceFile

CREDS = ["client_cert.pem", "private_key.pem", "private_key_pass.txt"]


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
