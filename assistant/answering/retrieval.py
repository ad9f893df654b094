"""Retrieval for a condensed question: one search, or for a compound question one search per part too.

"Where did it mostly take place in the ASU cases, and which types were reported most to the hotline?"
searched whole finds passages for whichever part dominates. Each part is searched on its own as well and
the result lists are interleaved rank by rank (the whole question's first), so every part is represented
among the first k (a part that points back at the one before is searched with it). Documents the question
names are each searched alone the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answering.conversation import RetrievalQuery
from assistant.text.references import POINTS_BACK
from vectorstore.store import ChunkStore, ScoredChunk


def retrieve(
    store: ChunkStore, query: RetrievalQuery, k: int, doc_ids: Sequence[str] | None = None
) -> list[ScoredChunk]:
    """At most ``k`` passages for ``query``, best first, from ``doc_ids`` only when given: the search of the
    whole query, interleaved rank by rank with the searches of each named document and each part."""
    named = [d for d in (query.reading.documents if query.reading else ()) if doc_ids is None or d in doc_ids]
    if not query.parts and not named:
        return store.search(query.text, k=k, doc_ids=doc_ids)
    # Documents the question names come first, each searched alone: "Do the school resource officer guide
    # and the IACP guide agree…" must find both, whichever dominates the search of the whole question.
    asked_of = [query.reading.asked_of(d) for d in named]
    parts = _searched(query.parts)
    store.embedder.encode_queries([query.text, *asked_of, *parts])  # in one pass; each search finds its own kept
    whole = store.search(query.text, k=k, doc_ids=doc_ids)
    per_document = [store.search(text, k=k, doc_ids=[d]) for text, d in zip(asked_of, named, strict=True)]
    rankings = [*per_document, whole, *(store.search(part, k=k, doc_ids=doc_ids) for part in parts)]
    merged: dict[str, ScoredChunk] = {}
    texts: set[str] = set()
    for rank in range(k):
        for ranking in rankings:
            if rank < len(ranking):
                hit = ranking[rank]
                if hit.chunk.chunk_id not in merged and hit.chunk.text_hash not in texts:
                    merged[hit.chunk.chunk_id] = hit
                    texts.add(hit.chunk.text_hash)
    return list(merged.values())[:k]


def _searched(parts: Sequence[str]) -> list[str]:
    """Each part of a compound question as it is searched: a part that points back at the one before it
    ("…, and how did that compare with labour trafficking?") means little alone, so it is searched together
    with that part."""
    return [f"{parts[n - 1]} {part}" if n and POINTS_BACK.search(part) else part for n, part in enumerate(parts)]
