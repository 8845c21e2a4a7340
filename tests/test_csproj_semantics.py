"""MSBuild evaluation semantics the patcher must respect (beyond formatting)."""

from __future__ import annotations

import pytest

from hatch_meadow.csproj import plan_patch
from hatch_meadow.errors import ProjectFileError

FILES = ["client_cert.pem", "private_key.pem", "private_key_pass.txt"]


def sdk(items: str) -> bytes:
    return (f'<Project Sdk="Meadow.Sdk/1.1.0">\n  <ItemGroup>\n{items}  </ItemGroup>\n</Project>\n').encode()


def test_remove_then_content_include_is_visual_studios_pattern() -> None:
    """None Remove + Content Include (what VS writes for 'Content') copies the file: fixed in place, no error."""
    result = plan_patch(sdk('    <None Remove="client_cert.pem" />\n    <Content Include="client_cert.pem" />\n'),
                        ["client_cert.pem"])
    assert [c.action for c in result.changes] == ["fixed"]
    assert b'<Content Include="client_cert.pem">\n      <CopyToOutputDirectory>Always' in result.patched


def test_include_then_remove_is_still_an_error() -> None:
    """A Remove after the Include wins in MSBuild: the file would not be copied."""
    with pytest.raises(ProjectFileError, match="a Remove item takes a credential file out of the build"):
        plan_patch(sdk('    <Content Include="client_cert.pem" />\n    <None Remove="client_cert.pem" />\n'),
                   ["client_cert.pem"])


def test_content_update_in_sdk_project_matches_nothing() -> None:
    """SDK globs create None items, so <Content Update> changes nothing: we add our own item and say why."""
    result = plan_patch(sdk('    <Content Update="client_cert.pem" CopyToOutputDirectory="Always" />\n'), FILES)
    assert [c.action for c in result.changes] == ["added", "added", "added"]
    assert b'<None Update="client_cert.pem">' in result.patched
    assert any("matches no item" in w for w in result.warnings)


def test_update_in_old_style_project_matches_nothing() -> None:
    """Old-style projects glob nothing, so an Update is void and we Include the file."""
    data = (b'<Project ToolsVersion="15.0" xmlns="http://schemas.microsoft.com/developer/msbuild/2003">\n'
            b'  <ItemGroup>\n    <None Update="client_cert.pem" />\n  </ItemGroup>\n</Project>\n')
    result = plan_patch(data, ["client_cert.pem"])
    assert b'<None Include="client_cert.pem">' in result.patched


def test_subfolder_credentials_get_a_link_to_the_output_root() -> None:
    """certs/client_cert.pem would land in bin/…/certs/; Link puts it where the board looks."""
    result = plan_patch(sdk(""), ["certs/client_cert.pem"])
    assert b'<None Update="certs\\client_cert.pem" Link="client_cert.pem">' in result.patched
    again = plan_patch(result.patched, ["certs/client_cert.pem"])
    assert not again.changed
