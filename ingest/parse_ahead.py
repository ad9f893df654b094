"""Files read and cut into chunks in a separate process while the caller embeds and stores the file before.

Reading a PDF is single-threaded Python (pypdf parses every content stream): on the shared corpus, reading,
cleaning and chunking took about as long as embedding the chunks (15 s and 14 s, 2 cores), one after the
other. ``ParseAhead`` hands the files an ingest will read to one spawned process, at most ``AHEAD`` files
ahead of the one being stored, so the two overlap; what comes back is the file's ``DocumentChunks`` (its pages
and chunk positions; the chunk texts are made when they are stored), or the reason it cannot be read. Reading
is the slower of the two, so it goes first: while the process reads, it counts as a core taken
(``assistant.worker_start.worker_busy``), and the caller's embedding spreads over the other cores only.

Files larger than ``PARSE_AHEAD_MAX_BYTES`` are read where they are stored: their text would otherwise be held
twice while it crosses between processes. When the process cannot start or dies (a crash inside a PDF
library), the remaining files are read in the caller's process, as without it.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from assistant.worker_start import parent_logging, start_worker, worker_busy
from ingest.chunking import Chunker, DocumentChunks
from ingest.errors import IngestError
from ingest.loaders import load_file

log = logging.getLogger(__name__)

# Files read ahead of the one being stored. The process reads on while a long file is embedded, so that a long
# PDF after it is ready in time (the shared corpus, 2 cores: 18.1-18.6 s with 8 against 19.6 s with 2); what it
# holds meanwhile is the files' text and chunk positions, a few MB.
AHEAD = 8
PARSE_AHEAD_MAX_BYTES = 16 * 1024 * 1024


def read_chunks(path: Path, source: str, chunker: Chunker) -> DocumentChunks:
    """The chunks of the file at ``path``, known as ``source``. Raises ``IngestError`` for a file that cannot
    be read, with the reason to show."""
    return chunker.chunk_lazily(load_file(path, source))


class ReadFailed(Exception):
    """An unexpected error while the parsing process read a file; its text is the error's type and message."""


@dataclass(frozen=True)
class _Read:
    """What the parsing process sends back: the chunks, or why the file could not be read (``IngestError``'s
    reason, or an unexpected error's type and message)."""

    chunks: DocumentChunks | None = None
    reason: str = ""
    unexpected: str = ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # the caller reports it when it reads the file
        return PARSE_AHEAD_MAX_BYTES + 1


def _read_in_worker(path: Path, source: str, chunker: Chunker) -> _Read:
    try:
        return _Read(chunks=read_chunks(path, source, chunker))
    except IngestError as exc:  # its attributes do not cross processes: the reason is sent as text
        return _Read(reason=exc.reason)
    except Exception as exc:  # noqa: BLE001 - reported by the caller, as it would be for a file read there
        return _Read(unexpected=f"{type(exc).__name__}: {exc}")


class ParseAhead:
    """Reads ``paths`` (``(path, source)`` pairs, in the order they will be asked for) in a parsing process.
    ``read(path, source)`` returns that file's chunks as ``read_chunks`` would, raising what it raises
    (``ReadFailed`` standing for an unexpected error there); a file not in ``paths``, larger than
    ``PARSE_AHEAD_MAX_BYTES``, or asked for out of order, is read in the calling process. Use as a context
    manager, or call ``close``. Not thread-safe: one ingest uses it."""

    def __init__(self, paths: Sequence[tuple[Path, str]], chunker: Chunker):
        self._chunker = chunker
        self._queue = [(path, source) for path, source in paths if _size(path) <= PARSE_AHEAD_MAX_BYTES]
        self._submitted: list[tuple[tuple[Path, str], Future]] = []
        self._pool: ProcessPoolExecutor | None = None
        self._reading = 0  # files handed to the process and not yet done with
        self._reading_lock = threading.Lock()
        try:
            pickle.dumps(chunker)  # its token counter goes to the process (a lambda in a test could not)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            log.debug("files are read in this process: the chunker cannot be sent to another (%s)", exc)
            self._queue.clear()
            return
        # spawn, not fork: the caller may hold a loaded model and threads whose locks a fork would copy
        self._pool = ProcessPoolExecutor(1, multiprocessing.get_context("spawn"), start_worker, parent_logging())
        self._fill()

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def read(self, path: Path, source: str) -> DocumentChunks:
        future = self._take((path, source))
        if future is not None:
            try:
                result: _Read = future.result()
            except Exception as exc:  # noqa: BLE001 - the process died, or a result could not be sent back
                self._give_up(exc)
            else:
                if result.chunks is not None:
                    return result.chunks
                if result.reason:
                    raise IngestError(source, result.reason)
                raise ReadFailed(result.unexpected)
        return read_chunks(path, source, self._chunker)

    def _take(self, key: tuple[Path, str]) -> Future | None:
        """The reading of ``key``, submitted now if it was not yet; files before it that were not asked for
        (found unchanged or a duplicate after all) are dropped. None for a file this process does not read."""
        if key not in [k for k, _ in self._submitted] + self._queue:
            return None
        while self._submitted and self._submitted[0][0] != key:
            self._submitted.pop(0)[1].cancel()
        if not self._submitted:
            del self._queue[: self._queue.index(key)]
            self._fill()
        if not self._submitted:  # the process failed while submitting
            return None
        _, future = self._submitted.pop(0)
        self._fill()
        return future

    def close(self) -> None:
        """Stop the parsing process; files it was reading ahead are dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._submitted.clear()

    def _fill(self) -> None:
        try:
            while self._pool is not None and self._queue and len(self._submitted) < AHEAD:
                path, source = self._queue[0]
                future = self._pool.submit(_read_in_worker, path, source, self._chunker)
                self._count_reading(+1)
                future.add_done_callback(lambda _: self._count_reading(-1))  # read, failed or cancelled
                self._submitted.append(((path, source), future))
                self._queue.pop(0)
        except Exception as exc:  # noqa: BLE001 - could not start, has died, or its arguments do not pickle
            self._give_up(exc)

    def _count_reading(self, change: int) -> None:
        """One file more (+1) or fewer (-1) in the process's hands; the process takes a core while it has any."""
        with self._reading_lock:
            before = self._reading
            self._reading += change
            if (before == 0) != (self._reading == 0):
                worker_busy(self._reading > 0)

    def _give_up(self, exc: BaseException) -> None:
        log.warning("files are read in this process from now on (the parsing process failed: %s)", exc)
        self.close()
        self._queue.clear()
