"""The answering chain as a LangChain Runnable: condense → retrieve → compose (with citations).

Input: ``{"question": str, "history": [{"role", "content"}, ...], "doc_ids": [...] | None}``.
Output: an ``Answer``, every sentence checked against the passages it cites (``assistant.support``).
The composer is any object with ``compose(question, query, retrieved) -> Answer``;
the default is the extractive one, which needs no LLM.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from langchain_core.runnables import Runnable, RunnableLambda

from assistant.answer import Answer, RetrievedPassage
from assistant.conversation import RetrievalQuery, condense
from assistant.gaps import unknown_rare_terms
from assistant.rerank import POOL_FACTOR as RERANK_POOL_FACTOR
from assistant.rerank import PassageScorer, rerank
from assistant.retrieval import retrieve
from assistant.support import SupportChecker, with_support
from vectorstore.store import ChunkStore, ScoredChunk

# The best few passages are read on into the passage that follows them, when composing (not when ranking).
PASSAGES_READ_ON = 3


class Composer(Protocol):
    def compose(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk]) -> Answer: ...


def build_chain(
    store: ChunkStore,
    composer: Composer,
    top_k: int,
    checker: SupportChecker,
    reranker: PassageScorer | None = None,
) -> Runnable:
    def condense_step(inputs: dict) -> dict:
        started = time.perf_counter()
        query = condense(inputs["question"], inputs.get("history") or [])
        return {**inputs, "query": query, "timings": {"condense": _ms(started)}}

    def retrieve_step(state: dict) -> dict:
        started = time.perf_counter()
        if reranker is None:
            retrieved = retrieve(store, state["query"], top_k, state.get("doc_ids"))
        else:
            pool = retrieve(store, state["query"], top_k * RERANK_POOL_FACTOR, state.get("doc_ids"))
            retrieved = rerank(reranker, state["query"].text, pool, top_k)
        return {**state, "retrieved": retrieved, "timings": {**state["timings"], "retrieve": _ms(started)}}

    def compose_step(state: dict) -> Answer:
        started = time.perf_counter()
        unknown = unknown_rare_terms(state["question"], store)
        if unknown:
            reason = "the library never mentions " + ", ".join(f"“{t}”" for t in unknown)
            closest = [r.chunk for r in state["retrieved"]]
            answer = Answer.refusal(state["question"], state["query"].text, closest, reason)
        else:
            readable = store.with_following_passages(state["retrieved"], first=PASSAGES_READ_ON)
            answer = with_support(composer.compose(state["question"], state["query"], readable), checker)
        retrieved = tuple(_passage(r) for r in state["retrieved"])
        return replace(answer, retrieved=retrieved, timings_ms={**state["timings"], "compose": _ms(started)})

    return (
        RunnableLambda(condense_step, name="condense")
        | RunnableLambda(retrieve_step, name="retrieve")
        | RunnableLambda(compose_step, name="compose")
    ).with_config(run_name="tip-answer")


def _passage(r: ScoredChunk) -> RetrievedPassage:
    c = r.chunk
    return RetrievedPassage(c.chunk_id, c.doc_id, c.source, c.page_start, c.char_start, c.char_end, r.score, c.text)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
