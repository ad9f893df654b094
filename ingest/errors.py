"""Errors raised while reading a file. Each names the file and says what the user can do."""

from __future__ import annotations

from assistant.errors import TipError


class IngestError(TipError):
    """A file could not be ingested. ``reason`` is short and user-facing."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
