"""The csproj patch as MSBuild evaluates the project (issue #15): default items, Directory.Build files, indentation."""

from __future__ import annotations

from hatch_meadow.csproj import plan_patch

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
