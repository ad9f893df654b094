"""Scoring answers against a gold question set (format: ``shared/eval/README.md``).

The same chain the UI uses answers every item, history included, so the figures describe what users get.
Everything after ``run_items`` is a pure function of the ``ItemResult``s; ``assistant.evaluation.report`` renders it.

Figures (every share is over the items where it applies; ``None`` where no item does):
- retrieval hit@k: every ``must_contain`` string is in one of the top-k retrieved passages (answerable items);
- source hit@k: every gold source is among the documents of the top-k passages (answerable items);
- MRR: mean of 1/rank of the first top-k passage from a gold source, 0 when there is none (answerable items);
- answer correct: not refused, and every ``must_contain`` string is in the answer text (answerable items);
- citation hit: every gold source is cited; citation page hit: and, for sources with pages, a citation of that
  source is on a gold page (a source without pages, such as a .txt file, counts once it is cited);
- refusal recall: share of unanswerable items refused;
- refusal precision: share of refusals that were on unanswerable items; ``None`` when nothing was refused.
  Only reported overall: inside one question type it is trivially 0 or 1;
- false refusal rate: share of answerable items refused;
- latency p50/p95: nearest-rank percentiles of the wall time of ``Assistant.ask`` per item, in ms.

The same figures are given per question type and, when the gold file tags items with a ``kind`` (finer than the
type, e.g. ``near-miss-year`` or ``typo``), per kind; items without a kind are left out of the per-kind figures.

Strings are compared case-insensitively with whitespace collapsed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from assistant.errors import TipError
from assistant.settings import Settings
from assistant.types import Answer, AnswerSentence, Progress, RetrievedPassage, SupportLabel

QUESTION_TYPES = ("factoid", "list", "followup", "multi", "unanswerable")

# The figures of a summary, in the order they are printed and stored (the same for overall and per type).
FIGURE_KEYS = (
    "retrieval_hit_at_k",
    "source_hit_at_k",
    "mrr",
    "answer_correct",
    "citation_hit",
    "citation_page_hit",
    "sentences_supported",
    "refusal_recall",
    "refusal_precision",
    "false_refusal_rate",
    "latency_p50_ms",
    "latency_p95_ms",
)


class GoldFileError(TipError, ValueError):
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
    kind: str | None = None  # finer than the type (e.g. "near-miss-year"); None when the line has no kind

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


@dataclass(frozen=True)
class ItemResult:
    """One gold item, the answer the assistant gave, and what it cost. ``k`` is the cut-off for retrieval."""

    item: GoldItem
    answer: Answer
    latency_ms: float
    k: int

    @property
    def top_k(self) -> tuple[RetrievedPassage, ...]:
        return self.answer.retrieved[: self.k]

    # ----- retrieval (answerable items) ----------------------------------------------------------------
    @property
    def missing_from_retrieval(self) -> tuple[str, ...]:
        """``must_contain`` strings found in none of the top-k passages."""
        passages = [normalise(p.quote) for p in self.top_k]
        return tuple(s for s in self.item.must_contain if not any(normalise(s) in p for p in passages))

    @property
    def retrieval_hit(self) -> bool | None:
        if not self.item.answerable:
            return None
        return not self.missing_from_retrieval

    @property
    def source_hit(self) -> bool | None:
        if not self.item.answerable:
            return None
        return set(self.item.sources) <= {p.source for p in self.top_k}

    @property
    def reciprocal_rank(self) -> float | None:
        if not self.item.answerable:
            return None
        gold = set(self.item.sources)
        return next((1.0 / rank for rank, p in enumerate(self.top_k, start=1) if p.source in gold), 0.0)

    # ----- the answer (answerable items) ---------------------------------------------------------------
    @property
    def missing_from_answer(self) -> tuple[str, ...]:
        text = normalise(self.answer.text)
        return tuple(s for s in self.item.must_contain if normalise(s) not in text)

    @property
    def answer_correct(self) -> bool | None:
        if not self.item.answerable:
            return None
        return not self.answer.refused and not self.missing_from_answer

    @property
    def cited_sources(self) -> set[str]:
        return {c.source for c in self.answer.citations}

    @property
    def cited_pages(self) -> dict[str, list[int]]:
        """Cited pages by source, both sorted, so that reports diff cleanly."""
        pages: dict[str, set[int]] = {}
        for c in self.answer.citations:
            pages.setdefault(c.source, set()).add(c.page)
        return {source: sorted(pages[source]) for source in sorted(pages)}

    @property
    def source_cited(self) -> bool:
        """Every gold source is among the cited documents."""
        return bool(self.item.sources) and set(self.item.sources) <= self.cited_sources

    @property
    def page_cited(self) -> bool:
        """For each gold source with pages, a citation of that source is on one of the gold pages."""
        if not self.source_cited:
            return False
        return not self._wrong_page_sources

    @property
    def _wrong_page_sources(self) -> list[str]:
        return [
            source
            for source, pages in zip(self.item.sources, self.item.pages, strict=True)
            if pages is not None and not any(c.source == source and c.page in pages for c in self.answer.citations)
        ]

    @property
    def citation_hit(self) -> bool | None:
        return self.source_cited if self.item.answerable else None

    @property
    def citation_page_hit(self) -> bool | None:
        return self.page_cited if self.item.answerable else None

    # ----- refusal -------------------------------------------------------------------------------------
    @property
    def refusal_correct(self) -> bool:
        """Refused exactly when the item is unanswerable."""
        return self.answer.refused != self.item.answerable

    @property
    def failure(self) -> str | None:
        """What went wrong, in the order of the chain; ``None`` when every figure that applies is a hit.

        A string is reported where it was lost: "retrieval missed" when no top-k passage holds it, "answer
        missed" when retrieval had it but the answer left it out.
        """
        if not self.item.answerable:
            return None if self.answer.refused else "answered an unanswerable question"
        reasons = []
        if self.answer.refused:
            reasons.append("wrongly refused")
        not_retrieved = self.missing_from_retrieval
        if not_retrieved:
            reasons.append(f"retrieval missed: {_quoted(not_retrieved)}")
        if not self.source_hit:
            reasons.append(f"gold source not retrieved: {', '.join(self._absent(self.top_k))}")
        if not self.answer.refused:
            left_out = [s for s in self.missing_from_answer if s not in not_retrieved]
            if left_out:
                reasons.append(f"answer missed: {_quoted(left_out)}")
            if not self.source_cited:
                absent = self._absent(self.answer.citations) if len(self.item.sources) > 1 else []
                reasons.append("gold source not cited" + (f": {', '.join(absent)}" if absent else ""))
            elif self._wrong_page_sources:
                details = " and ".join(self._page_detail(s) for s in self._wrong_page_sources)
                reasons.append(f"gold page not cited: {details}")
            weak = [s for s in self.answer.sentences if not _is_supported(s)]
            if weak:
                reasons.append(f"{len(weak)} sentence(s) not supported by their citations")
        return "; ".join(reasons) or None

    def _absent(self, found: Iterable) -> list[str]:
        have = {x.source for x in found}
        return [s for s in self.item.sources if s not in have]

    def _page_detail(self, source: str) -> str:
        gold = self.item.pages[self.item.sources.index(source)] or ()
        cited = self.cited_pages.get(source, [])
        where = f"{source} " if len(self.item.sources) > 1 else ""
        return f"{where}p. {', '.join(map(str, gold))} (cited p. {', '.join(map(str, cited))})"


def _quoted(strings: Iterable[str]) -> str:
    return ", ".join(f"'{s}'" for s in strings)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


# ----- the gold file -------------------------------------------------------------------------------------
def read_json_lines(path: Path, error: type[ValueError]) -> Iterator[tuple[str, int, dict]]:
    """(``file:line``, line number, object) for every non-blank line of a JSON-lines file; any problem
    raises ``error`` naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 text file (expected JSON lines)") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(raw, dict):
            raise error(f"{where}: expected one JSON object per line")
        yield where, lineno, raw


def load_gold(path: Path) -> list[GoldItem]:
    """Every item of a gold JSONL file, in file order. Raises ``GoldFileError`` naming the line and field."""
    items: list[GoldItem] = []
    seen: dict[str, int] = {}
    for where, lineno, raw in read_json_lines(path, GoldFileError):
        item = _gold_item(raw, where)
        if item.id in seen:
            raise GoldFileError(f"{where}: field 'id' {item.id!r} repeats line {seen[item.id]}")
        seen[item.id] = lineno
        items.append(item)
    if not items:
        raise GoldFileError(f"{path}: no gold items (expected one JSON object per line)")
    return items


def _gold_item(raw: dict, where: str) -> GoldItem:
    def need(field: str, kind: type, what: str):
        if field not in raw or not isinstance(raw[field], kind):
            raise GoldFileError(f"{where}: field {field!r} is missing or not {what}")
        return raw[field]

    item_id = need("id", str, "a string")
    qtype = need("type", str, "a string")
    if qtype not in QUESTION_TYPES:
        raise GoldFileError(f"{where}: field 'type' must be one of {', '.join(QUESTION_TYPES)}, not {qtype!r}")
    question = need("question", str, "a string")
    if not question.strip():
        raise GoldFileError(f"{where}: field 'question' is empty")
    answerable = qtype != "unanswerable"
    kind = raw.get("kind")
    if kind is not None and (not isinstance(kind, str) or not kind.strip()):
        raise GoldFileError(f"{where}: field 'kind' must be a non-empty string (or left out), not {kind!r}")

    must_contain = raw.get("must_contain") or []
    if not isinstance(must_contain, list) or not all(isinstance(s, str) and s.strip() for s in must_contain):
        raise GoldFileError(f"{where}: field 'must_contain' must be a list of non-empty strings")
    if answerable and not must_contain:
        raise GoldFileError(f"{where}: field 'must_contain' is empty; a {qtype} question needs 1 or more strings")

    history = _history(raw, where)
    sources, page_lists = _sources_and_pages(raw, where, qtype)
    return GoldItem(
        id=item_id,
        type=qtype,
        question=question,
        history=tuple(history),
        must_contain=tuple(must_contain),
        sources=sources,
        pages=page_lists,
        kind=kind.strip() if kind is not None else None,
    )


def _history(raw: dict, where: str) -> list:
    history = raw.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
        for t in history
    ):
        raise GoldFileError(
            f'{where}: field \'history\' must be a list of {{"role": "user"|"assistant", "content": "..."}} objects'
        )
    return history


def _sources_and_pages(raw: dict, where: str, qtype: str) -> tuple[tuple[str, ...], tuple[tuple[int, ...] | None, ...]]:
    """The gold documents of an item and, parallel to them, their gold pages (None: any page)."""
    source = raw.get("source")
    if isinstance(source, str) and source:
        sources: tuple[str, ...] = (source,)
    elif isinstance(source, list) and source and all(isinstance(s, str) and s for s in source):
        sources = tuple(source)
    elif source in (None, "", []):
        sources = ()
    else:
        raise GoldFileError(f"{where}: field 'source' must be a file name or a list of file names")
    if qtype != "unanswerable" and not sources:
        raise GoldFileError(f"{where}: field 'source' is missing; a {qtype} question needs its gold document")

    pages = raw.get("pages")
    if len(sources) > 1:
        if pages is not None and (not isinstance(pages, list) or len(pages) != len(sources)):
            raise GoldFileError(f"{where}: field 'pages' must run parallel to 'source' ({len(sources)} entries)")
        page_lists = tuple(_page_tuple(p, where) for p in (pages or [None] * len(sources)))
    else:
        page_lists = (_page_tuple(pages, where),) if sources else ()
    return sources, page_lists


def _page_tuple(pages, where: str) -> tuple[int, ...] | None:
    if pages is None:
        return None
    values = pages if isinstance(pages, list) else [pages]
    if not values or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in values):
        raise GoldFileError(f"{where}: field 'pages' must hold 1-based page numbers (or null for a text file)")
    return tuple(values)


def missing_sources(items: Iterable[GoldItem], library_sources: Iterable[str]) -> list[str]:
    """Gold documents that are not in the library, sorted: their items cannot score."""
    have = set(library_sources)
    return sorted({s for item in items for s in item.sources} - have)


# ----- running ---------------------------------------------------------------------------------------------
class Answerer(Protocol):
    """What a gold set is run through: ``assistant.service.Assistant``, or anything that answers the same way."""

    @property
    def settings(self) -> Settings: ...

    def ask(self, question: str, history: Sequence[Mapping[str, str]] = ()) -> Answer: ...


def run_items(
    assistant: Answerer,
    items: Sequence[GoldItem],
    k: int | None = None,
    progress: Progress | None = None,
) -> list[ItemResult]:
    """Ask every item through the assistant's chain, history included; ``k`` defaults to its ``top_k``.
    ``progress("answer", done, total)`` after each item."""
    k = assistant.settings.top_k if k is None else k
    results = []
    for done, item in enumerate(items, start=1):
        started = time.perf_counter()
        answer = assistant.ask(item.question, item.history)
        results.append(ItemResult(item, answer, (time.perf_counter() - started) * 1000.0, k))
        if progress is not None:
            progress("answer", done, len(items))
    return results


# ----- figures ---------------------------------------------------------------------------------------------
def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(results: Sequence[ItemResult]) -> dict[str, float | int | None]:
    """Counts, then ``FIGURE_KEYS`` in that order; a figure no item applies to is ``None``."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    refused = [r for r in results if r.answer.refused]
    latencies = sorted(r.latency_ms for r in results)
    return {
        "k": max((r.k for r in results), default=None),
        "items": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "refused": len(refused),
        "retrieval_hit_at_k": _share([bool(r.retrieval_hit) for r in answerable]),
        "source_hit_at_k": _share([bool(r.source_hit) for r in answerable]),
        "mrr": _mean([r.reciprocal_rank or 0.0 for r in answerable]),
        "answer_correct": _share([bool(r.answer_correct) for r in answerable]),
        "citation_hit": _share([r.source_cited for r in answerable]),
        "citation_page_hit": _share([r.page_cited for r in answerable]),
        # share of all answer sentences (refusals have none) that the support checker labels supported
        "sentences_supported": _share([_is_supported(s) for r in results for s in r.answer.sentences]),
        "refusal_recall": _share([r.answer.refused for r in unanswerable]),
        "refusal_precision": _share([not r.item.answerable for r in refused]),
        "false_refusal_rate": _share([r.answer.refused for r in answerable]),
        "latency_p50_ms": percentile(latencies, 50) if latencies else None,
        "latency_p95_ms": percentile(latencies, 95) if latencies else None,
    }


def _is_supported(sentence: AnswerSentence) -> bool:
    return sentence.support is not None and sentence.support.label is SupportLabel.SUPPORTED


def summarize_by_type(results: Sequence[ItemResult]) -> dict[str, dict[str, float | int | None]]:
    """``summarize`` for each question type, every type present and in ``QUESTION_TYPES`` order.

    Refusal precision is a figure of the whole set (inside one type it can only be 0 or 1), so it is ``None``.
    """
    k = max((r.k for r in results), default=None)
    by_type = {}
    for qtype in QUESTION_TYPES:
        figures = summarize([r for r in results if r.item.type == qtype])
        figures.update(k=k, refusal_precision=None)
        by_type[qtype] = figures
    return by_type


def kinds(results: Sequence[ItemResult]) -> list[str]:
    """The distinct kinds of the items, in the order they first appear; ``[]`` when no item has a kind."""
    return list(dict.fromkeys(r.item.kind for r in results if r.item.kind is not None))


def summarize_by_kind(results: Sequence[ItemResult]) -> dict[str, dict[str, float | int | None]]:
    """``summarize`` for each kind, in the order kinds first appear; ``{}`` when no item has a kind.

    ``{kind: {"k", "items", "answerable", "unanswerable", "refused", *FIGURE_KEYS}}``, shaped like a ``by_type``
    entry: figures that do not apply to a kind's items (e.g. answer correct for ``near-miss-year``) are ``None``,
    and refusal precision, a whole-set figure, is ``None`` throughout. Items without a kind are in no entry.
    """
    k = max((r.k for r in results), default=None)
    by_kind = {}
    for kind in kinds(results):
        figures = summarize([r for r in results if r.item.kind == kind])
        figures.update(k=k, refusal_precision=None)
        by_kind[kind] = figures
    return by_kind


def item_record(result: ItemResult, with_kind: bool = True) -> dict:
    """One line of ``per_item``: the item, each figure (``None`` where it does not apply) and what went wrong.

    ``kind`` (``None`` for an item without one) follows ``type`` unless ``with_kind`` is false, which
    ``evaluation_report`` uses for a gold file without kinds so that its records stay as they were.
    """
    item, answer = result.item, result.answer
    return {
        "id": item.id,
        "type": item.type,
        **({"kind": item.kind} if with_kind else {}),
        "question": item.question,
        "retrieval_hit": result.retrieval_hit,
        "source_hit": result.source_hit,
        "rr": _round(result.reciprocal_rank, 4),
        "answer_correct": result.answer_correct,
        "citation_hit": result.citation_hit,
        "citation_page_hit": result.citation_page_hit,
        "refused": answer.refused,
        "refusal_correct": result.refusal_correct,
        "latency_ms": _round(result.latency_ms, 1),
        "cited_sources": sorted(result.cited_sources),
        "cited_pages": result.cited_pages,
        "retrieved_sources": [p.source for p in result.top_k],
        "failure": result.failure,
        "answer": answer.text,
    }


def evaluation_report(results: Sequence[ItemResult], **meta) -> dict:
    """The whole evaluation as one JSON-ready object, keys in this order: ``meta`` (e.g. the gold file), the
    overall figures, ``by_type``, ``by_kind`` (only when some item has a kind) and ``per_item`` in gold-file
    order (each record with ``kind`` only when some item has one). Shares are rounded to 4 places and times
    to 0.1 ms, so that reports of two versions compare line by line."""
    by_kind = summarize_by_kind(results)
    return {
        **meta,
        **_rounded(summarize(results)),
        "by_type": {qtype: _rounded(figures) for qtype, figures in summarize_by_type(results).items()},
        **({"by_kind": {kind: _rounded(figures) for kind, figures in by_kind.items()}} if by_kind else {}),
        "per_item": [item_record(r, with_kind=bool(by_kind)) for r in results],
    }


def _rounded(figures: dict) -> dict:
    return {key: _round(value, 1 if key.endswith("_ms") else 4) for key, value in figures.items()}


def _round(value, places: int):
    return round(value, places) if isinstance(value, float) else value


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return float(sorted_values[int(rank) - 1])
