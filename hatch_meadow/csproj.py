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

import os
import posixpath
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Final, Literal

from lxml import etree

from hatch_meadow.atomicfile import save_atomic
from hatch_meadow.errors import ProjectFileError
from hatch_meadow.msbuild_eval import Evaluation, FileVerdict, evaluate_project
from hatch_meadow.msbuild_events import BuildContext
from hatch_meadow.names import ITEM_GROUP_LABEL
from hatch_meadow.project import credential_paths
from hatch_meadow.xmltext import (
    ElementSpan,
    TextEncoding,
    attribute_value_span,
    decode_text,
    element_spans,
    encode_text,
    escape_attribute,
    indent_step,
    line_indent,
)

MSBUILD_NAMESPACE: Final = "http://schemas.microsoft.com/developer/msbuild/2003"
COPY_METADATA: Final = "CopyToOutputDirectory"
ITEM_TYPES: Final = frozenset({"None", "Content"})
DEFAULT_INDENT: Final = "  "
#: The largest .csproj we read (a generated 5,000-item project is ~0.3 MB).
MAX_PROJECT_BYTES: Final = 32 << 20
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
    #: What the build does with each file after the patch, and before it (the evaluation model).
    verdicts: tuple[FileVerdict, ...] = ()
    verdicts_before: tuple[FileVerdict, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the file's bytes differ after the patch."""
        return self.original != self.patched

    def diff(self) -> str:
        """A unified diff of the change (LF line endings), for ``--dry-run``; empty if nothing changes."""
        import difflib

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
            "copy": [v.to_json() for v in self.verdicts],
        }


@dataclass(slots=True)
class _Document:
    """A parsed project: the text, its encoding and the lxml tree.

    Element spans (where each tag sits in the text) are computed only when an edit needs them, so
    checking an already-patched project costs one lxml parse and a walk over its items.
    """

    name: str
    text: str
    encoding: TextEncoding
    root: etree._Element
    edits: list[tuple[int, int, str]] = field(default_factory=list)
    _spans: dict[etree._Element, ElementSpan] | None = None
    _unit: str | None = None

    def span(self, element: etree._Element) -> ElementSpan:
        if self._spans is None:
            self._spans = self._map_spans()
        return self._spans[element]

    def _map_spans(self) -> dict[etree._Element, ElementSpan]:
        try:
            spans = element_spans(self.text)
        except ValueError as exc:
            raise ProjectFileError(
                f"{self.name}: cannot map the XML text to its elements ({exc})",
                hint="this is unusual markup; add the items by hand or set patch-csproj = false",
            ) from exc
        elements = [el for el in self.root.iter() if isinstance(el.tag, str)]
        if len(elements) != len(spans):
            raise ProjectFileError(
                f"{self.name}: found {len(spans)} tags in the text but {len(elements)} elements in the tree",
                hint="this is unusual markup (entities that expand to elements?); edit the file by hand",
            )
        return dict(zip(elements, spans, strict=True))

    @property
    def unit(self) -> str:
        """The file's indentation step: the root's first child's indentation minus the root's."""
        if self._unit is None:
            self._unit = DEFAULT_INDENT
            for child in self.root:
                if isinstance(child.tag, str):
                    found = line_indent(self.text, self.span(child).open_start)
                    self._unit = indent_step(self.root_indent, found) or found or DEFAULT_INDENT
                    break
        return self._unit

    @property
    def root_indent(self) -> str:
        """The root element's own indentation (usually none)."""
        return line_indent(self.text, self.span(self.root).open_start) or ""

    def step_near(self, element: etree._Element) -> str:
        """The step used inside ``element`` (its first child's indentation minus its own), else the file's."""
        for child in element:
            if isinstance(child.tag, str):
                step = indent_step(line_indent(self.text, self.span(element).open_start),
                                   line_indent(self.text, self.span(child).open_start))
                return step or self.unit
        return self.unit

    def child_indent(self) -> str:
        """How a new child of the root is indented: like the root's last child, else root + step."""
        children = [c for c in self.root if isinstance(c.tag, str)]
        found = line_indent(self.text, self.span(children[-1]).open_start) if children else None
        return found if found is not None else self.root_indent + self.unit

    def tag_text(self, element: etree._Element) -> str:
        span = self.span(element)
        return self.text[span.open_start:span.open_end]

    def indent_of(self, element: etree._Element, depth: int) -> str:
        found = line_indent(self.text, self.span(element).open_start)
        return found if found is not None else self.root_indent + self.unit * depth

    def apply(self) -> str:
        if not self.edits:
            return self.text
        parts: list[str] = []
        position = 0
        for start, end, replacement in sorted(self.edits, key=lambda e: (e[0], e[1])):
            if start < position:
                raise AssertionError("overlapping csproj edits")  # a bug in the planner, never input
            parts += [self.text[position:start], replacement]
            position = end
        parts.append(self.text[position:])
        return "".join(parts)


def _localname(element: etree._Element) -> str:
    return etree.QName(element).localname


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


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
    except (UnicodeDecodeError, LookupError) as exc:
        raise ProjectFileError(
            f"{name}: the bytes do not match the file's declared encoding ({exc})",
            hint="re-save the file as UTF-8; hatch-meadow has not changed it",
        ) from exc
    return _Document(name=name, text=text, encoding=encoding, root=root)


@lru_cache(maxsize=4096)
def _normalise_spec(spec: str) -> str:
    """An item spec as MSBuild compares it: %XX-unescaped, either slash, no ./, case-insensitive."""
    return _normalise_path(_PERCENT_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), spec))


def _normalise_path(path: str) -> str:
    """A literal file path in the same comparable form (no %XX decoding: the name is literal)."""
    text = path.strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return posixpath.normpath(text).lower() if text else text


def _msbuild_escape(path: str) -> str:
    return "".join(_MSBUILD_ESCAPES.get(c, c) for c in path)


def _item_specs(value: str | None) -> list[str]:
    if not value:
        return []
    if ";" not in value:
        return [value] if value.strip() else []
    return [part for part in value.split(";") if part.strip()]


def _managed_groups(root: etree._Element) -> list[etree._Element]:
    return [
        el for el in root
        if isinstance(el.tag, str) and _localname(el) == "ItemGroup" and el.get("Label") == ITEM_GROUP_LABEL
    ]


@dataclass(slots=True)
class _ItemIndex:
    """Every static None/Content item outside our group, indexed by the files it names."""

    by_spec: dict[str, list[tuple[etree._Element, str]]] = field(default_factory=dict)  # spec → (item, attr)
    removes: list[tuple[etree._Element, str]] = field(default_factory=list)
    order: dict[etree._Element, int] = field(default_factory=dict)  # document order, for Remove-then-Include


def _index_items(root: etree._Element, managed: Sequence[etree._Element], files: Sequence[str]) -> _ItemIndex:
    """Index the static None/Content items that name one of ``files`` or remove anything.

    A cheap substring prefilter on the lower-cased spec (a wanted base name, or a %XX escape) keeps a
    5,000-item project well under the 20 ms budget; only candidates are fully normalised.
    """
    index = _ItemIndex()
    owned = set(managed)
    names = sorted({posixpath.basename(_normalise_path(f)) for f in files})
    interesting = re.compile("|".join([*(re.escape(n) for n in names if n), "%"]), re.IGNORECASE).search
    item_tags = [*ITEM_TYPES, *(f"{{{MSBUILD_NAMESPACE}}}{t}" for t in ITEM_TYPES)]
    for position, item in enumerate(root.iter(*item_tags)):
        get = item.get
        include, update, removal = get("Include"), get("Update"), get("Remove")
        if not removal and not (include and interesting(include)) and not (update and interesting(update)):
            continue
        group = item.getparent()
        if group is None or group in owned or _localname(group) != "ItemGroup" or \
                any(True for _ in item.iterancestors("{*}Target", "Target")):
            continue  # items inside a Target are computed at execution time, not evaluation time
        index.order[item] = position
        for attr, value in (("Include", include), ("Update", update)):
            for spec in _item_specs(value):
                bucket = index.by_spec.setdefault(_normalise_spec(spec), [])
                if (item, attr) not in bucket:
                    bucket.append((item, attr))
        index.removes.extend((item, _normalise_spec(spec)) for spec in _item_specs(removal))
    return index


def _matches(pattern: str, wanted: str) -> bool:
    if any(c in pattern for c in "*?"):
        import fnmatch

        return fnmatch.fnmatchcase(wanted, pattern.replace("**/", "*"))
    return pattern == wanted


def plan_patch(
    data: bytes,
    files: Sequence[str],
    *,
    mode: str = "Always",
    condition: str | None = None,
    name: str = "project.csproj",
    outside: Iterable[str] = (),
    context: BuildContext | None = None,
) -> PatchResult:
    """Plan the csproj change that makes ``files`` reach the build output with ``mode``. Pure.

    Args:
        data: the csproj's bytes.
        files: literal paths relative to the csproj's folder, ``/``-separated.
        mode: ``Always`` or ``PreserveNewest``.
        condition: optional MSBuild condition for the managed ItemGroup.
        name: the file name to use in messages.
        outside: the subset of ``files`` that lies outside the project folder (not globbed by the SDK).
        context: the Directory.Build files and imports around the project (default: none), for the
            evaluation model (:mod:`hatch_meadow.msbuild_eval`) that decides ``Update`` or ``Include``.

    Raises:
        ProjectFileError: malformed XML, a non-Project root, a ``Remove`` of one of ``files``, or
            a project after whose patch MSBuild would still not copy one of them.
    """
    doc = parse_project(data, name)
    outside_set = {_normalise_path(f) for f in outside}
    managed = _managed_groups(doc.root)
    index = _index_items(doc.root, managed, files)
    changes: list[ItemChange] = []
    warnings: list[str] = []
    removed: list[str] = []
    wanted_new: list[str] = []
    fixed: dict[etree._Element, ItemChange] = {}

    evaluation = evaluate_project(doc.root, name, files, context)
    conditioned: set[str] = set()
    for file in files:
        wanted = _normalise_path(file)
        removers = [item for item, pattern in index.removes if _matches(pattern, wanted)]
        last_remove = max((index.order[item] for item in removers), default=-1)
        candidates = [(item, attr) for item, attr in index.by_spec.get(wanted, [])
                      if index.order[item] > last_remove]  # items before a Remove are void
        # An Include always creates the item; an Update only changes an item that exists when MSBuild
        # reaches it (the SDK's default None items, unless they are off; an earlier Include).
        exact = [item for item, attr in candidates
                 if attr == "Include" or evaluation.presence(file, before=item) == "yes"]
        for item, attr in candidates:
            if item not in exact:
                warnings.append(_void_update_warning(evaluation, item, attr, file, name))
        if removers and not any(attr == "Include" for item, attr in candidates):
            for item in removers:
                clause = f'<{_localname(item)} Remove="{item.get("Remove")}"> at line {_line(item)}'
                if clause not in removed:
                    removed.append(clause)
            continue
        if not exact:
            wanted_new.append(file)
            continue
        for item in exact:
            if item in fixed:  # one item naming several files: fix it once
                changes.append(replace(fixed[item], file=file))
                continue
            fixed[item] = _fix_item(doc, item, file, mode)
            changes.append(fixed[item])
            found = _condition_warnings(item, file, condition, name)
            warnings.extend(found)
            if found:
                conditioned.add(file)

    if removed:
        raise ProjectFileError(
            f"{name}: a Remove item takes a credential file out of the build: " + "; ".join(removed),
            hint="delete that Remove item (or narrow its pattern) so the file can be copied to the "
            "output, or set patch-csproj = false and manage the items yourself",
        )

    forms = {file: _item_form(evaluation, file, managed, outside_set) for file in wanted_new}
    warnings.extend(_doubt_warnings(evaluation, forms))
    changes.extend(_ensure_group(doc, managed, wanted_new, mode, condition, forms=forms))
    patched = data if not doc.edits else encode_text(doc.apply(), doc.encoding)
    after = evaluation if not doc.edits else evaluate_project(parse_project(patched, name).root, name, files, context)
    verdicts = tuple(after.verdict(file) for file in files)
    warnings.extend(_verdict_problems(verdicts, name, condition, conditioned))
    return PatchResult(path=name, original=data, patched=patched, changes=tuple(changes), warnings=tuple(warnings),
                       verdicts=verdicts,
                       verdicts_before=verdicts if after is evaluation else tuple(evaluation.verdict(f) for f in files))


def _void_update_warning(evaluation: Evaluation, item: etree._Element, attr: str, file: str, name: str) -> str:
    kind = _localname(item)
    if kind != "None":
        why = f"nothing includes {file} as {kind}"
    else:
        glob, why = evaluation.glob_reason(file)
        if glob is None:
            return (f"{name}:{_line(item)}: <{kind} {attr}=\"{item.get(attr)}\"> may match no item ({why}), "
                    "so hatch-meadow adds its own")
    return f"{name}:{_line(item)}: <{kind} {attr}=\"{item.get(attr)}\"> matches no item ({why}), so hatch-meadow " \
           "adds its own"


def _item_form(evaluation: Evaluation, file: str, managed: Sequence[etree._Element],
               outside: set[str]) -> tuple[str, str]:
    """``Update`` when MSBuild has an item for the file where our group goes, else ``Include``; and why."""
    if _normalise_path(file) in outside:
        return "Include", "outside the project folder: using Include with Link"
    presence = evaluation.presence(file, ignore=managed)
    glob, why = evaluation.glob_reason(file)
    if presence == "yes":
        return "Update", (f"{why}: using Update" if glob else "an earlier item includes it: using Update")
    if presence == "maybe":
        return "Include", f"{why}: using Include, which copies it either way"
    return "Include", f"{why}: using Include"


def _doubt_warnings(evaluation: Evaluation, forms: dict[str, tuple[str, str]]) -> list[str]:
    """Say which lines the model could not evaluate, when the choice of Update/Include depended on them."""
    if not any(evaluation.glob_reason(file)[0] is None for file in forms):
        return []
    return [f"{doubt}; hatch-meadow cannot tell whether the SDK's default items exist, so it uses Include, "
            "which copies the files either way" for doubt in evaluation.default_items.doubts]


def _verdict_problems(verdicts: Sequence[FileVerdict], name: str, condition: str | None,
                      conditioned: set[str]) -> list[str]:
    """Refuse a patch after which MSBuild still would not copy a file; warn if it copies one only sometimes."""
    missing = [v for v in verdicts if v.copied == "no"]
    if missing:
        raise ProjectFileError(
            f"{name}: even after the patch, MSBuild would not copy " +
            "; ".join(f"{v.file} ({v.detail})" for v in missing),
            hint="change or remove the item that keeps the file out (it may be in Directory.Build.props or "
            "Directory.Build.targets), or set patch-csproj = false and manage the items yourself",
        )
    return [f"{name}: {v.file} is {v.detail}" for v in verdicts
            if v.copied == "depends" and v.file not in conditioned and set(v.conditions) - {condition}]


def _condition_warnings(item: etree._Element, file: str, condition: str | None, name: str) -> list[str]:
    group = item.getparent()
    group_condition = group.get("Condition") if group is not None else None
    conditions = [c for c in (item.get("Condition"), group_condition) if c]
    if condition and not conditions:
        return [f"{name}:{_line(item)}: the existing item for {file} has no condition, so "
                f"csproj-condition ({condition}) does not apply to it"]
    if conditions and not condition:
        return [f"{name}:{_line(item)}: the item for {file} only applies when {conditions[0]}"]
    return []


def _fix_item(doc: _Document, item: etree._Element, file: str, mode: str) -> ItemChange:
    line = _line(item)
    kind = _localname(item)
    children = [c for c in item if isinstance(c.tag, str) and _localname(c) == COPY_METADATA]
    attr_value = item.get(COPY_METADATA)
    fixes: list[str] = []
    if attr_value is not None and attr_value.strip() != mode:
        span = doc.span(item)
        attr_span = attribute_value_span(doc.tag_text(item), COPY_METADATA)
        if attr_span is None:
            raise ProjectFileError(f"{doc.name}:{line}: cannot locate the {COPY_METADATA} attribute in the text",
                                   hint=f"set it to {mode} by hand")
        doc.edits.append((span.open_start + attr_span[0], span.open_start + attr_span[1], mode))
        fixes.append(f"{attr_value or '(empty)'} -> {mode}")
    for child in children:
        old = (child.text or "").strip()
        if old != mode:
            child_span = doc.span(child)
            if child_span.is_empty_tag:
                doc.edits.append((child_span.open_start, child_span.open_end,
                                  f"<{COPY_METADATA}>{mode}</{COPY_METADATA}>"))
            else:
                doc.edits.append((child_span.open_end, child_span.close_start, mode))
            fixes.append(f"{old or '(empty)'} -> {mode}")
    if attr_value is None and not children:
        _add_metadata_child(doc, item, mode)
        return ItemChange(file, "fixed", f"added {COPY_METADATA}={mode} to the existing <{kind}> item", line)
    if fixes:
        return ItemChange(file, "fixed", f"existing <{kind}> item: {COPY_METADATA} {', '.join(fixes)}", line)
    return ItemChange(file, "unchanged", f"existing <{kind}> item already copies it ({mode})", line)


def _add_metadata_child(doc: _Document, item: etree._Element, mode: str) -> None:
    nl = doc.encoding.newline
    span = doc.span(item)
    indent = doc.indent_of(item, 2)
    group = item.getparent()
    unit = doc.step_near(group) if group is not None else doc.unit
    metadata = f"<{COPY_METADATA}>{mode}</{COPY_METADATA}>"
    if span.is_empty_tag:
        tag = doc.text[span.open_start:span.open_end]
        opening = tag[:-2].rstrip() + ">"
        doc.edits.append((span.open_start, span.open_end,
                          f"{opening}{nl}{indent}{unit}{metadata}{nl}{indent}</{_localname_raw(tag)}>"))
        return
    content = doc.text[span.open_end:span.close_start]
    if content.strip() == "":
        doc.edits.append((span.open_end, span.close_start, f"{nl}{indent}{unit}{metadata}{nl}{indent}"))
    elif line_indent(doc.text, span.close_start) is not None:
        doc.edits.append((span.close_start, span.close_start, f"{unit}{metadata}{nl}{indent}"))
    else:  # other metadata on the same line: keep it, append ours beside it
        doc.edits.append((span.close_start, span.close_start, metadata))


def _localname_raw(tag_text: str) -> str:
    """The element name exactly as spelled in its tag text (prefix included)."""
    return tag_text[1:].split(None, 1)[0].rstrip("/>")


@dataclass(frozen=True, slots=True)
class _Entry:
    """One item of the managed group, as we would write it."""

    attr: str
    spec: str
    link: str | None
    mode: str


def _entries(files: Sequence[str], mode: str, forms: dict[str, tuple[str, str]]) -> list[_Entry]:
    entries = []
    for file in files:
        spec = _msbuild_escape(file.replace("/", "\\"))
        # A file in a sub-folder (or outside the project) would land in that sub-folder of the output,
        # where the board never looks: Link puts it in the output root.
        link = _msbuild_escape(PurePosixPath(file).name) if "/" in file else None
        entries.append(_Entry(forms[file][0], spec, link, mode))
    return entries


def _group_text(entries: Sequence[_Entry], condition: str | None, indent: str, unit: str, nl: str) -> str:
    cond = f' Condition="{escape_attribute(condition)}"' if condition else ""
    lines = [f'<ItemGroup Label="{ITEM_GROUP_LABEL}"{cond}>']
    for entry in entries:
        link = f' Link="{escape_attribute(entry.link)}"' if entry.link else ""
        lines += [
            f'{indent}{unit}<None {entry.attr}="{escape_attribute(entry.spec)}"{link}>',
            f"{indent}{unit}{unit}<{COPY_METADATA}>{entry.mode}</{COPY_METADATA}>",
            f"{indent}{unit}</None>",
        ]
    lines.append(f"{indent}</ItemGroup>")
    return nl.join(lines)


def _existing_entries(group: etree._Element) -> list[_Entry] | None:
    """The group's items in our form, or None if it holds anything we would not have written."""
    entries = []
    for item in group:
        if not isinstance(item.tag, str):
            continue
        children = [c for c in item if isinstance(c.tag, str)]
        attrs = set(item.attrib) - {"Link"}
        if _localname(item) != "None" or len(attrs) != 1 or len(children) != 1 or \
                _localname(children[0]) != COPY_METADATA:
            return None
        attr = str(attrs.pop())
        entries.append(_Entry(attr, str(item.get(attr) or ""), item.get("Link"), (children[0].text or "").strip()))
    return entries


def _ensure_group(
    doc: _Document,
    managed: list[etree._Element],
    files: Sequence[str],
    mode: str,
    condition: str | None,
    *,
    forms: dict[str, tuple[str, str]],
) -> list[ItemChange]:
    nl = doc.encoding.newline
    keep, extra = (managed[0], managed[1:]) if managed else (None, [])
    for group in extra:
        _remove_element_lines(doc, group)
    if not files:
        if keep is not None:
            _remove_element_lines(doc, keep)
        return []
    wanted = _entries(files, mode, forms)
    if keep is not None:
        existing = _existing_entries(keep)
        same = (existing is not None and sorted(existing, key=repr) == sorted(wanted, key=repr)
                and keep.get("Condition") == condition and set(keep.attrib) <= {"Label", "Condition"})
        present = {_normalise_spec(e.spec): e.mode for e in existing or []}
        changes = [
            ItemChange(file, "unchanged" if present.get(_normalise_path(file)) == mode else "added",
                       f"<None {forms[file][0]}> item in the {ITEM_GROUP_LABEL} ItemGroup ({mode}): {forms[file][1]}")
            for file in files
        ]
        if not same:
            span = doc.span(keep)
            text = _group_text(wanted, condition, doc.indent_of(keep, 1), doc.step_near(keep), nl)
            doc.edits.append((span.open_start, span.close_end, text))
        return changes
    changes = [ItemChange(file, "added", f"<None {forms[file][0]}> item in the {ITEM_GROUP_LABEL} ItemGroup "
                          f"({mode}): {forms[file][1]}") for file in files]
    indent = doc.child_indent()
    last = [c for c in doc.root if isinstance(c.tag, str)][-1:]
    group_text = _group_text(wanted, condition, indent, doc.step_near(last[0]) if last else doc.unit, nl)
    root_span = doc.span(doc.root)
    if root_span.is_empty_tag:
        tag = doc.text[root_span.open_start:root_span.open_end]
        doc.edits.append((root_span.open_start, root_span.open_end, f"{tag[:-2].rstrip()}>{nl}{indent}{group_text}"
                          f"{nl}{doc.root_indent}</{_localname_raw(tag)}>"))
    elif line_indent(doc.text, root_span.close_start) is not None:
        line_start = doc.text.rfind("\n", 0, root_span.close_start) + 1
        doc.edits.append((line_start, line_start, f"{indent}{group_text}{nl}"))
    else:
        doc.edits.append((root_span.close_start, root_span.close_start,
                          f"{nl}{indent}{group_text}{nl}{doc.root_indent}"))
    return changes


def _remove_element_lines(doc: _Document, element: etree._Element) -> None:
    """Remove an element; if it sits alone on its lines, remove those whole lines."""
    span = doc.span(element)
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
    changes = []
    for group in _managed_groups(doc.root):
        for entry in _existing_entries(group) or []:
            changes.append(ItemChange(entry.spec, "removed", f"removed from the {ITEM_GROUP_LABEL} ItemGroup"))
        _remove_element_lines(doc, group)
    patched = data if not doc.edits else encode_text(doc.apply(), doc.encoding)
    return PatchResult(path=name, original=data, patched=patched, changes=tuple(changes))


def _read_project(path: Path) -> tuple[Path, bytes]:
    shown = str(path)
    if not path.exists():
        raise ProjectFileError(f"{shown}: no such file", hint="check the `csproj` option or the path you gave")
    if path.is_dir():
        raise ProjectFileError(
            f"{shown}: is a directory, not a .csproj file",
            hint="point `csproj` at the project file inside it, e.g. MeadowApp/MeadowApp.csproj",
        )
    real = path.resolve()
    if not real.is_file():
        raise ProjectFileError(f"{shown}: is not a regular file", hint="point `csproj` at the project file")
    if real.stat().st_size > MAX_PROJECT_BYTES:
        raise ProjectFileError(f"{shown}: is {real.stat().st_size} bytes, too large for a project file",
                               hint="point `csproj` at the app's .csproj")
    try:
        data = real.read_bytes()
    except OSError as exc:
        raise ProjectFileError(f"{shown}: cannot read it ({exc.strerror})",
                               hint="check the file's permissions") from exc
    return real, data


def check_writable(real: Path, shown: str) -> None:
    """Raise ProjectFileError unless ``real`` can be replaced (see the module docstring)."""
    # Checked only when a change is due: a read-only csproj that is already right is fine. Mode bits
    # as well as access(): root may write anything, but a 0444 file says "do not edit me".
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


def _write(result: PatchResult, real: Path) -> PatchResult:
    if not result.changed:
        return result
    check_writable(real, result.path)
    mode = stat.S_IMODE(real.stat().st_mode)
    try:
        save_atomic(real, result.patched, mode=mode)
    except OSError as exc:
        raise ProjectFileError(f"{result.path}: cannot write it ({exc.strerror}); the file is unchanged",
                               hint="check free disk space and permissions") from exc
    return replace(result, written=True)


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
    real, data = _read_project(path)
    if files is None:
        files, outside = credential_paths(path, credentials_dir or path.parent)
    else:
        outside = [f for f in files if Path(f).as_posix().startswith("../")]
    from hatch_meadow.msbuild_context import load_build_context

    result = plan_patch(data, files, mode=mode, condition=condition, name=str(path), outside=outside,
                        context=load_build_context(path, data))
    return result if dry_run else _write(result, real)


def apply_patch(path: Path, result: PatchResult) -> PatchResult:
    """Write a result planned earlier by ``ensure_csproj(..., dry_run=True)``.

    Raises:
        ProjectFileError: the file changed since it was planned, or cannot be written.
    """
    real, data = _read_project(path)
    if data != result.original:
        raise ProjectFileError(f"{path}: changed while hatch-meadow was working on it; nothing was written",
                               hint="run the build again")
    return _write(result, real)


def clean_csproj(path: Path, *, dry_run: bool = False) -> PatchResult:
    """Remove hatch-meadow's ItemGroup from ``path``; items we fixed in place stay as they are.

    Raises:
        ProjectFileError: as for :func:`ensure_csproj`.
    """
    real, data = _read_project(path)
    result = plan_clean(data, name=str(path))
    return result if dry_run else _write(result, real)
