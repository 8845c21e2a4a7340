"""Editing items in place, byte for byte: fixing an item, building and updating the managed ItemGroup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from lxml import etree

from hatch_meadow.csproj.document import (
    _Document,
    _line,
    _localname,
    _localname_raw,
    _msbuild_escape,
    _normalise_path,
    _normalise_spec,
    _remove_element_lines,
)
from hatch_meadow.csproj.result import COPY_METADATA, ItemChange
from hatch_meadow.errors import ProjectFileError
from hatch_meadow.names import ITEM_GROUP_LABEL
from hatch_meadow.xmltext import (
    attribute_value_span,
    escape_attribute,
    line_indent,
)


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
