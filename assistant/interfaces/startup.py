"""What a server is doing between listening and being ready: loading the model, adding the documents it was
started with. The web UI shows it above the tabs, ``GET /api/v1/health`` reports it, the terminal prints it.
"""

from __future__ import annotations

import threading


class Startup:
    """The start-up stage of one server, safe to read from any thread: ``stage`` is a sentence for a
    person ("Loading the model…"), ``ready`` is set once questions are answered at full speed, and
    ``failure`` holds what went wrong when preparing failed (the server then still serves what it can)."""

    def __init__(self, stage: str = "Starting…"):
        self._lock = threading.Lock()
        self._stage = stage
        self.failure: str | None = None
        self.ready = threading.Event()

    @property
    def stage(self) -> str:
        with self._lock:
            return self._stage

    def moved_to(self, stage: str) -> None:
        with self._lock:
            self._stage = stage

    def finished(self, stage: str = "Ready.") -> None:
        self.moved_to(stage)
        self.ready.set()

    def failed(self, reason: str) -> None:
        self.failure = reason
        self.finished(f"Start-up failed: {reason}")


def already_ready() -> Startup:
    """The start-up of a server built over an assistant that is ready as it is (tests, embedding code)."""
    startup = Startup()
    startup.finished()
    return startup
