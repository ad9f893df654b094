"""Text both front ends show: a file's ingest outcome as one line, and counts with their nouns."""

from __future__ import annotations

from ingest.models import is_sectioned
from ingest.pipeline import FileOutcome, FileStatus

_STATUS_MARK = {
    FileStatus.ADDED: "✅",
    FileStatus.UPDATED: "✅",
    FileStatus.UNCHANGED: "·",
    FileStatus.DUPLICATE: "⚠️",
    FileStatus.FAILED: "❌",
    FileStatus.SKIPPED: "–",
}


def format_outcome(outcome: FileOutcome) -> str:
    part = "section" if is_sectioned(outcome.source) else "page"
    detail = f"{counted(outcome.pages, part)}, {counted(outcome.chunks, 'chunk')}" if outcome.chunks else ""
    message = "; ".join(p for p in (detail, outcome.message) if p)
    line = f"{_STATUS_MARK[outcome.status]} {outcome.source}: {outcome.status.value}"
    return f"{line} ({message})" if message else line


def counted(n: int, noun: str) -> str:
    """ "1 page", "3 pages": ``n`` with ``noun``, plural (an added "s") unless it is one."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
