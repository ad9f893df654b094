"""Questions answered in worker processes, so that a server's users do not queue behind one interpreter lock.

A server answers in threads of its own process, and an answer is mostly Python (reading the question,
scoring and checking sentences): however many threads, one process used about 1.3 cores (``bench/load.py``,
2 cores: 16 clients got 1.11 x the throughput of one). ``AnsweringProcesses`` starts ``TIP_ANSWER_PROCESSES``
worker processes, each opening its own answerer on the same library (``Assistant.start_answering_processes``
gives one that builds an ``Assistant``: its model, its store opened for reading) and hands each question to an
idle one. A worker sees documents another process has written as the
server does: by the catalogue version it checks before each question.

Each worker holds the embedding model (the graph exported for OpenVINO, without torch, once it exists) and
the library's vocabulary: about 434 MB for the shared corpus, ready in ~3.5 s (with torch: ~0.8 GB, ~10 s). Until
every worker is ready, and after a worker has died, the server answers in its own process.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from assistant.types import Answer
from assistant.worker_start import start_worker

log = logging.getLogger(__name__)


class Answerer(Protocol):
    def ask(self, question: str, history: Sequence[Mapping[str, str]], doc_ids: Sequence[str] | None) -> Answer: ...


_answerer: Answerer | None = None  # the worker's own, made by _open


def _open(opener: Callable[[], Answerer]) -> None:
    """A worker's start: its answerer, loaded before the first question comes."""
    global _answerer
    start_worker()
    _answerer = opener()
    gc.freeze()  # the model and library, loaded for good: no collection walks them again, not even at exit (~5 s)


def _ready() -> bool:
    return _answerer is not None


def _ask(question: str, history: list[dict[str, str]], doc_ids: list[str] | None) -> Answer:
    assert _answerer is not None, "a worker answers once _open has run"
    return _answerer.ask(question, history, doc_ids)


class AnsweringProcesses:
    """``count`` worker processes answering ``ask`` for a server (``TIP_ANSWER_PROCESSES``), each with the
    answerer ``opener()`` returns there (``opener`` is pickled: a module-level function, or a partial of one).
    ``ask`` blocks the calling thread until a worker has answered; errors a user can fix (``TipError``) come back
    as raised in the worker. ``usable`` is False until every worker has opened, and for good once one has died
    (``BrokenProcessPool``): the caller then answers in its own process."""

    def __init__(self, opener: Callable[[], Answerer], count: int, on_ready: Callable[[], None] | None = None):
        # spawn, not fork: a forked copy of a server would inherit its threads' locks in whatever state they were
        self._pool = ProcessPoolExecutor(count, multiprocessing.get_context("spawn"), _open, (opener,))
        self._started = threading.Event()
        self._broken = False
        self._lock = threading.Lock()
        self.busy = 0  # questions handed to a worker and not yet answered
        self.answered = 0  # questions a worker has answered (or raised an error a user can fix for)
        self._on_ready = on_ready
        started = [self._pool.submit(_ready) for _ in range(count)]  # one per worker: each spawns its process
        threading.Thread(target=self._wait_for, args=(started,), name="tip-answering-start", daemon=True).start()

    def _wait_for(self, started: list[Future]) -> None:
        try:
            if all(future.result() for future in started):
                self._started.set()
                if self._on_ready is not None:
                    self._on_ready()
        except Exception:  # a worker that cannot open the library: the server answers by itself
            log.exception("answering processes did not start; questions are answered in the server's process")
            self._broken = True

    @property
    def usable(self) -> bool:
        return self._started.is_set() and not self._broken

    @property
    def state(self) -> str:
        """ "starting", "ready" or "failed" (see ``usable``)."""
        return "failed" if self._broken else "ready" if self._started.is_set() else "starting"

    def wait_until_started(self, timeout: float | None = None) -> bool:
        """Whether every worker is ready within ``timeout`` seconds (for tests and benchmarks)."""
        return self._started.wait(timeout)

    def ask(self, question: str, history: Sequence[Mapping[str, str]], doc_ids: Sequence[str] | None) -> Answer:
        """``Assistant.ask`` in a worker. Raises what it raises there, and ``BrokenProcessPool`` when a worker
        died (the pool is then marked unusable)."""
        with self._lock:
            self.busy += 1
        try:
            turns = [dict(turn) for turn in history]
            future = self._pool.submit(_ask, question, turns, list(doc_ids) if doc_ids is not None else None)
            answer = future.result()
            with self._lock:
                self.answered += 1
            return answer
        except BrokenProcessPool:
            self._broken = True
            log.error("an answering process died; questions are answered in the server's process from now on")
            raise
        finally:
            with self._lock:
                self.busy -= 1

    def close(self) -> None:
        """Stop the workers; questions they were answering are cancelled."""
        self._broken = True
        self._pool.shutdown(wait=True, cancel_futures=True)
