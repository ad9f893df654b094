"""Scoring answers against a gold question set (format: ``shared/eval/README.md``).

The same chain the UI uses answers every item, history included, so the figures describe what users get.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.answer import Answer
from assistant.service import Assistant

QUESTION_TYPES = ("factoid", "list", "followup", "multi", "unanswerable")


class GoldFileError(ValueError):
    """A gold file line is malformed; the message names the file, the line and the field."""


@dataclass(frozen=True)
class GoldItem:
    id: str
    type: str
    question: str
    history: tuple[dict, ...]
    must_contain: tuple[str, ...]
    sources: tuple[str, ...]  # empty for unanswerable
    pages: tuple[tuple[int, ...] | None, ...]  # parallel to sources; None where the file has no pages

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


@dataclass(frozen=True)
class ItemResult:
    item: GoldItem
    answer: Answer
    latency_ms: float

    @property
    def answer_correct(self) -> bool:
        text = normalise(self.answer.text)
        return not self.answer.refused and all(normalise(s) in text for s in self.item.must_contain)

    @property
    def cited_sources(self) -> set[str]:
        return {c.source for c in self.answer.citations}

    @property
    def source_cited(self) -> bool:
        """Every gold source is among the cited documents."""
        return bool(self.item.sources) and set(self.item.sources) <= self.cited_sources

    @property
    def page_cited(self) -> bool:
        """For each gold source with pages, a citation of that source is on one of the gold pages."""
        if not self.source_cited:
            return False
        for source, pages in zip(self.item.sources, self.item.pages, strict=True):
            if pages is not None and not any(c.source == source and c.page in pages for c in self.answer.citations):
                return False
        return True


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def load_gold(path: Path) -> list[GoldItem]:
    items = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldFileError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        items.append(_gold_item(raw, f"{path}:{lineno}"))
    return items


def _gold_item(raw: dict, where: str) -> GoldItem:
    def need(field: str, kind: type | tuple[type, ...]):
        if field not in raw or not isinstance(raw[field], kind):
            raise GoldFileError(f"{where}: field {field!r} is missing or not a {kind}")
        return raw[field]

    qtype = need("type", str)
    if qtype not in QUESTION_TYPES:
        raise GoldFileError(f"{where}: field 'type' must be one of {', '.join(QUESTION_TYPES)}")
    source = raw.get("source")
    sources = tuple(source) if isinstance(source, list) else ((source,) if source else ())
    pages = raw.get("pages")
    if len(sources) > 1:
        page_lists = tuple(_page_tuple(p) for p in (pages or [None] * len(sources)))
    else:
        page_lists = (_page_tuple(pages),) if sources else ()
    if len(page_lists) != len(sources):
        raise GoldFileError(f"{where}: field 'pages' must run parallel to 'source'")
    return GoldItem(
        id=need("id", str),
        type=qtype,
        question=need("question", str),
        history=tuple(raw.get("history") or ()),
        must_contain=tuple(raw.get("must_contain") or ()),
        sources=sources,
        pages=page_lists,
    )


def _page_tuple(pages) -> tuple[int, ...] | None:
    if pages is None:
        return None
    return tuple(pages) if isinstance(pages, list) else (int(pages),)


def run_items(assistant: Assistant, items: Sequence[GoldItem]) -> list[ItemResult]:
    results = []
    for item in items:
        started = time.perf_counter()
        answer = assistant.ask(item.question, item.history)
        results.append(ItemResult(item, answer, (time.perf_counter() - started) * 1000.0))
    return results


def summarize(results: Sequence[ItemResult]) -> dict[str, float | int]:
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    latencies = sorted(r.latency_ms for r in results)

    def share(flags: list[bool]) -> float:
        return sum(flags) / len(flags) if flags else 0.0

    return {
        "items": len(results),
        "answer_correct": share([r.answer_correct for r in answerable]),
        "citation_hit": share([r.source_cited for r in answerable]),
        "citation_page_hit": share([r.page_cited for r in answerable]),
        "false_refusal_rate": share([r.answer.refused for r in answerable]),
        "unanswerable_refused": sum(r.answer.refused for r in unanswerable),
        "unanswerable": len(unanswerable),
        "latency_p50_ms": statistics.median(latencies) if latencies else 0.0,
        "latency_p95_ms": percentile(latencies, 95),
    }


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return float(sorted_values[int(rank) - 1])
