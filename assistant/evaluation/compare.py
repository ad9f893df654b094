"""Comparing two evaluations of a gold set: how each figure moved, and which items got better or worse.

Both runs are ``evaluation_report`` objects: the ``results.json`` that ``tip-assistant eval --report`` and the web
UI's Evaluate tab write, or the object ``eval --json`` prints. ``compare_runs`` is a pure function of the two;
``load_results`` reads one from a file, and ``format_comparison`` renders a comparison for the terminal.

Figures are compared group by group (the whole set, each question type, each kind) as they are stored, so a
figure's change is exactly the difference of the two reports' numbers. A change is "better" when the figure
moved the right way: up for every share but the false refusal rate, down for it and for the latencies.

Items are matched by ``id``. An item is better when a check it failed now passes and none it passed now fails,
worse in the opposite case, mixed when both happened; "changed" when its checks are as before but its failure
reason or its refusal is not (e.g. retrieval now misses another string). The checks are the ``per_item`` flags
(retrieval hit, gold source hit, answer correct, citation hit, citation page hit, refusal right) and "no
failure", which also catches answer sentences the support checker stopped (or started) backing. A check that
does not apply to the item in either run (``None``) is not compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.errors import TipError
from assistant.evaluation.gold_set import FIGURE_KEYS, QUESTION_TYPES
from assistant.evaluation.report import format_value, label, text_table

# Figures for which a fall is an improvement.
LOWER_IS_BETTER = frozenset({"false_refusal_rate", "latency_p50_ms", "latency_p95_ms"})

# The checks of one item, as named in ``per_item`` (True: passed; None: does not apply), and "passed", derived
# from ``failure`` being null.
ITEM_CHECKS = (
    "retrieval_hit",
    "source_hit",
    "answer_correct",
    "citation_hit",
    "citation_page_hit",
    "refusal_correct",
    "passed",
)
ITEM_CHECK_LABELS = {
    "retrieval_hit": "retrieval hit",
    "source_hit": "gold source hit",
    "answer_correct": "answer correct",
    "citation_hit": "citation hit",
    "citation_page_hit": "citation page hit",
    "refusal_correct": "refusal right",
    "passed": "no failure",
}

FigureVerdict = Literal["better", "worse", "same", "n/a"]
ItemVerdict = Literal["better", "worse", "mixed", "changed", "unchanged", "new", "dropped"]
# In the order a comparison lists them.
ITEM_VERDICTS: tuple[ItemVerdict, ...] = ("better", "worse", "mixed", "changed", "unchanged", "new", "dropped")


class ResultsFileError(TipError, ValueError):
    """A file given as an evaluation is not one; the message names the file and what is wrong with it."""


def load_results(path: Path) -> dict:
    """The evaluation stored in ``path`` (a ``results.json``, or the output of ``eval --json``).

    Raises ``ResultsFileError`` naming the file when it cannot be read, is not JSON, or is not an evaluation:
    a JSON object with a ``per_item`` list of objects, each with a string ``id``, no id repeated."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ResultsFileError(f"{path}: not a UTF-8 text file (expected the results.json of an evaluation)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    items = data.get("per_item") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ResultsFileError(
            f"{path}: not the results of an evaluation (no 'per_item' list): give the results.json that "
            "`tip-assistant eval --report DIR` or the Evaluate tab writes"
        )
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ResultsFileError(f"{path}: item {n} of 'per_item' has no string 'id'")
        if item["id"] in seen:
            raise ResultsFileError(f"{path}: item id {item['id']!r} repeats in 'per_item'")
        seen.add(item["id"])
    return data


# ----- the comparison ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FigureChange:
    """One figure of one group in both runs (``None``: n/a in that run, or the group is absent from it)."""

    key: str  # one of FIGURE_KEYS
    before: float | int | None
    after: float | int | None

    @property
    def delta(self) -> float | None:
        """``after - before``, rounded as the reports round the figure; ``None`` when either is n/a."""
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 1 if self.key.endswith("_ms") else 4)

    @property
    def verdict(self) -> FigureVerdict:
        delta = self.delta
        if delta is None:
            return "n/a"
        if delta == 0:
            return "same"
        return "better" if (delta > 0) != (self.key in LOWER_IS_BETTER) else "worse"


@dataclass(frozen=True)
class GroupChange:
    """The figures of one group of items (``"overall"``, a question type or a kind) in both runs."""

    name: str
    items_before: int  # 0 when the group is absent from that run
    items_after: int
    figures: tuple[FigureChange, ...]  # in FIGURE_KEYS order

    def figure(self, key: str) -> FigureChange:
        return next(f for f in self.figures if f.key == key)


@dataclass(frozen=True)
class ItemChange:
    """One gold item in both runs. ``gained``/``lost``: the ``ITEM_CHECKS`` it failed before and passes now,
    and the reverse. For a new item the ``*_before`` fields are ``None``; for a dropped one the ``*_after``."""

    id: str
    type: str
    kind: str | None
    question: str  # as in the newer run (the older one's for a dropped item)
    verdict: ItemVerdict
    gained: tuple[str, ...]
    lost: tuple[str, ...]
    refused_before: bool | None
    refused_after: bool | None
    failure_before: str | None
    failure_after: str | None


@dataclass(frozen=True)
class RunComparison:
    """What ``compare_runs`` finds. ``items`` holds every item: the newer run's in its order, then the items
    only the older run has, in its order."""

    before: Mapping  # the older run's facts: gold, k, documents, items
    after: Mapping
    overall: GroupChange
    by_type: tuple[GroupChange, ...]  # every type with items in either run, in QUESTION_TYPES order
    by_kind: tuple[GroupChange, ...]  # the newer run's kinds in order, then kinds only the older run has
    items: tuple[ItemChange, ...]
    notes: tuple[str, ...]  # what makes the runs less comparable: another gold file, k, library

    def with_verdict(self, verdict: ItemVerdict) -> list[ItemChange]:
        return [i for i in self.items if i.verdict == verdict]

    def counts(self) -> dict[str, int]:
        """How many items have each verdict, every verdict of ``ITEM_VERDICTS`` in that order."""
        return {v: len(self.with_verdict(v)) for v in ITEM_VERDICTS}

    def to_dict(self) -> dict:
        """JSON-ready: ``before``/``after`` (gold, k, documents, items), ``notes``, ``counts``, ``figures``
        (``overall``, ``by_type``, ``by_kind``: per group ``items`` as ``[before, after]`` and per figure
        ``before``, ``after``, ``delta``, ``verdict``) and ``items``: every item whose verdict is not
        "unchanged", with its ``verdict``, ``gained``, ``lost``, refusals and failures."""
        return {
            "before": dict(self.before),
            "after": dict(self.after),
            "notes": list(self.notes),
            "counts": self.counts(),
            "figures": {
                "overall": _group_dict(self.overall),
                "by_type": {g.name: _group_dict(g) for g in self.by_type},
                "by_kind": {g.name: _group_dict(g) for g in self.by_kind},
            },
            "items": [
                {
                    "id": i.id,
                    "type": i.type,
                    "kind": i.kind,
                    "verdict": i.verdict,
                    "gained": list(i.gained),
                    "lost": list(i.lost),
                    "refused_before": i.refused_before,
                    "refused_after": i.refused_after,
                    "failure_before": i.failure_before,
                    "failure_after": i.failure_after,
                }
                for i in self.items
                if i.verdict != "unchanged"
            ],
        }


def _group_dict(group: GroupChange) -> dict:
    return {
        "items": [group.items_before, group.items_after],
        **{
            f.key: {"before": f.before, "after": f.after, "delta": f.delta, "verdict": f.verdict} for f in group.figures
        },
    }


def compare_runs(before: Mapping, after: Mapping) -> RunComparison:
    """How the evaluation ``after`` differs from ``before`` (two ``evaluation_report`` objects, as
    ``load_results`` returns them): figures overall, by type and by kind, and every item by id. Pure: reads
    only the two mappings; keys a run lacks (e.g. ``by_kind``) count as absent, not as errors."""
    before_types, after_types = before.get("by_type") or {}, after.get("by_type") or {}
    before_kinds, after_kinds = before.get("by_kind") or {}, after.get("by_kind") or {}
    types = [t for t in QUESTION_TYPES if _items(before_types.get(t)) or _items(after_types.get(t))]
    kinds = list(dict.fromkeys([*after_kinds, *before_kinds]))
    return RunComparison(
        before=_facts(before),
        after=_facts(after),
        overall=_group("overall", before, after),
        by_type=tuple(_group(t, before_types.get(t), after_types.get(t)) for t in types),
        by_kind=tuple(_group(k, before_kinds.get(k), after_kinds.get(k)) for k in kinds),
        items=tuple(_item_changes(before.get("per_item") or [], after.get("per_item") or [])),
        notes=tuple(_notes(before, after)),
    )


def _facts(data: Mapping) -> dict:
    return {key: data.get(key) for key in ("gold", "k", "documents", "items")}


def _items(figures: Mapping | None) -> int:
    return int((figures or {}).get("items") or 0)


def _group(name: str, before: Mapping | None, after: Mapping | None) -> GroupChange:
    before, after = before or {}, after or {}
    figures = tuple(FigureChange(key, before.get(key), after.get(key)) for key in FIGURE_KEYS)
    return GroupChange(name, _items(before), _items(after), figures)


def _item_changes(before: Sequence[Mapping], after: Sequence[Mapping]) -> list[ItemChange]:
    old = {i["id"]: i for i in before}
    new_ids = {i["id"] for i in after}
    changes = [_item_change(old.get(i["id"]), i) for i in after]
    return changes + [_item_change(i, None) for i in before if i["id"] not in new_ids]


def _checks(record: Mapping) -> dict[str, bool | None]:
    return {**{key: record.get(key) for key in ITEM_CHECKS[:-1]}, "passed": not record.get("failure")}


def _item_change(before: Mapping | None, after: Mapping | None) -> ItemChange:
    shown = after if after is not None else before
    assert shown is not None
    gained: list[str] = []
    lost: list[str] = []
    if before is None:
        verdict: ItemVerdict = "new"
    elif after is None:
        verdict = "dropped"
    else:
        old, new = _checks(before), _checks(after)
        for key in ITEM_CHECKS:
            if old[key] is None or new[key] is None or bool(old[key]) == bool(new[key]):
                continue
            (gained if new[key] else lost).append(key)
        if gained and lost:
            verdict = "mixed"
        elif gained or lost:
            verdict = "better" if gained else "worse"
        elif before.get("failure") != after.get("failure") or before.get("refused") != after.get("refused"):
            verdict = "changed"
        else:
            verdict = "unchanged"
    return ItemChange(
        id=shown["id"],
        type=str(shown.get("type") or ""),
        kind=shown.get("kind"),
        question=str(shown.get("question") or ""),
        verdict=verdict,
        gained=tuple(gained),
        lost=tuple(lost),
        refused_before=None if before is None else before.get("refused"),
        refused_after=None if after is None else after.get("refused"),
        failure_before=None if before is None else before.get("failure"),
        failure_after=None if after is None else after.get("failure"),
    )


def _notes(before: Mapping, after: Mapping) -> list[str]:
    notes = []
    if before.get("gold") != after.get("gold"):
        notes.append(f"the runs are of different gold files: {before.get('gold')} before, {after.get('gold')} now")
    if before.get("k") != after.get("k"):
        notes.append(f"k differs ({before.get('k')} before, {after.get('k')} now): the @k figures measure "
                     "different cut-offs")  # fmt: skip
    documents = before.get("documents"), after.get("documents")
    if None not in documents and documents[0] != documents[1]:
        notes.append(f"the library held {documents[0]} documents before, {documents[1]} now")
    old = {i["id"]: i.get("question") for i in before.get("per_item") or []}
    reworded = [i["id"] for i in after.get("per_item") or [] if i["id"] in old and old[i["id"]] != i.get("question")]
    if reworded:
        notes.append(f"{len(reworded)} item(s) kept their id but ask another question: {', '.join(reworded)}")
    return notes


# ----- for the terminal ----------------------------------------------------------------------------------
def format_delta(key: str, delta: float | None) -> str:
    """A signed change as the figures are shown ("+0.05", "-120" ms); finer than 0.01 shown to 4 places."""
    if delta is None:
        return "n/a"
    if delta == 0:
        return "0"
    if key.endswith("_ms") or isinstance(delta, int):
        return f"{delta:+.0f}"
    return f"{delta:+.2f}" if abs(delta) >= 0.005 else f"{delta:+.4f}"


def item_summary(comparison: RunComparison) -> str:
    """``"2 better, 1 worse, 0 mixed, 1 changed, 26 unchanged, 0 new, 0 dropped"``."""
    return ", ".join(f"{n} {verdict}" for verdict, n in comparison.counts().items())


def describe_item(change: ItemChange) -> str:
    """One line on what moved: the checks gained and lost, the refusal, the failure before and now."""
    parts = []
    if change.gained:
        parts.append("now passes " + ", ".join(ITEM_CHECK_LABELS[c] for c in change.gained))
    if change.lost:
        parts.append("now fails " + ", ".join(ITEM_CHECK_LABELS[c] for c in change.lost))
    if None not in (change.refused_before, change.refused_after) and change.refused_before != change.refused_after:
        parts.append("now refused" if change.refused_after else "no longer refused")
    if change.verdict != "new":
        parts.append(f"before: {change.failure_before or 'no failure'}")
    if change.verdict != "dropped":
        parts.append(f"now: {change.failure_after or 'no failure'}")
    return "; ".join(parts)


def format_comparison(comparison: RunComparison, name: str = "the previous run") -> str:
    """The comparison as plain text: notes, the overall figures before and now with their change, the changes
    by type (and by kind when either run has kinds), then one line per item that is not unchanged."""
    before = comparison.before
    lines = [f"Compared with {name} (gold {before.get('gold') or '?'}, k = {before.get('k')}, "
             f"{before.get('items')} items):"]  # fmt: skip
    lines += [f"note: {note}" for note in comparison.notes]
    k = comparison.after.get("k")
    rows = [
        [label(f.key, k), format_value(f.key, f.before), format_value(f.key, f.after), format_delta(f.key, f.delta),
         f.verdict if f.verdict in ("better", "worse") else ""]
        for f in comparison.overall.figures
    ]  # fmt: skip
    group = comparison.overall
    rows.insert(0, ["items", str(group.items_before), str(group.items_after),
                    format_delta("items", group.items_after - group.items_before), ""])  # fmt: skip
    lines += ["", *text_table(["figure", "before", "now", "change", ""], rows)]
    for title, groups in (("change by type", comparison.by_type), ("change by kind", comparison.by_kind)):
        if groups:
            lines += ["", *text_table(*delta_rows(title, groups, k))]
    lines += ["", f"items: {item_summary(comparison)}"]
    for verdict in ITEM_VERDICTS:
        changed = comparison.with_verdict(verdict)
        if verdict == "unchanged" or not changed:
            continue
        width = max(len(i.id) for i in changed)
        lines += [f"{verdict}:"] + [f"  {i.id:<{width}}  {i.type:<12}  {describe_item(i)}" for i in changed]
    return "\n".join(lines)


def delta_rows(title: str, groups: Sequence[GroupChange], k: int | None) -> tuple[list[str], list[list[str]]]:
    """A table of changes: a header (``title``, each group) and one row per figure of signed changes."""
    header = [title, *(g.name for g in groups)]
    counts = [str(g.items_after) if g.items_before == g.items_after else f"{g.items_before}->{g.items_after}"
              for g in groups]  # fmt: skip
    rows = [[label(key, k), *(format_delta(key, g.figure(key).delta) for g in groups)] for key in FIGURE_KEYS]
    return header, [["items", *counts], *rows]
