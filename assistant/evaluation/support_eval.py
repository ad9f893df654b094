"""How well the support checker labels a set of (sentence, passage) pairs whose right label is known.

Pairs are JSON lines (``tests/data/support_pairs.jsonl``, built by ``bench/build_support_set.py``):
``id``, ``kind`` (``as_written``, ``number``, ``entity``, ``negation``, ``unrelated``), ``expected``
(``supported``/``partial``/``unsupported``), ``sentence``, and the passage as a page reference
(``source``, ``page``) into a library holding the shared corpus.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import TipError
from assistant.evaluation.gold_set import read_json_lines
from assistant.grounding.support import SupportChecker
from assistant.types import PageSpan, SupportLabel

LABELS = tuple(label.value for label in SupportLabel)


class PairFileError(TipError, ValueError):
    """A malformed pair file; the message names the file and line."""


@dataclass(frozen=True)
class LabelledPair:
    id: str
    kind: str
    expected: str
    sentence: str
    source: str
    page: int


def load_pairs(path: Path) -> list[LabelledPair]:
    pairs = []
    for where, _, raw in read_json_lines(path, PairFileError):
        try:
            pair = LabelledPair(
                str(raw["id"]), str(raw["kind"]), str(raw["expected"]), str(raw["sentence"]),
                str(raw["source"]), int(raw["page"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise PairFileError(f"{where}: needs id, kind, expected, sentence, source and page ({exc})") from None
        if pair.expected not in LABELS:
            raise PairFileError(f"{where}: 'expected' must be one of {', '.join(LABELS)}")
        pairs.append(pair)
    return pairs


@dataclass(frozen=True)
class PairResult:
    pair: LabelledPair
    label: str
    score: float


def label_pairs(
    checker: SupportChecker, pairs: Sequence[LabelledPair], passage: Callable[[str, int], PageSpan]
) -> list[PairResult]:
    """Label every pair; ``passage(source, page)`` gives the page the pair's sentence is checked against."""
    supports = checker.check_many([p.sentence for p in pairs], [[passage(p.source, p.page)] for p in pairs])
    return [PairResult(p, s.label.value, s.score) for p, s in zip(pairs, supports, strict=True)]


def summarize_pairs(results: Sequence[PairResult]) -> dict:
    """Accuracy, the two rates the checker is held to, and the confusion table (kind -> label -> count)."""
    by_kind: dict[str, Counter] = {}
    for r in results:
        by_kind.setdefault(r.pair.kind, Counter())[r.label] += 1
    numbers = [r for r in results if r.pair.kind == "number"]
    as_written = [r for r in results if r.pair.kind == "as_written"]
    return {
        "pairs": len(results),
        "accuracy": _share(r.label == r.pair.expected for r in results),
        "changed_number_unsupported": _share(r.label == "unsupported" for r in numbers),
        "as_written_unsupported": _share(r.label == "unsupported" for r in as_written),
        "confusion": {kind: {label: counts.get(label, 0) for label in LABELS} for kind, counts in by_kind.items()},
    }


def _share(flags) -> float | None:
    flags = list(flags)
    return round(sum(flags) / len(flags), 4) if flags else None


def confusion_table(summary: dict) -> str:
    """The confusion table as aligned text: one row per kind of pair, one column per label given."""
    rows = [("kind", *LABELS)] + [(kind, *map(str, row.values())) for kind, row in summary["confusion"].items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows)
