"""The csproj as parsed text: lxml elements with their source positions, item specs and indexes."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from hatch_meadow.csproj.result import _MSBUILD_ESCAPES, _PERCENT_ESCAPE, DEFAULT_INDENT, ITEM_TYPES, MSBUILD_NAMESPACE
from hatch_meadow.errors import ProjectFileError
from hatch_meadow.names import ITEM_GROUP_LABEL
from hatch_meadow.xmltext import (
    ElementSpan,
    TextEncoding,
    decode_text,
    element_spans,
    indent_step,
    line_indent,
)


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




def _localname_raw(tag_text: str) -> str:
    """The element name exactly as spelled in its tag text (prefix included)."""
    return tag_text[1:].split(None, 1)[0].rstrip("/>")




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
