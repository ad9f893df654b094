"""Text both front ends show: a file's ingest outcome as one line."""

from __future__ import annotations

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
    detail = f"{_count(outcome.pages, 'page')}, {_count(outcome.chunks, 'chunk')}" if outcome.chunks else ""
    message = "; ".join(p for p in (detail, outcome.message) if p)
    line = f"{_STATUS_MARK[outcome.status]} {outcome.source}: {outcome.status.value}"
    return f"{line} ({message})" if message else line


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
