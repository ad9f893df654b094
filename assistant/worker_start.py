"""What every worker process the tool spawns does first (``ingest.parse_ahead``, ``assistant.answering.processes``),
and how many cores the parsing workers of this process keep busy (``cores_taken_by_workers``).

A worker ignores Ctrl+C: a terminal sends it to the whole process group, and the parent stops its workers
itself, in order. And a worker exits on its own once its parent is gone: a parent killed outright (SIGKILL,
the out-of-memory killer) never tells its workers, which would otherwise wait for work forever, holding their
memory and the parent's output pipes (a caller reading those pipes would wait with them).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

PARENT_CHECK_SECONDS = 0.5

_cores_taken = 0  # parsing workers of this process reading a file now (each on one core)
_cores_taken_lock = threading.Lock()


def cores_taken_by_workers() -> int:
    """How many cores this process's parsing workers are using now (``worker_busy``): an embedding of this
    process spreads over the others, so that reading, an ingest's slower step, never waits for a core."""
    return _cores_taken


def worker_busy(busy: bool) -> None:
    """A parsing worker of this process starts (True) or stops (False) using its core."""
    global _cores_taken
    with _cores_taken_lock:
        _cores_taken += 1 if busy else -1


def start_worker(log_level: int | None = None, log_format: str | None = None) -> None:
    """Call first in a worker process (a pool's ``initializer``): see the module docstring. With ``log_level``
    and ``log_format`` (the parent's, from ``parent_logging``), the worker's warnings read as the parent's."""
    if log_level is not None:
        logging.basicConfig(level=log_level, format=log_format)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def exit_with_parent() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)  # no cleanup to wait for: the work it held was its parent's

    threading.Thread(target=exit_with_parent, name="tip-exit-with-parent", daemon=True).start()


def parent_logging() -> tuple[int, str | None]:
    """This process's root log level and the format string of its first handler, to pass to ``start_worker``
    (the string, not the formatter: a test runner's formatter holds a terminal, which does not pickle)."""
    root = logging.getLogger()
    formatter = root.handlers[0].formatter if root.handlers else None
    return root.level, getattr(formatter, "_fmt", None)  # Formatter keeps its format string there
