"""Make a Meadow ``.csproj`` copy the credential files to the build output, changing nothing else.

What we write, per file, inside one ``<ItemGroup Label="hatch-meadow">`` that we own::

    <None Update="client_cert.pem">
      <CopyToOutputDirectory>Always</CopyToOutputDirectory>
    </None>

``Update`` is right for SDK-style projects (``<Project Sdk="Meadow.Sdk/1.1.0">``), whose default globs
already include every file in the project folder as a ``None`` item. Old-style projects (the 2003
MSBuild namespace, no SDK) do not glob, and files outside the project folder are never globbed, so
those get ``Include`` (plus ``Link`` for outside files, so they land in the output root where the
board expects them).

A file the project already lists (``None``/``Content`` with ``Include`` or ``Update``) is fixed in
place, never listed twice. A ``Remove`` of a credential file is an error: it would silently keep the
file out of the build output.

Planning is pure (:func:`plan_patch`, :func:`plan_clean`: bytes in, bytes out); only
:func:`ensure_csproj` and :func:`clean_csproj` touch the file system.
"""

from hatch_meadow.csproj.io import apply_patch, check_writable, clean_csproj, ensure_csproj
from hatch_meadow.csproj.plan import plan_clean, plan_patch
from hatch_meadow.csproj.result import COPY_METADATA, ITEM_TYPES, MAX_PROJECT_BYTES, ItemChange, PatchResult

__all__ = ["COPY_METADATA", "ITEM_TYPES", "MAX_PROJECT_BYTES", "ItemChange", "PatchResult", "apply_patch",
           "check_writable", "clean_csproj", "ensure_csproj", "plan_clean", "plan_patch"]
