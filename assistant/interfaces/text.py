"""Text every front end shows: a file's ingest outcome as one line, the support of checked sentences in one
line, and counts with their nouns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ingest.models import is_sectioned

# By ``ingest.pipeline.FileStatus`` value.
_STATUS_MARK = {"added": "✅", "updated": "✅", "unchanged": "·", "duplicate": "⚠️", "failed": "❌", "skipped": "–"}


def format_outcome(outcome: Mapping) -> str:
    """One file's outcome (``assistant.interfaces.payloads.outcome_dict``) as "✅ report.pdf: added (12 pages,
    40 chunks)"."""
    part = "section" if is_sectioned(outcome["source"]) else "page"
    detail = f"{counted(outcome['pages'], part)}, {counted(outcome['chunks'], 'chunk')}" if outcome["chunks"] else ""
    message = "; ".join(p for p in (detail, outcome["message"]) if p)
    line = f"{_STATUS_MARK[outcome['status']]} {outcome['source']}: {outcome['status']}"
    return f"{line} ({message})" if message else line


def counted(n: int, noun: str) -> str:
    """ "1 page", "3 pages": ``n`` with ``noun``, plural (an added "s") unless it is one."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def support_totals(labels: Sequence[str]) -> str:
    """Checked sentences counted by support label (``SupportLabel`` values), in one line: "5 sentences:
    3 supported, 1 partial, 1 with no support in the library"."""
    count = {label: sum(given == label for given in labels) for label in ("supported", "partial", "unsupported")}
    return (f"{counted(len(labels), 'sentence')}: {count['supported']} supported, {count['partial']} partial, "
            f"{count['unsupported']} with no support in the library")  # fmt: skip
