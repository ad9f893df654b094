"""Sentence vectors of the library's passages, computed while the server has nothing else to do.

The extractive composer embeds the sentences (in their context) of every passage a question retrieves:
without their vectors kept, that was most of a question's time (issue figures: about 80% at 100,000
passages). ``SentenceVectorPrefetch`` walks the library's passages in a background thread and keeps those
vectors (``vectorstore.text_vectors``), a few passages at a time and only while no question is being
answered and nothing is being ingested, so a question waits at most for one small batch. A question that
comes first embeds what it needs itself and keeps it too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from assistant.answering.extractive import sentence_contexts
from vectorstore.catalog import Catalog
from vectorstore.text_vectors import TextVectors

log = logging.getLogger(__name__)

# Passages embedded between two looks at whether a question came: about 50 sentences, ~0.1 s on one core.
PASSAGES_PER_BATCH = 8
IDLE_POLL_SECONDS = 0.25


class SentenceVectorPrefetch:
    """Keeps the sentence vectors of every passage in ``catalog``, in a daemon thread (``start``).

    ``idle()`` says whether the cores are free now; the thread waits while it is False. ``library_changed()``
    (after an ingest) has it look again for passages it has not seen. ``done`` is set whenever it has been
    through every passage it knows of."""

    def __init__(self, catalog: Catalog, vectors: TextVectors, idle: Callable[[], bool]):
        self.catalog = catalog
        self.vectors = vectors
        self.idle = idle
        self.done = threading.Event()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._seen: set[str] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> SentenceVectorPrefetch:
        if self._thread is None:
            self._changed.set()
            self._thread = threading.Thread(target=self._run, name="tip-prefetch", daemon=True)
            self._thread.start()
        return self

    def library_changed(self) -> None:
        self.done.clear()
        self._changed.set()

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._changed.wait()
            self._changed.clear()
            try:
                self._pass()
            except Exception:  # a cache: a failure leaves questions to embed what they need, as before
                log.warning("sentence vectors were not computed ahead", exc_info=True)
            if not self._changed.is_set():
                self.done.set()

    def _pass(self) -> None:
        todo = [chunk_id for chunk_id in self.catalog.chunk_ids() if chunk_id not in self._seen]
        for start in range(0, len(todo), PASSAGES_PER_BATCH):
            while not self.idle():
                if self._stop.wait(IDLE_POLL_SECONDS):
                    return
            if self._stop.is_set():
                return
            batch = todo[start : start + PASSAGES_PER_BATCH]
            chunks = self.catalog.chunks(batch)  # a passage removed meanwhile is simply not there
            self.vectors.encode([text for chunk in chunks.values() for text in sentence_contexts(chunk)])
            self._seen.update(batch)
        if todo:
            log.info("sentence vectors kept for %d passages", len(todo))
