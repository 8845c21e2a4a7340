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

from __future__ import annotations

import difflib
import fnmatch
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final, Literal

from lxml import etree

from hatch_meadow.atomicfile import save_atomic
from hatch_meadow.errors import ProjectFileError
from hatch_meadow.names import CREDENTIAL_FILES, ITEM_GROUP_LABEL
from hatch_meadow.xmltext import (
    ElementSpan,
    TextEncoding,
    attribute_value_span,
    decode_text,
    element_spans,
    encode_text,
    escape_attribute,
    line_indent,
    line_of,
)

MSBUILD_NAMESPACE: Final = "http://schemas.microsoft.com/developer/msbuild/2003"
COPY_METADATA: Final = "CopyToOutputDirectory"
ITEM_TYPES: Final = frozenset({"None", "Content"})
DEFAULT_INDENT: Final = "  "
#: MSBuild treats these characters specially in item specs; they must be %XX-escaped in paths.
_MSBUILD_ESCAPES: Final = {c: f"%{ord(c):02X}" for c in "%;*?@$'"}
_PERCENT_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")

Action = Literal["added", "fixed", "unchanged", "removed"]


@dataclass(frozen=True, slots=True)
class ItemChange:
    """What happened (or would happen) to one file's item."""

    file: str
    action: Action
    detail: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class PatchResult:
    """The outcome of planning or applying a patch: both texts, what changed, and caveats."""

    path: str
    original: bytes
    patched: bytes
    changes: tuple[ItemChange, ...] = ()
    warnings: tuple[str, ...] = ()
    written: bool = False

    @property
    def changed(self) -> bool:
        """Whether the file's bytes differ after the patch."""
        return self.original != self.patched

    def diff(self) -> str:
        """A unified diff of the change (LF line endings), for ``--dry-run``; empty if nothing changes."""
        before = decode_text(self.original)[0].replace("\r\n", "\n")
        after = decode_text(self.patched)[0].replace("\r\n", "\n")
        lines = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=self.path if os.path.isabs(self.path) else f"a/{self.path}",
            tofile=self.path if os.path.isabs(self.path) else f"b/{self.path}",
        )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary (no file contents)."""
        return {
            "csproj": self.path,
            "changed": self.changed,
            "written": self.written,
            "changes": [
                {"file": c.file, "action": c.action, "detail": c.detail, "line": c.line} for c in self.changes
            ],
            "warnings": list(self.warnings),
        }


@dataclass(slots=True)
class _Document:
    """A parsed project: the text, its encoding, the lxml tree and every element's span."""

    name: str
    text: str
    encoding: TextEncoding
    root: etree._Element
    spans: dict[etree._Element, ElementSpan]
    unit: str = DEFAULT_INDENT
    edits: list[tuple[int, int, str]] = field(default_factory=list)

    def tag_text(self, element: etree._Element) -> str:
        span = self.spans[element]
        return self.text[span.open_start:span.open_end]

    def line(self, element: etree._Element) -> int:
        return line_of(self.text, self.spans[element].open_start)

    def indent_of(self, element: etree._Element, depth: int) -> str:
        found = line_indent(self.text, self.spans[element].open_start)
        return found if found is not None else self.unit * depth

    def apply(self) -> str:
        text = self.text
        last = len(text) + 1
        for start, end, replacement in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            if end > last:
                raise AssertionError("overlapping csproj edits")  # a bug in the planner, never input
            text = text[:start] + replacement + text[end:]
            last = start
        return text


def _localname(element: etree._Element) -> str:
    return etree.QName(element).localname


def parse_project(data: bytes, name: str) -> _Document:
    """Parse a project file, refusing anything that is not a well-formed MSBuild ``<Project>``.

    Raises:
        ProjectFileError: naming the file, the line and column of a syntax error, and the fix.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise ProjectFileError(
            f"{name}: not well-formed XML at line {line}, column {column}: {exc.msg}",
            hint="fix the XML (open it in an IDE or run `dotnet build` to see the same error); "
            "hatch-meadow has not changed the file",
        ) from exc
    if _localname(root) != "Project" or etree.QName(root).namespace not in (None, MSBUILD_NAMESPACE):
        raise ProjectFileError(
            f"{name}: the root element is <{root.tag}>, not an MSBuild <Project>",
            hint="point `csproj` (or the CLI argument) at the app's .csproj file",
        )
    try:
        text, encoding = decode_text(data)
        spans = element_spans(text)
    except (UnicodeDecodeError, LookupError, ValueError) as exc:
        raise ProjectFileError(
            f"{name}: cannot map the XML text to its elements ({exc})",
            hint="re-save the file as UTF-8; hatch-meadow has not changed it",
        ) from exc
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    if len(elements) != len(spans):
        raise ProjectFileError(
            f"{name}: found {len(spans)} tags in the text but {len(elements)} elements in the tree",
            hint="this is unusual markup (entities that expand to elements?); edit the file by hand",
        )
    doc = _Document(name=name, text=text, encoding=encoding, root=root, spans=dict(zip(elements, spans)))
    doc.unit = _indent_unit(doc)
    return doc


def _indent_unit(doc: _Document) -> str:
    """The file's indentation step: how far the root's first child is indented."""
    for child in doc.root:
        if isinstance(child.tag, str):
            found = line_indent(doc.text, doc.spans[child].open_start)
            return found if found else DEFAULT_INDENT
    return DEFAULT_INDENT


def _is_sdk_style(root: etree._Element) -> bool:
    if root.get("Sdk"):
        return True
    return any(
        isinstance(el.tag, str) and (_localname(el) == "Sdk" or (_localname(el) == "Import" and el.get("Sdk")))
        for el in root
    )


def _normalise(path: str) -> str:
    """Compare item specs as MSBuild does: %XX-unescaped, either slash, case-insensitively."""
    text = _PERCENT_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), path.strip()).replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return str(PurePosixPath(text)).lower() if text else text


def _msbuild_escape(path: str) -> str:
    return "".join(_MSBUILD_ESCAPES.get(c, c) for c in path)


def _item_specs(value: str | None) -> list[str]:
    return [part for part in (value or "").split(";") if part.strip()]


def _in_target(element: etree._Element) -> bool:
    return any(isinstance(a.tag, str) and _localname(a) == "Target" for a in element.iterancestors())


def _managed_groups(root: etree._Element) -> list[etree._Element]:
    return [
        el for el in root
        if isinstance(el.tag, str) and _localname(el) == "ItemGroup" and el.get("Label") == ITEM_GROUP_LABEL
    ]


def _items(root: etree._Element, managed: Sequence[etree._Element]) -> list[etree._Element]:
    owned = {id(item) for group in managed for item in group}
    return [
        el for el in root.iter()
        if isinstance(el.tag, str)
        and _localname(el) in ITEM_TYPES
        and id(el) not in owned
        and not _in_target(el)
        and el.getparent() is not None
        and _localname(el.getparent()) == "ItemGroup"
    ]


def _matches(spec: str, wanted: str) -> bool:
    norm = _normalise(spec)
    if any(c in norm for c in "*?"):
        return fnmatch.fnmatchcase(wanted, norm.replace("**/", "*"))
    return norm == wanted


def plan_patch(
    data: bytes,
    files: Sequence[str],
    *,
    mode: str = "Always",
    condition: str | None = None,
    name: str = "project.csproj",
    outside: Iterable[str] = (),
) -> PatchResult:
    """Plan the csproj change that makes ``files`` reach the build output with ``mode``. Pure.

    Args:
        data: the csproj's bytes.
        files: paths relative to the csproj's folder, ``/``-separated.
        mode: ``Always`` or ``PreserveNewest``.
        condition: optional MSBuild condition for the managed ItemGroup.
        name: the file name to use in messages.
        outside: the subset of ``files`` that lies outside the project folder (not globbed by the SDK).

    Raises:
        ProjectFileError: malformed XML, a non-Project root, or a ``Remove`` of one of ``files``.
    """
    doc = parse_project(data, name)
    outside_set = {_normalise(f) for f in outside}
    managed = _managed_groups(doc.root)
    items = _items(doc.root, managed)
    changes: list[ItemChange] = []
    warnings: list[str] = []
    removed: list[str] = []
    wanted_new: list[str] = []

    for file in files:
        wanted = _normalise(file)
        for item in items:
            if any(_matches(spec, wanted) for spec in _item_specs(item.get("Remove"))):
                removed.append(f'<{_localname(item)} Remove="{item.get("Remove")}"> at line {doc.line(item)}')
        exact = [
            item for item in items
            if any(_normalise(spec) == wanted for attr in ("Include", "Update") for spec in _item_specs(item.get(attr)))
        ]
        if not exact:
            wanted_new.append(file)
            continue
        for item in exact:
            changes.append(_fix_item(doc, item, file, mode))
            group = item.getparent()
            conditions = [c for c in (item.get("Condition"), group.get("Condition") if group is not None else None) if c]
            if condition and not conditions:
                warnings.append(
                    f"{name}:{doc.line(item)}: the existing item for {file} has no condition, so "
                    f"csproj-condition ({condition}) does not apply to it"
                )
            elif conditions and not condition:
                warnings.append(
                    f"{name}:{doc.line(item)}: the item for {file} only applies when {conditions[0]}"
                )

    if removed:
        raise ProjectFileError(
            f"{name}: a Remove item takes a credential file out of the build: " + "; ".join(removed),
            hint="delete that Remove item (or narrow its pattern) so the file can be copied to the "
            "output, or set patch-csproj = false and manage the items yourself",
        )

    sdk_style = _is_sdk_style(doc.root)
    changes.extend(_ensure_group(doc, managed, wanted_new, mode, condition, sdk_style, outside_set))
    patched = encode_text(doc.apply(), doc.encoding)
    return PatchResult(path=name, original=data, patched=patched, changes=tuple(changes), warnings=tuple(warnings))


def _fix_item(doc: _Document, item: etree._Element, file: str, mode: str) -> ItemChange:
    line = doc.line(item)
    kind = _localname(item)
    span = doc.spans[item]
    attr_span = attribute_value_span(doc.tag_text(item), COPY_METADATA)
    children = [c for c in item if isinstance(c.tag, str) and _localname(c) == COPY_METADATA]
    fixes: list[str] = []
    if attr_span is not None:
        old = item.get(COPY_METADATA) or ""
        if old.strip() != mode:
            start = span.open_start + attr_span[0]
            doc.edits.append((start, span.open_start + attr_span[1], mode))
            fixes.append(f"{old or '(empty)'} -> {mode}")
    for child in children:
        old = (child.text or "").strip()
        if old != mode:
            child_span = doc.spans[child]
            if child_span.is_empty_tag:
                doc.edits.append((child_span.open_start, child_span.open_end,
                                  f"<{COPY_METADATA}>{mode}</{COPY_METADATA}>"))
            else:
                doc.edits.append((child_span.open_end, child_span.close_start, mode))
            fixes.append(f"{old or '(empty)'} -> {mode}")
    if attr_span is None and not children:
        _add_metadata_child(doc, item, mode)
        return ItemChange(file, "fixed", f"added {COPY_METADATA}={mode} to the existing <{kind}> item", line)
    if fixes:
        return ItemChange(file, "fixed", f"existing <{kind}> item: {COPY_METADATA} {', '.join(fixes)}", line)
    return ItemChange(file, "unchanged", f"existing <{kind}> item already copies it ({mode})", line)


def _add_metadata_child(doc: _Document, item: etree._Element, mode: str) -> None:
    nl = doc.encoding.newline
    span = doc.spans[item]
    indent = doc.indent_of(item, 2)
    metadata = f"<{COPY_METADATA}>{mode}</{COPY_METADATA}>"
    if span.is_empty_tag:
        tag = doc.text[span.open_start:span.open_end]
        opening = tag[:-2].rstrip() + ">"
        doc.edits.append((span.open_start, span.open_end,
                          f"{opening}{nl}{indent}{doc.unit}{metadata}{nl}{indent}</{_localname_raw(tag)}>"))
    elif len([c for c in item if isinstance(c.tag, str)]) and line_indent(doc.text, span.close_start) is not None:
        doc.edits.append((span.close_start, span.close_start, f"{doc.unit}{metadata}{nl}{indent}"))
    else:
        doc.edits.append((span.open_end, span.close_start, f"{nl}{indent}{doc.unit}{metadata}{nl}{indent}"))


def _localname_raw(tag_text: str) -> str:
    """The element name exactly as spelled in its tag text (prefix included)."""
    return tag_text[1:].split(None, 1)[0].rstrip("/>")


def _group_text(
    files: Sequence[str], mode: str, condition: str | None, indent: str, unit: str, nl: str,
    *, sdk_style: bool, outside: set[str],
) -> str:
    cond = f' Condition="{escape_attribute(condition)}"' if condition else ""
    lines = [f'<ItemGroup Label="{ITEM_GROUP_LABEL}"{cond}>']
    for file in files:
        spec = escape_attribute(_msbuild_escape(file.replace("/", "\\") if "/" in file else file))
        is_outside = _normalise(file) in outside
        if is_outside:
            link = escape_attribute(_msbuild_escape(PurePosixPath(file).name))
            opening = f'<None Include="{spec}" Link="{link}">'
        else:
            opening = f'<None {"Update" if sdk_style else "Include"}="{spec}">'
        lines += [
            f"{indent}{unit}{opening}",
            f"{indent}{unit}{unit}<{COPY_METADATA}>{mode}</{COPY_METADATA}>",
            f"{indent}{unit}</None>",
        ]
    lines.append(f"{indent}</ItemGroup>")
    return nl.join(lines)


def _ensure_group(
    doc: _Document,
    managed: list[etree._Element],
    files: Sequence[str],
    mode: str,
    condition: str | None,
    sdk_style: bool,
    outside: set[str],
) -> list[ItemChange]:
    nl = doc.encoding.newline
    keep, extra = (managed[0], managed[1:]) if managed else (None, [])
    for group in extra:
        _remove_element_lines(doc, group)
    if not files:
        if keep is not None:
            _remove_element_lines(doc, keep)
        return []
    changes: list[ItemChange] = []
    previous = _group_entries(keep) if keep is not None else {}
    for file in files:
        action: Action = "unchanged" if previous.get(_normalise(file)) == mode else "added"
        changes.append(ItemChange(file, action, f"<None> item in the {ITEM_GROUP_LABEL} ItemGroup ({mode})"))
    if keep is not None:
        indent = doc.indent_of(keep, 1)
        desired = _group_text(files, mode, condition, indent, doc.unit, nl, sdk_style=sdk_style, outside=outside)
        span = doc.spans[keep]
        if doc.text[span.open_start:span.close_end] != desired:
            doc.edits.append((span.open_start, span.close_end, desired))
        return changes
    indent = doc.unit
    group = _group_text(files, mode, condition, indent, doc.unit, nl, sdk_style=sdk_style, outside=outside)
    root_span = doc.spans[doc.root]
    if root_span.is_empty_tag:
        tag = doc.text[root_span.open_start:root_span.open_end]
        doc.edits.append((root_span.open_start, root_span.open_end,
                          f"{tag[:-2].rstrip()}>{nl}{indent}{group}{nl}</{_localname_raw(tag)}>"))
    elif line_indent(doc.text, root_span.close_start) is not None:
        line_start = doc.text.rfind("\n", 0, root_span.close_start) + 1
        doc.edits.append((line_start, line_start, f"{indent}{group}{nl}"))
    else:
        doc.edits.append((root_span.close_start, root_span.close_start, f"{nl}{indent}{group}{nl}"))
    return changes


def _group_entries(group: etree._Element) -> dict[str, str]:
    entries: dict[str, str] = {}
    for item in group:
        if not isinstance(item.tag, str):
            continue
        spec = item.get("Update") or item.get("Include") or ""
        copy = [c.text or "" for c in item if isinstance(c.tag, str) and _localname(c) == COPY_METADATA]
        entries[_normalise(spec)] = copy[0].strip() if copy else ""
    return entries


def _remove_element_lines(doc: _Document, element: etree._Element) -> None:
    """Remove an element; if it sits alone on its lines, remove those whole lines."""
    span = doc.spans[element]
    start, end = span.open_start, span.close_end
    if line_indent(doc.text, start) is not None:
        eol = doc.text.find("\n", end)
        rest = doc.text[end:eol] if eol != -1 else doc.text[end:]
        if rest.strip(" \t\r") == "":
            start = doc.text.rfind("\n", 0, start) + 1
            end = eol + 1 if eol != -1 else len(doc.text)
    doc.edits.append((start, end, ""))


def plan_clean(data: bytes, *, name: str = "project.csproj") -> PatchResult:
    """Plan removing hatch-meadow's ItemGroup (and nothing else). Pure.

    Raises:
        ProjectFileError: malformed XML or a non-Project root.
    """
    doc = parse_project(data, name)
    groups = _managed_groups(doc.root)
    changes = []
    for group in groups:
        for file in _group_entries(group):
            changes.append(ItemChange(file, "removed", f"removed from the {ITEM_GROUP_LABEL} ItemGroup"))
        _remove_element_lines(doc, group)
    return PatchResult(path=name, original=data, patched=encode_text(doc.apply(), doc.encoding),
                       changes=tuple(changes))


def credential_paths(csproj: Path, credentials_dir: Path, names: Sequence[str] = CREDENTIAL_FILES) -> tuple[
        list[str], list[str]]:
    """The credential files as csproj-relative ``/`` paths, and the subset outside the project folder."""
    project_dir = csproj.parent.resolve()
    files: list[str] = []
    outside: list[str] = []
    for file_name in names:
        target = (credentials_dir / file_name).resolve()
        relative = Path(os.path.relpath(target, project_dir)).as_posix()
        files.append(relative)
        if relative.startswith("../"):
            outside.append(relative)
    return files, outside


def _read_project(path: Path, *, for_writing: bool) -> tuple[Path, bytes]:
    shown = str(path)
    if not path.exists():
        raise ProjectFileError(f"{shown}: no such file", hint="check the `csproj` option or the path you gave")
    if path.is_dir():
        raise ProjectFileError(
            f"{shown}: is a directory, not a .csproj file",
            hint="point `csproj` at the project file inside it, e.g. MeadowApp/MeadowApp.csproj",
        )
    real = path.resolve()
    try:
        data = real.read_bytes()
    except OSError as exc:
        raise ProjectFileError(f"{shown}: cannot read it ({exc.strerror})",
                               hint="check the file's permissions") from exc
    if for_writing:
        mode = real.stat().st_mode
        if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(real, os.W_OK):
            raise ProjectFileError(
                f"{shown}: is read-only, so hatch-meadow cannot add the credential items",
                hint=f"make it writable (chmod u+w {shown}; check it out for edit in your VCS) "
                "or set patch-csproj = false",
            )
        if not os.access(real.parent, os.W_OK):
            raise ProjectFileError(f"{shown}: its folder is not writable, so the file cannot be replaced safely",
                                   hint="fix the folder's permissions or set patch-csproj = false")
    return real, data


def _write(result: PatchResult, real: Path) -> PatchResult:
    if not result.changed:
        return result
    mode = stat.S_IMODE(real.stat().st_mode)
    try:
        save_atomic(real, result.patched, mode=mode)
    except OSError as exc:
        raise ProjectFileError(f"{result.path}: cannot write it ({exc.strerror}); the file is unchanged",
                               hint="check free disk space and permissions") from exc
    return PatchResult(path=result.path, original=result.original, patched=result.patched,
                       changes=result.changes, warnings=result.warnings, written=True)


def ensure_csproj(
    path: Path,
    files: Sequence[str] | None = None,
    *,
    mode: str = "Always",
    condition: str | None = None,
    credentials_dir: Path | None = None,
    dry_run: bool = False,
) -> PatchResult:
    """Make ``path`` copy the credential files to its build output; write only if something changes.

    Args:
        path: the .csproj (a symlink is followed; the target is rewritten).
        files: csproj-relative paths; default: the three credential files in ``credentials_dir``.
        mode: ``Always`` or ``PreserveNewest``.
        condition: optional MSBuild condition on the managed ItemGroup.
        credentials_dir: where the credential files live (default: the csproj's folder).
        dry_run: plan only; never write.

    Raises:
        ProjectFileError: the file is missing, a directory, unreadable, read-only, malformed, or
            removes a credential file; it is left untouched.
    """
    real, data = _read_project(path, for_writing=not dry_run)
    if files is None:
        files, outside = credential_paths(path, credentials_dir or path.parent)
    else:
        outside = [f for f in files if Path(f).as_posix().startswith("../")]
    result = plan_patch(data, files, mode=mode, condition=condition, name=str(path), outside=outside)
    return result if dry_run else _write(result, real)


def clean_csproj(path: Path, *, dry_run: bool = False) -> PatchResult:
    """Remove hatch-meadow's ItemGroup from ``path``; items we fixed in place stay as they are.

    Raises:
        ProjectFileError: as for :func:`ensure_csproj`.
    """
    real, data = _read_project(path, for_writing=not dry_run)
    result = plan_clean(data, name=str(path))
    return result if dry_run else _write(result, real)
