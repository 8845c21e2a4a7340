"""``plan_patch`` and ``plan_clean``: pure, bytes in, a :class:`PatchResult` out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from lxml import etree

from hatch_meadow.csproj.document import (
    _Document,
    _index_items,
    _ItemIndex,
    _line,
    _localname,
    _managed_groups,
    _matches,
    _normalise_path,
    _remove_element_lines,
    parse_project,
)
from hatch_meadow.csproj.items import _ensure_group, _existing_entries, _fix_item
from hatch_meadow.csproj.result import ItemChange, PatchResult
from hatch_meadow.errors import ProjectFileError
from hatch_meadow.msbuild_eval import Evaluation, FileVerdict, evaluate_project
from hatch_meadow.msbuild_events import BuildContext
from hatch_meadow.names import ITEM_GROUP_LABEL
from hatch_meadow.xmltext import (
    encode_text,
)


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
    evaluation = evaluate_project(doc.root, name, files, context)
    plan = _Plan()
    for file in files:
        _plan_file(plan, doc, index, evaluation, file, mode=mode, condition=condition, name=name)
    changes, warnings, removed, wanted_new, conditioned = (plan.changes, plan.warnings, plan.removed,
                                                           plan.wanted_new, plan.conditioned)

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


@dataclass
class _Plan:
    """What ``plan_patch`` has decided so far, file by file."""

    changes: list[ItemChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # Remove clauses that take a file out of the build
    wanted_new: list[str] = field(default_factory=list)  # files that need an item in the managed group
    fixed: dict[etree._Element, ItemChange] = field(default_factory=dict)
    conditioned: set[str] = field(default_factory=set)


def _plan_file(plan: _Plan, doc: _Document, index: _ItemIndex, evaluation: Evaluation, file: str, *,
               mode: str, condition: str | None, name: str) -> None:
    """Decide for one file: fix the items that name it, or note that it needs a new one (or is removed)."""
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
            plan.warnings.append(_void_update_warning(evaluation, item, attr, file, name))
    if removers and not any(attr == "Include" for item, attr in candidates):
        for item in removers:
            clause = f'<{_localname(item)} Remove="{item.get("Remove")}"> at line {_line(item)}'
            if clause not in plan.removed:
                plan.removed.append(clause)
        return
    if not exact:
        plan.wanted_new.append(file)
        return
    for item in exact:
        if item in plan.fixed:  # one item naming several files: fix it once
            plan.changes.append(replace(plan.fixed[item], file=file))
            continue
        plan.fixed[item] = _fix_item(doc, item, file, mode)
        plan.changes.append(plan.fixed[item])
        found = _condition_warnings(item, file, condition, name)
        plan.warnings.extend(found)
        if found:
            plan.conditioned.add(file)


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
