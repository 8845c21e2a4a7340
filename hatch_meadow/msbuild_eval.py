"""What MSBuild would do with a few files of a project: one small model of evaluation. Pure.

Used by the csproj patch (``Update`` or ``Include``?), the hook and ``check`` (will the build copy the
file?). The model, in MSBuild's order (see :mod:`hatch_meadow.msbuild_events` for the file order):

1. **Properties**: every assignment in the nearest ``Directory.Build.props`` (and what it imports), the
   project body, the SDK's defaults (``EnableDefaultItems`` and ``EnableDefaultNoneItems`` become
   ``true`` if still empty), then the nearest ``Directory.Build.targets``. The last assignment wins.
   A value set from a property hatch-meadow does not know, under a condition it cannot evaluate, or
   possibly by an import it does not read is *unknown*, and that is reported with its file and line.
2. **Items**: the SDK's implicit ``None`` glob (``**/*`` in the project folder, skipping ``bin/``,
   ``obj/``, folders whose name starts with ``.`` and ``DefaultItemExcludes``; on only when both
   properties are ``true``), then each ``None``/``Content`` ``Include``/``Update``/``Remove`` in order.
   An item condition that cannot be evaluated is not guessed: every combination of such conditions is
   tried, and the verdict says which conditions it depends on.

Not modelled: global properties (``-p:``) and environment variables, ``ItemDefinitionGroup`` metadata,
items created by targets, and what SDK imports (``Sdk="…"``) do beyond the .NET SDK's default items.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Final, Literal

from lxml import etree

from hatch_meadow.msbuild_condition import Lookup, evaluate_all, evaluate_condition, expand
from hatch_meadow.msbuild_events import (
    BuildContext,
    Event,
    ItemOp,
    Marker,
    Place,
    PropertySet,
    UnreadImport,
    collect_events,
    is_sdk_style,
)

#: The properties that switch the SDK's implicit None items on (dotnet/sdk DefaultItems.props).
SWITCHES: Final = ("EnableDefaultItems", "EnableDefaultNoneItems")
#: Nothing in the SDK sets these before its .targets, so unset means empty (not unknown).
_EMPTY_UNLESS_SET: Final = frozenset(
    {"enabledefaultitems", "enabledefaultnoneitems", "defaultitemexcludes", "defaultexcludesinprojectfolder",
     "defaultitemexcludesinprojectfolder"})
COPY_MODES: Final = frozenset({"always", "preservenewest", "ifdifferent"})
#: At most this many undecidable conditions are combined per file (2**8 runs); more are assumed true.
MAX_UNKNOWN_CONDITIONS: Final = 8
_GLOB: Final = "the SDK's default items are on"

Presence = Literal["yes", "no", "maybe"]
_Stop = Callable[[Event], bool]
_Run = tuple[dict[str, bool], list["_Item"], str]


@dataclass(frozen=True, slots=True)
class Doubt:
    """Something the model cannot know, where it is, and what it is about."""

    place: Place
    text: str

    def __str__(self) -> str:
        return f"{self.place}: {self.text}"


@dataclass(frozen=True, slots=True)
class DefaultItems:
    """Whether the SDK's implicit None items exist: "on", "off", "unknown", or "none" (no SDK)."""

    state: Literal["on", "off", "unknown", "none"]
    reason: str
    doubts: tuple[Doubt, ...] = ()


@dataclass(frozen=True, slots=True)
class FileVerdict:
    """Whether the build copies one file to its output: "yes", "no" or "depends" (on ``conditions``)."""

    file: str
    copied: Literal["yes", "no", "depends"]
    mode: str | None
    detail: str
    conditions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {"file": self.file, "copied": self.copied, "mode": self.mode, "detail": self.detail,
                "conditions": list(self.conditions)}


@dataclass(frozen=True, slots=True)
class _Value:
    text: str | None  # None: unknown
    place: Place | None  # where it was last set; None for the SDK's default
    doubt: str | None = None


@dataclass(slots=True)
class _Item:
    kind: str
    mode: str | None
    origin: str


def normalise_path(path: str) -> str:
    """A path as MSBuild compares item specs: ``/``-separated, no ``./``, case-insensitive, %XX-unescaped."""
    text = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), path.strip()).replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return posixpath.normpath(text).lower() if text else text


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """An MSBuild wildcard (``**`` any folders, ``*`` and ``?`` within one name) as a regex."""
    out = []
    for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
        out.append({"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part)))
    return re.compile("".join(out))


def spec_matches(spec: str, file: str) -> bool:
    """Whether one expanded, ``;``-separated item spec names ``file`` (already normalised)."""
    for part in spec.split(";"):
        pattern = normalise_path(part)
        if pattern and (_glob_regex(pattern).fullmatch(file) if any(c in pattern for c in "*?") else pattern == file):
            return True
    return False


class Evaluation:
    """The model's view of one project (see the module docstring)."""

    def __init__(self, events: Sequence[Event], *, sdk_style: bool) -> None:
        self.events = tuple(events)
        self.sdk_style = sdk_style
        self.properties = _property_pass(self.events)
        self.default_items = _default_items(self.properties, sdk_style=sdk_style)

    def lookup(self, name: str) -> str | None:
        """A property's final value, or None if unknown."""
        value = self.properties.get(name.lower())
        if value is not None:
            return value.text
        return "" if name.lower() in _EMPTY_UNLESS_SET else None

    def glob_reason(self, file: str) -> tuple[bool | None, str]:
        """Whether the SDK's implicit None glob includes ``file`` (None: unknown), and why."""
        state = self.default_items
        if state.state in ("off", "none"):
            return False, state.reason
        wanted = normalise_path(file)
        parts = wanted.split("/")
        if parts[0] == ".." or posixpath.isabs(wanted):
            return False, "outside the project folder, which the SDK's default items do not cover"
        if parts[0] in ("bin", "obj") or any(p.startswith(".") for p in parts[:-1]):
            return False, f"in {'/'.join(parts[:-1])}/, which the SDK's default items skip"
        for name in ("DefaultItemExcludes", "DefaultExcludesInProjectFolder", "DefaultItemExcludesInProjectFolder"):
            excludes = self.lookup(name)
            if excludes and spec_matches(excludes, wanted):
                place = self.properties[name.lower()].place
                return False, f"excluded by {name} ({place})"
        if state.state == "unknown":
            return None, state.reason
        return True, "the SDK's default items include it"

    def presence(self, file: str, *, before: etree._Element | None = None,
                 ignore: Collection[etree._Element] = ()) -> Presence:
        """Whether a None item for ``file`` exists at the end of the project (or just before ``before``).

        Items inside the ``ignore`` groups are skipped (the patch asks this about the project without
        its own group). With ``before``, the item type asked about is that element's.
        """
        kind = "None" if before is None else etree.QName(before).localname
        def stop(event: Event) -> bool:
            if before is not None:
                return isinstance(event, ItemOp) and event.element is before
            return isinstance(event, Marker) and event.step == "end-of-project"

        runs = [any(i.kind == kind for i in items) for _, items, _ in self._runs(file, stop, ignore)]
        return "yes" if all(runs) else "no" if not any(runs) else "maybe"

    def verdict(self, file: str) -> FileVerdict:
        """Whether the build copies ``file`` to its output, and why."""
        runs = list(self._runs(file, lambda e: False, ()))
        copying = [[i for i in items if (i.mode or "").strip().lower() in COPY_MODES] for _, items, _ in runs]
        if all(copying):
            first = copying[0][0]
            return FileVerdict(file, "yes", (first.mode or "").strip(), f"copied ({(first.mode or '').strip()}) "
                               f"by {first.origin}")
        if not any(copying):
            return FileVerdict(file, "no", None, _why_not(runs[0][1], runs[0][2], self.glob_reason(file)[1]))
        label = f"{_GLOB} ({'; '.join(str(d) for d in self.default_items.doubts)})"
        names = [label if name == _GLOB else name for name in runs[0][0]]
        return FileVerdict(file, "depends", None, _depends(runs, copying, label), tuple(names))

    def _runs(self, file: str, stop: _Stop, ignore: Collection[etree._Element]) -> Iterator[_Run]:
        """Simulate the item pass for every combination of the conditions that cannot be evaluated."""
        wanted = normalise_path(file)
        ops, unknown = self._relevant_ops(wanted, stop, ignore)
        glob, _ = self.glob_reason(file)
        if glob is None:
            unknown.insert(0, _GLOB)
        chosen = unknown[:MAX_UNKNOWN_CONDITIONS]
        for values in product((True, False), repeat=len(chosen)):
            assumed = dict(zip(chosen, values, strict=True))
            yield (assumed, *self._simulate(ops, wanted, glob=glob, assumed=assumed))

    def _relevant_ops(self, wanted: str, stop: _Stop, ignore: Collection[etree._Element]
                      ) -> tuple[list[ItemOp | Marker], list[str]]:
        ops: list[ItemOp | Marker] = []
        unknown: list[str] = []
        for event in self.events:
            if stop(event):
                break
            if isinstance(event, Marker) and event.step == "default-items":
                ops.append(event)
            elif isinstance(event, ItemOp) and event.element.getparent() not in ignore:
                spec = expand(event.spec, self.lookup)
                if spec is None or not spec_matches(spec, wanted):
                    continue  # a spec built from unknown properties is taken to name other files
                ops.append(event)
                for condition in (*event.conditions, event.mode_condition):
                    if condition and evaluate_condition(condition, self.lookup) is None and condition not in unknown:
                        unknown.append(condition)
        return ops, unknown

    def _holds(self, conditions: Sequence[str], assumed: Mapping[str, bool]) -> bool:
        """All conditions hold: evaluated where possible, otherwise as assumed in this run."""
        for condition in conditions:
            value = evaluate_condition(condition, self.lookup)
            if value is False or (value is None and not assumed.get(condition, True)):
                return False
        return True

    def _simulate(self, ops: Sequence[ItemOp | Marker], wanted: str, *, glob: bool | None,
                  assumed: Mapping[str, bool]) -> tuple[list[_Item], str]:
        """The items for one file after ``ops``, and the last Remove that took some away."""
        items: list[_Item] = []
        removed_by = ""
        for op in ops:
            if isinstance(op, Marker):
                if glob or (glob is None and assumed[_GLOB]):
                    items.append(_Item("None", None, "the SDK's default items"))
                continue
            if not self._holds(op.conditions, assumed):
                continue
            mode = op.mode if op.mode is not None and self._holds([op.mode_condition], assumed) else None
            mode = None if mode is None else (expand(mode, self.lookup) or mode)
            if op.op == "Include":
                exclude = expand(op.exclude, self.lookup) if op.exclude else None
                if not (exclude and spec_matches(exclude, wanted)):
                    items.append(_Item(op.kind, mode, f'<{op.kind} Include="{op.spec}"> at {op.place}'))
            elif op.op == "Update":
                for item in items:
                    if item.kind == op.kind and mode is not None:
                        item.mode, item.origin = mode, f'<{op.kind} Update="{op.spec}"> at {op.place}'
            elif any(i.kind == op.kind for i in items):
                items = [i for i in items if i.kind != op.kind]
                removed_by = f'<{op.kind} Remove="{op.spec}"> at {op.place}'
        return items, removed_by


def _why_not(items: Sequence[_Item], removed_by: str, glob_reason: str) -> str:
    if items:
        item = items[0]
        return f"not copied: its <{item.kind}> item ({item.origin}) has CopyToOutputDirectory " \
               f"{(item.mode or '').strip() or 'unset'}"
    if removed_by:
        return f"not copied: removed by {removed_by}"
    return f"not copied: no item includes it ({glob_reason})"


def _depends(runs: Sequence[_Run], copying: Sequence[list[_Item]], glob_label: str) -> str:
    names = list(runs[0][0])
    for name in names:
        label = glob_label if name == _GLOB else name
        if all(bool(c) == run[0][name] for run, c in zip(runs, copying, strict=True)):
            return f"copied only when {label}"
        if all(bool(c) != run[0][name] for run, c in zip(runs, copying, strict=True)):
            return f"copied unless {label}"
    return "copied under some conditions only: " + "; ".join(glob_label if n == _GLOB else n for n in names)


def _property_pass(events: Sequence[Event]) -> dict[str, _Value]:
    """Every property's final value (lower-cased names), last assignment winning."""
    values: dict[str, _Value] = {}
    unread: list[Place] = []

    def lookup(name: str) -> str | None:
        value = values.get(name.lower())
        if value is not None:
            return value.text
        return "" if name.lower() in _EMPTY_UNLESS_SET and not unread else None

    for event in events:
        if isinstance(event, PropertySet):
            _assign(values, event, lookup)
        elif isinstance(event, UnreadImport) and evaluate_all(event.conditions, lookup) is not False:
            unread.append(event.place)
            doubt = f"it imports {event.project}, which hatch-meadow does not read (it may set {' or '.join(SWITCHES)})"
            for name in SWITCHES:
                values[name.lower()] = _Value(None, event.place, doubt)
        elif isinstance(event, Marker) and event.step == "sdk-defaults":
            for name in SWITCHES:
                current = values.get(name.lower())
                if (current is None and not unread) or (current is not None and current.text == ""):
                    values[name.lower()] = _Value("true", None)
    return values


def _assign(values: dict[str, _Value], event: PropertySet, lookup: Lookup) -> None:
    key = event.name.lower()
    condition = evaluate_all(event.conditions, lookup)
    if condition is False:
        return
    new = expand(event.value.strip(), lookup)
    old = values.get(key)
    if condition is None:
        if new is not None and old is not None and old.text is not None and new.lower() == old.text.lower():
            return  # either way the value stays the same
        values[key] = _Value(None, event.place, f"{event.name} is set only when {' and '.join(event.conditions)}")
    elif new is None:
        values[key] = _Value(None, event.place, f"{event.name} is set from {event.value.strip()!r}, which "
                             "hatch-meadow cannot evaluate")
    else:
        values[key] = _Value(new, event.place)


def _default_items(properties: Mapping[str, _Value], *, sdk_style: bool) -> DefaultItems:
    if not sdk_style:
        return DefaultItems("none", "a project without an SDK has no default items")
    doubts = []
    for name in SWITCHES:
        value = properties.get(name.lower(), _Value("true", None))
        if value.text is not None and value.text.strip().lower() != "true":
            where = value.place.file if value.place else "the SDK"
            line = f"line {value.place.line}: " if value.place and value.place.line else ""
            return DefaultItems("off", f"default items are off in {where} ({line}{name} = {value.text.strip()!r})")
        doubt = Doubt(value.place, value.doubt or f"{name} cannot be known") if value.place else None
        if value.text is None and doubt is not None and doubt not in doubts:
            doubts.append(doubt)
    if doubts:
        return DefaultItems("unknown", f"default items may be off ({doubts[0]})", tuple(doubts))
    return DefaultItems("on", "the SDK's default items include every file in the project folder")


def evaluate_project(root: etree._Element, name: str, files: Collection[str],
                     context: BuildContext | None = None) -> Evaluation:
    """Evaluate ``root`` (the parsed project called ``name``) for the files of interest.

    Args:
        root: the project's root element.
        name: the project's name in messages.
        files: project-relative paths of the files the caller will ask about.
        context: the Directory.Build files and imports read around the project (default: none).
    """
    wanted = {posixpath.basename(normalise_path(f)) for f in files}
    events = collect_events(root, name, context or BuildContext(), wanted)
    return Evaluation(events, sdk_style=is_sdk_style(root))
