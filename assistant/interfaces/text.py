"""Text both front ends show: a file's ingest outcome as one line."""

from __future__ import annotations

from ingest.pipeline import FileOutcome, FileStatus

_STATUS_MARK = {
    FileStatus.ADDED: "✅",
    FileStatus.UPDATED: "✅",
    FileStatus.UNCHANGED: "·",
    FileStatus.DUPLICATE: "⚠️",
    FileStatus.FAILED: "❌",
}


def format_outcome(outcome: FileOutcome) -> str:
    detail = f"{outcome.pages} pages, {outcome.chunks} chunks" if outcome.chunks else ""
    message = "; ".join(p for p in (detail, outcome.message) if p)
    line = f"{_STATUS_MARK[outcome.status]} {outcome.source}: {outcome.status.value}"
    return f"{line} ({message})" if message else line
