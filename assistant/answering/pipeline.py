"""The answering chain as a LangChain Runnable: condense → retrieve → compose (with citations).

Input: ``{"question": str, "history": [{"role", "content"}, ...], "doc_ids": [...] | None}``.
Output: an ``Answer``, every sentence checked against the passages it cites (``assistant.grounding.support``).
The composer is any object with ``compose(question, query, retrieved) -> Answer``;
the default is the extractive one, which needs no LLM.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

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


class Composer(Protocol):
    def compose(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk]) -> Answer: ...


class StreamingComposer(Composer, Protocol):
    def stream(
        self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk]
    ) -> Iterator[str | Answer]:
        """Text as it is generated, then the finished (checked) ``Answer`` last."""
        ...


Condenser = Callable[[str, Sequence[Mapping[str, str]]], RetrievalQuery]


@dataclass(frozen=True)
class AnswerPipeline:
    """The chain in two halves, so a front end can stream: ``prepare`` (condense → retrieve) is a Runnable
    giving the state; ``compose`` finishes it into an ``Answer``; ``stream`` yields text, then the Answer."""

    prepare: Runnable
    compose: Callable[[dict], Answer]
    stream: Callable[[dict], Iterator[str | Answer]]

    def as_runnable(self) -> Runnable:
        return (self.prepare | RunnableLambda(self.compose, name="compose")).with_config(run_name="tip-answer")


def build_pipeline(
    store: ChunkStore,
    composer: Composer,
    top_k: int,
    checker: SupportChecker,
    reranker: PassageScorer | None = None,
    condenser: Condenser = condense,
    answerability: Answerability | None = None,
) -> AnswerPipeline:
    """With ``answerability``, the question is read before retrieval (typos corrected, constraints found)
    and a question about something the library never mentions is refused."""

    def condense_step(inputs: dict) -> dict:
        started = time.perf_counter()
        history = inputs.get("history") or []
        query = condenser(inputs["question"], history)
        if answerability is not None:
            query = answerability.read(inputs["question"], query, history)
        return {**inputs, "query": query, "timings": {"condense": _ms(started)}}

    def retrieve_step(state: dict) -> dict:
        started = time.perf_counter()
        if reranker is None:
            retrieved = retrieve(store, state["query"], top_k, state.get("doc_ids"))
        else:
            pool = retrieve(store, state["query"], top_k * RERANK_POOL_FACTOR, state.get("doc_ids"))
            retrieved = rerank(reranker, state["query"].text, pool, top_k)
        return {**state, "retrieved": retrieved, "timings": {**state["timings"], "retrieve": _ms(started)}}

    def gap_refusal(state: dict) -> Answer | None:
        reason = Answerability.out_of_library(state["query"].reading)
        if reason is None:
            return None
        closest = [r.chunk for r in state["retrieved"]]
        return Answer.refusal(state["question"], state["query"].text, closest, reason)

    def readable(state: dict) -> list[ScoredChunk]:
        return store.with_following_passages(state["retrieved"], first=PASSAGES_READ_ON)

    def finished(state: dict, answer: Answer, started: float) -> Answer:
        answer = with_support(answer, checker)
        retrieved = tuple(_passage(r) for r in state["retrieved"])
        reading = state["query"].reading
        notices = (reading.notice,) if reading is not None and reading.notice else ()
        return replace(
            answer,
            retrieved=retrieved,
            notices=notices + answer.notices,
            timings_ms={**state["timings"], "compose": _ms(started)},
        )

    def compose_step(state: dict) -> Answer:
        started = time.perf_counter()
        answer = gap_refusal(state) or composer.compose(state["question"], state["query"], readable(state))
        return finished(state, answer, started)

    def stream_step(state: dict) -> Iterator[str | Answer]:
        started = time.perf_counter()
        refusal = gap_refusal(state)
        if refusal is not None or not hasattr(composer, "stream"):
            yield finished(state, refusal or composer.compose(state["question"], state["query"], readable(state)),
                           started)  # fmt: skip
            return
        for piece in composer.stream(state["question"], state["query"], readable(state)):
            yield finished(state, piece, started) if isinstance(piece, Answer) else piece

    prepare = RunnableLambda(condense_step, name="condense") | RunnableLambda(retrieve_step, name="retrieve")
    return AnswerPipeline(prepare, compose_step, stream_step)


def build_chain(
    store: ChunkStore,
    composer: Composer,
    top_k: int,
    checker: SupportChecker,
    reranker: PassageScorer | None = None,
) -> Runnable:
    return build_pipeline(store, composer, top_k, checker, reranker).as_runnable()


def _passage(r: ScoredChunk) -> RetrievedPassage:
    c = r.chunk
    return RetrievedPassage(c.chunk_id, c.doc_id, c.source, c.page_start, c.char_start, c.char_end, r.score, c.text)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
