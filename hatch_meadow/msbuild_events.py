"""A project and the files MSBuild reads around it, flattened into evaluation order. Pure.

MSBuild evaluates a project as one long document: the SDK's ``Sdk.props`` (which imports the nearest
``Directory.Build.props`` and then defines the SDK's implicit items), the project body with its
``<Import>``s in place, then ``Sdk.targets`` (the SDK's property defaults, then the nearest
``Directory.Build.targets``). :func:`collect_events` walks that order and keeps what
:mod:`hatch_meadow.msbuild_eval` needs: property assignments, ``None``/``Content`` item operations,
imports it could not read, and markers for the SDK's own steps. Sources: MSBuild docs "Customize your
build" (Directory.Build.props/targets, import order) and dotnet/sdk ``Microsoft.NET.Sdk.DefaultItems.props``
/ ``.targets`` (the implicit ``None`` glob and its ``EnableDefault*Items`` defaults).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from lxml import etree

#: The key under which the loader files imports made by the project itself.
PROJECT: Final = "<project>"
ITEM_KINDS: Final = ("None", "Content")
_NS: Final = "{http://schemas.microsoft.com/developer/msbuild/2003}"
_ITEM_TAGS: Final = frozenset({*ITEM_KINDS, *(_NS + k for k in ITEM_KINDS)})
#: Imports from the MSBuild toolset or the SDK: their effect on our items is the SDK's, modelled by markers.
_OPS: Final[tuple[Literal["Include", "Update", "Remove"], ...]] = ("Include", "Update", "Remove")
_TOOLSET_PREFIXES: Final = ("$(msbuildextensionspath", "$(msbuildtoolspath)", "$(msbuildbinpath)",
                            "$(msbuildsdkspath)", "$(vstoolspath)", "$(msbuildframeworktoolspath)")
_EXISTS: Final = re.compile(r"^\s*Exists\(\s*'([^']*)'\s*\)\s*$", re.IGNORECASE)
_COMMON_TARGETS: Final = ("microsoft.common.targets", "microsoft.csharp.targets", "microsoft.visualbasic.targets",
                          "microsoft.fsharp.targets")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file MSBuild reads besides the project: its name in messages (relative to the project folder)."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class BuildContext:
    """The files around a project that MSBuild would read, as far as hatch-meadow reads them.

    ``imports`` maps (importing file's name, or :data:`PROJECT`; the ``Project`` attribute as written) to
    the imported file, or to None when the path resolves to no file (MSBuild skips an ``Exists()``-guarded
    import of it). An import missing from the map is one hatch-meadow could not resolve.
    """

    props: SourceFile | None = None
    targets: SourceFile | None = None
    imports: Mapping[tuple[str, str], SourceFile | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Place:
    """A file and a line, for messages."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class PropertySet:
    """``<Name>value</Name>`` inside a PropertyGroup, with every enclosing condition."""

    name: str
    value: str
    conditions: tuple[str, ...]
    place: Place


@dataclass(frozen=True, slots=True)
class ItemOp:
    """One ``None``/``Content`` element: Include, Update or Remove, with its copy metadata if it sets one."""

    kind: str
    op: Literal["Include", "Update", "Remove"]
    spec: str
    exclude: str
    mode: str | None
    mode_condition: str
    conditions: tuple[str, ...]
    place: Place
    element: etree._Element


@dataclass(frozen=True, slots=True)
class UnreadImport:
    """An ``<Import>`` whose file hatch-meadow cannot resolve: it may set anything."""

    project: str
    conditions: tuple[str, ...]
    place: Place


@dataclass(frozen=True, slots=True)
class Marker:
    """A step of the SDK: its implicit items, its property defaults, or the end of the project file."""

    step: Literal["default-items", "sdk-defaults", "end-of-project"]


Event = PropertySet | ItemOp | UnreadImport | Marker


def localname(element: etree._Element) -> str:
    """The element's name without its namespace."""
    return etree.QName(element).localname


def is_sdk_style(root: etree._Element) -> bool:
    """``<Project Sdk=…>``, a ``<Sdk>`` element, or an ``<Import Sdk=…>``."""
    if root.get("Sdk"):
        return True
    return any(isinstance(el.tag, str) and (localname(el) == "Sdk" or (localname(el) == "Import" and el.get("Sdk")))
               for el in root)


def parse_source(data: bytes) -> etree._Element | None:
    """Parse an imported file; None if it is not well-formed (MSBuild would stop with an error)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None


class _Walker:
    """Walk files in evaluation order, collecting events for items that may name one of ``wanted``."""

    def __init__(self, context: BuildContext, wanted: Collection[str]) -> None:
        self.context = context
        names = [re.escape(w) for w in wanted if w]
        self.may_name = re.compile("|".join([*names, r"[*?$%@]"]), re.IGNORECASE).search
        self.events: list[Event] = []
        self.props_done = False
        self.targets_done = False
        self.open: list[str] = []  # files being walked: an import cycle is cut, as MSBuild warns and skips it

    def project(self, root: etree._Element, name: str) -> None:
        sdk = is_sdk_style(root)
        explicit = any(isinstance(el.tag, str) and localname(el) == "Import" and el.get("Sdk") for el in root)
        if sdk and not explicit:
            self._props_layer(sdk=True)
        self._children(root, PROJECT, name, (), sdk=sdk)
        self.events.append(Marker("end-of-project"))
        if sdk and not explicit:
            self._targets_layer(sdk=True)

    def _props_layer(self, *, sdk: bool) -> None:
        if self.props_done:
            return
        self.props_done = True
        if self.context.props is not None:
            self._file(self.context.props, ())
        if sdk:
            self.events.append(Marker("default-items"))

    def _targets_layer(self, *, sdk: bool) -> None:
        if self.targets_done:
            return
        self.targets_done = True
        if sdk:
            self.events.append(Marker("sdk-defaults"))
        if self.context.targets is not None:
            self._file(self.context.targets, ())

    def _file(self, source: SourceFile, conditions: tuple[str, ...]) -> None:
        root = parse_source(source.data)
        if root is None or source.name in self.open:
            return
        self.open.append(source.name)
        self._children(root, source.name, source.name, conditions, sdk=False)
        self.open.pop()

    def _children(self, parent: etree._Element, key: str, name: str, conditions: tuple[str, ...], *,
                  sdk: bool) -> None:
        for child in parent:
            if not isinstance(child.tag, str):
                continue
            kind = localname(child)
            inner = _with(conditions, child.get("Condition"))
            if kind == "PropertyGroup":
                self._properties(child, name, inner)
            elif kind == "ItemGroup":
                self._items(child, name, inner)
            elif kind == "Import":
                self._import(child, key, name, inner, sdk=sdk)
            elif kind == "ImportGroup":
                self._children(child, key, name, inner, sdk=sdk)
            elif kind == "Choose":
                self._choose(child, key, name, conditions, sdk=sdk)
            # Target bodies run at execution time, after evaluation; ItemDefinitionGroup and the rest
            # are not modelled.

    def _choose(self, choose: etree._Element, key: str, name: str, conditions: tuple[str, ...], *,
                sdk: bool) -> None:
        previous: list[str] = []
        for branch in choose:
            if not isinstance(branch.tag, str):
                continue
            if localname(branch) == "When":
                own = branch.get("Condition") or ""
                negated = [f"!({c})" for c in previous]
                self._children(branch, key, name, (*conditions, *negated, own), sdk=sdk)
                previous.append(own)
            elif localname(branch) == "Otherwise":
                self._children(branch, key, name, (*conditions, *(f"!({c})" for c in previous)), sdk=sdk)

    def _properties(self, group: etree._Element, name: str, conditions: tuple[str, ...]) -> None:
        for prop in group:
            if isinstance(prop.tag, str):
                self.events.append(PropertySet(localname(prop), _text(prop),
                                               _with(conditions, prop.get("Condition")), _place(name, prop)))

    def _items(self, group: etree._Element, name: str, conditions: tuple[str, ...]) -> None:
        for item in group:
            if item.tag not in _ITEM_TAGS:
                continue
            for op in _OPS:
                spec = item.get(op)
                if spec is None or not self.may_name(spec):  # a cheap filter: a wanted name, wildcard or expansion
                    continue
                mode, mode_condition = _copy_metadata(item)
                self.events.append(ItemOp(localname(item), op, spec, item.get("Exclude") or "",
                                          mode, mode_condition, _with(conditions, item.get("Condition")),
                                          _place(name, item), item))

    def _import(self, element: etree._Element, key: str, name: str, conditions: tuple[str, ...], *,
                sdk: bool) -> None:
        project = element.get("Project") or ""
        lowered = project.strip().lower().replace("\\", "/")
        if element.get("Sdk"):
            if lowered.endswith("sdk.props"):
                self._props_layer(sdk=True)
            elif lowered.endswith("sdk.targets"):
                self._targets_layer(sdk=True)
            return
        if lowered.startswith(_TOOLSET_PREFIXES):
            if lowered.endswith("microsoft.common.props"):
                self._props_layer(sdk=sdk)  # old-style projects import Directory.Build.props through it
            elif lowered.endswith(_COMMON_TARGETS):
                self._targets_layer(sdk=sdk)
            return
        if (key, project) not in self.context.imports:
            self.events.append(UnreadImport(project, conditions, _place(name, element)))
            return
        source = self.context.imports[(key, project)]
        exists = _EXISTS.match(conditions[-1]) if conditions else None
        if exists is not None and exists.group(1).strip() == project.strip():
            conditions = conditions[:-1]  # Exists() of the very file the loader found (or did not find)
        if source is not None:
            self._file(source, conditions)


def _text(element: etree._Element) -> str:
    return "".join(str(t) for t in element.itertext())


def _with(conditions: tuple[str, ...], condition: str | None) -> tuple[str, ...]:
    return (*conditions, condition) if condition and condition.strip() else conditions


def _place(name: str, element: etree._Element) -> Place:
    line = element.sourceline
    return Place(name, line if isinstance(line, int) else None)


def _copy_metadata(item: etree._Element) -> tuple[str | None, str]:
    """The item's CopyToOutputDirectory (attribute or last child element) and that child's condition."""
    mode, condition = item.get("CopyToOutputDirectory"), ""
    for child in item:
        if isinstance(child.tag, str) and localname(child) == "CopyToOutputDirectory":
            mode, condition = _text(child), child.get("Condition") or ""
    return mode, condition


def collect_events(root: etree._Element, name: str, context: BuildContext, wanted: Collection[str]) -> list[Event]:
    """The project's events in MSBuild's evaluation order (see the module docstring).

    Args:
        root: the parsed project.
        name: the project's name in messages.
        context: the Directory.Build files and imports that were read.
        wanted: base names of the files of interest (items naming none of them are skipped, for speed).
    """
    walker = _Walker(context, wanted)
    walker.project(root, name)
    return walker.events
