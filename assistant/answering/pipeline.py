"""The answering pipeline: read the question → retrieve → compose (with citations) → check support.

``AnswerPipeline.prepare`` reads the question (condensing a follow-up with its history, finding its
constraints and the documents it names) and retrieves its passages, giving a ``PreparedQuestion``;
``compose`` finishes it into an ``Answer`` whose every sentence was checked against the passages it cites
(``assistant.grounding.support``); ``stream`` does the same, yielding generated text as it comes first.
``answer`` is ``prepare`` then ``compose``, for at most ``QUESTIONS_AT_ONCE`` questions at a time: the
others wait their turn in the order they came (``ArrivalOrder``). ``as_runnable`` offers the whole as a
LangChain Runnable for those who compose chains.

The composer is any object with ``compose(question, query, retrieved) -> Answer``; the default is the
extractive one, which needs no LLM.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from langchain_core.runnables import Runnable, RunnableLambda

from assistant.answering.answerability import Answerability
from assistant.answering.conversation import RetrievalQuery, condense
from assistant.answering.rerank import POOL_FACTOR as RERANK_POOL_FACTOR
from assistant.answering.rerank import PassageScorer, rerank
from assistant.answering.retrieval import retrieve
from assistant.grounding.support import SupportChecker, with_support
from assistant.types import Answer, RetrievedPassage
from vectorstore.store import ChunkStore, ScoredChunk

# The best few passages are read on into the passage that follows them, when composing (not when ranking).
PASSAGES_READ_ON = 3
# Questions ``answer`` works on at once (the API's, the command line's): one per core, as each encodes on one
# core (vectorstore.embeddings); the others wait in arrival order. bench/load.py, 2 cores, 16 clients: all at
# once, p95 was 1.55 x p50 (39 s), the slowest waiting behind every newcomer; two at a time, 1.24 x (30 s).
QUESTIONS_AT_ONCE = os.cpu_count() or 1

Turns = Sequence[Mapping[str, str]]  # [{"role": "user" | "assistant", "content": "..."}]


class Composer(Protocol):
    """Makes an answer from retrieved passages: the extractive composer, or a model's."""

    def compose(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk]) -> Answer:
        """An ``Answer`` to ``question`` citing ``retrieved`` (best first), or a refusal; its support is
        checked afterwards by the pipeline."""
        ...


@runtime_checkable
class StreamingComposer(Composer, Protocol):
    """A composer that can also yield its text while it writes it."""

    def stream(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk]) -> Iterator[str | Answer]:
        """Text as it is generated, then the finished (checked) ``Answer`` last."""
        ...


Condenser = Callable[[str, Turns], RetrievalQuery]


class ArrivalOrder:
    """At most ``limit`` threads at a time inside ``turn()``; the others wait and go in in the order they
    came: one leaving hands its place to the longest waiter, so a newcomer never slips ahead."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"the limit must be at least 1, not {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._inside = 0
        self._waiting: deque[threading.Event] = deque()

    @property
    def inside(self) -> int:
        """Threads inside ``turn()`` now."""
        return self._inside

    @property
    def waiting(self) -> int:
        """Threads waiting for their turn now."""
        return len(self._waiting)

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            called = None
            if self._inside < self.limit and not self._waiting:
                self._inside += 1
            else:
                called = threading.Event()
                self._waiting.append(called)
        if called is not None:
            called.wait()  # the place was handed over: it is already counted in _inside
        try:
            yield
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting.popleft().set()
                else:
                    self._inside -= 1


@dataclass(frozen=True)
class PreparedQuestion:
    """A question read and retrieved for: what ``prepare`` hands to ``compose``/``stream``.

    ``query`` is the retrieval query (the condensed follow-up, the question's parts and its reading);
    ``retrieved`` the passages in rank order, at most ``top_k``; ``timings_ms`` the milliseconds each
    step took so far."""

    question: str
    history: tuple[Mapping[str, str], ...]
    doc_ids: tuple[str, ...] | None
    query: RetrievalQuery
    retrieved: tuple[ScoredChunk, ...]
    timings_ms: Mapping[str, float] = field(default_factory=dict)


class AnswerPipeline:
    """condense → retrieve (→ rerank) → compose → support check.

    ``top_k`` passages are retrieved (from a pool of ``top_k × rerank.POOL_FACTOR`` when a ``reranker`` is
    given). With ``answerability``, the question is read before retrieval (typos corrected, constraints and
    named documents found) and a question about something the library never mentions is refused."""

    def __init__(
        self,
        store: ChunkStore,
        composer: Composer,
        top_k: int,
        checker: SupportChecker,
        reranker: PassageScorer | None = None,
        condenser: Condenser = condense,
        answerability: Answerability | None = None,
        at_once: int = QUESTIONS_AT_ONCE,
    ):
        self.store = store
        self.composer = composer
        self.top_k = top_k
        self.checker = checker
        self.reranker = reranker
        self.condenser = condenser
        self.answerability = answerability
        self.turns = ArrivalOrder(at_once)

    # ----- the two halves ------------------------------------------------------------------------------
    def prepare(self, question: str, history: Turns = (), doc_ids: Sequence[str] | None = None) -> PreparedQuestion:
        """Read ``question`` in the context of ``history`` and retrieve its passages (from ``doc_ids`` only,
        when given)."""
        started = time.perf_counter()
        history = tuple(history)
        query = self.condenser(question, history)
        if self.answerability is not None:
            query = self.answerability.read(question, query, history)
        condensed = time.perf_counter()
        doc_ids = tuple(doc_ids) if doc_ids is not None else None
        if self.reranker is None:
            retrieved = retrieve(self.store, query, self.top_k, doc_ids)
        else:
            pool = retrieve(self.store, query, self.top_k * RERANK_POOL_FACTOR, doc_ids)
            retrieved = rerank(self.reranker, query.text, pool, self.top_k)
        timings = {"condense": _ms(started, condensed), "retrieve": _ms(condensed)}
        return PreparedQuestion(question, history, doc_ids, query, tuple(retrieved), timings)

    def compose(self, prepared: PreparedQuestion) -> Answer:
        """The checked ``Answer`` to a prepared question."""
        started = time.perf_counter()
        answer = self._out_of_library(prepared) or self.composer.compose(
            prepared.question, prepared.query, self._readable(prepared)
        )
        return self._finished(prepared, answer, started)

    def stream(self, prepared: PreparedQuestion) -> Iterator[str | Answer]:
        """Text as a model generates it (nothing with the extractive composer), then the checked ``Answer``."""
        started = time.perf_counter()
        refusal = self._out_of_library(prepared)
        if refusal is not None or not isinstance(self.composer, StreamingComposer):
            yield self._finished(prepared, refusal or self.composer.compose(
                prepared.question, prepared.query, self._readable(prepared)), started)  # fmt: skip
            return
        for piece in self.composer.stream(prepared.question, prepared.query, self._readable(prepared)):
            yield self._finished(prepared, piece, started) if isinstance(piece, Answer) else piece

    def answer(self, question: str, history: Turns = (), doc_ids: Sequence[str] | None = None) -> Answer:
        """``prepare`` then ``compose``: the checked answer to ``question``, once its turn has come."""
        with self.turns.turn():
            return self.compose(self.prepare(question, history, doc_ids))

    def as_runnable(self) -> Runnable:
        """The pipeline as a LangChain Runnable: input ``{"question", "history"?, "doc_ids"?}``, output an
        ``Answer``."""

        def run(inputs: dict) -> Answer:
            return self.answer(inputs["question"], inputs.get("history") or (), inputs.get("doc_ids"))

        return RunnableLambda(run, name="tip-answer")

    # ----- steps -----------------------------------------------------------------------------------------
    def _out_of_library(self, prepared: PreparedQuestion) -> Answer | None:
        reason = Answerability.out_of_library(prepared.query.reading)
        if reason is None:
            return None
        closest = [r.chunk for r in prepared.retrieved]
        return Answer.refusal(prepared.question, prepared.query.text, closest, reason)

    def _readable(self, prepared: PreparedQuestion) -> list[ScoredChunk]:
        return self.store.with_following_passages(list(prepared.retrieved), first=PASSAGES_READ_ON)

    def _finished(self, prepared: PreparedQuestion, answer: Answer, started: float) -> Answer:
        answer = with_support(answer, self.checker)
        reading = prepared.query.reading
        notices = (reading.notice,) if reading is not None and reading.notice else ()
        return replace(
            answer,
            retrieved=tuple(RetrievedPassage.of_chunk_scored(r.chunk, r.score) for r in prepared.retrieved),
            notices=notices + answer.notices,
            timings_ms={**prepared.timings_ms, "compose": _ms(started)},
        )


def _ms(started: float, ended: float | None = None) -> float:
    return ((ended if ended is not None else time.perf_counter()) - started) * 1000.0
