"""The library's storage: Chroma for vectors, the SQLite catalogue for everything else.

Writes are ordered so that a failure at any step leaves the previous state intact:
vectors of the new version are added first under new ids, a batch of chunks at a time (so memory does not
grow with the document), the catalogue switches to the new version in one transaction (the commit point), and
only then are the old vectors deleted. The catalogue is the authority; vectors it does not know are ignored by
search and removed by ``reconcile``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from assistant.errors import TipError
from assistant.text.terms import lexical_terms
from ingest.models import Chunk, LoadedDocument
from ingest.structured import searchable_text
from vectorstore.catalog import Catalog, DocumentRecord, holds_term, index_text
from vectorstore.embeddings import Embedder, return_freed_memory

log = logging.getLogger(__name__)

# Candidates fetched from each side before fusion. Scores are scaled over this pool, so it is the same for
# every k up to MIN_POOL / POOL_FACTOR: the top 8 of a search are then the first 8 of a search for 30.
POOL_FACTOR = 2
MIN_POOL = 60
# A search within named documents (a question naming a report, a filter) that hold at most this many passages
# scores every one of their vectors exactly, from vectors kept in memory per document, instead of asking Chroma
# for a filtered query: at 100,000 passages that took 14-16 ms against 1.5 ms unfiltered, and a compound
# question naming documents runs several such searches.
EXACT_SEARCH_MAX = 5000
DOCUMENT_VECTORS_KEPT = 50_000  # passage vectors kept for exact searches (~77 MB), the least recently used dropped
# How much the lexical side counts depends on how sharply bm25 separates its best candidates from the rest
# (a query-performance predictor): "(top - 10th best) / top" among the candidates. Natural-language
# questions whose words are common in the library give a flat bm25 ranking that adds noise; a question
# naming rare terms gives a steep one worth trusting. The weight rises linearly from 0 at LEXICAL_GATE_LOW
# to LEXICAL_WEIGHT_MAX at LEXICAL_GATE_HIGH.
LEXICAL_GAP_RANK = 10
LEXICAL_GATE_LOW = 0.25
LEXICAL_GATE_HIGH = 0.5
LEXICAL_WEIGHT_MAX = 0.5
# Pseudo-relevance feedback on the dense side (Rocchio): the query vector moves towards the mean vector of
# the best few fused candidates, then the candidates are scored again. Helps short and ambiguous queries.
FEEDBACK_PASSAGES = 5
FEEDBACK_WEIGHT = 0.3
_CHROMA_BATCH = 1000
# Chunks embedded and written to Chroma per step of a document: the vectors and texts in memory at once, and
# how often progress is reported (about 10 s of embedding on two cores).
EMBED_BATCH = 512
FOLLOWING_PASSAGE_DISCOUNT = 0.9
# Lexical matches read per search, best bm25 first: the first ``pool`` are candidates, the others only lend their
# bm25 to the dense candidates among them (a dense candidate below them counts as matching no term). One query
# instead of a second one for the dense candidates' bm25, which cost 45 ms a search at 100,000 passages; exact
# wherever a query matches no more than this many passages (the shared corpus has 905).
LEXICAL_SCORED = 1000
# A query word held by at least this share of the dense candidates, within documents that gave more than one of
# them, names the subject of those documents and is left out of lexical search (see _without_topic_terms). A
# majority: a word that only some of their passages hold still tells them apart.
TOPIC_TERM_SHARE = 0.5


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    score: float  # fused relevance used for ranking
    dense: float  # cosine similarity of query and chunk vectors
    lexical: float  # bm25 relevance scaled to [0, 1] among the candidates of this query


class ChunkStore:
    """Add, remove and search documents' chunks. Knows Chroma and SQLite; callers know neither."""

    def __init__(
        self,
        catalog: Catalog,
        collection,
        embedder: Embedder,
        reopen: Callable[[], Any] | None = None,
        unreachable: Callable[[BaseException], Exception] | None = None,
        batch_size: int = EMBED_BATCH,
    ):
        """``reopen`` gives the collection afresh when another process has written the library (the embedded
        store only; a Chroma server is shared by design). ``unreachable`` turns a failed call to a Chroma
        server into the error to raise (``StoreUnavailable``), for a server that stops answering.
        ``batch_size`` is the number of chunks embedded and written per step (see ``add_document``)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.catalog = catalog
        self.collection = collection
        self.embedder = embedder
        self.batch_size = batch_size
        self._unreachable = unreachable
        self._reopen = reopen
        self._reopen_lock = threading.Lock()
        self._seen_version = catalog.vocabulary_version()
        # doc_id -> (its chunk ids when read, those with a vector, their vectors), least recently used first
        self._document_vectors: OrderedDict[str, tuple[tuple[str, ...], list[str], np.ndarray]] = OrderedDict()
        self._document_vectors_lock = threading.Lock()

    def _current_collection(self):
        """The collection, opened again when the catalogue says a document was written since this store last
        looked (by another process: ``tip-assistant ingest`` while the server runs)."""
        if self._reopen is not None:
            version = self.catalog.vocabulary_version()
            if version != self._seen_version:
                with self._reopen_lock:
                    if version != self._seen_version:
                        log.info("the library was changed by another process; reopening its vectors")
                        self.collection = self._reopen()
                        self._seen_version = version
        return self.collection

    def _wrote(self) -> None:
        """This process's own write is already in its collection: nothing to reopen for it."""
        self._seen_version = self.catalog.vocabulary_version()

    # ----- catalogue reads -----------------------------------------------------------------------------
    def documents(self) -> list[DocumentRecord]:
        return self.catalog.documents()

    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.catalog.document(doc_id)

    def document_by_source(self, source: str) -> DocumentRecord | None:
        return self.catalog.document_by_source(source)

    def document_by_sha(self, sha256: str) -> DocumentRecord | None:
        return self.catalog.document_by_sha(sha256)

    def page_text(self, doc_id: str, number: int) -> str | None:
        return self.catalog.page_text(doc_id, number)

    def with_following_passages(self, results: Sequence[ScoredChunk], first: int) -> list[ScoredChunk]:
        """``results`` plus, for the ``first`` of them that stop inside a paragraph, the passage that carries
        it on (scored a little below the one it continues): a paragraph cut by a chunk boundary is read to its
        end."""
        have = {r.chunk.chunk_id for r in results}
        following = self.catalog.continuations([r.chunk for r in results[:first]])
        extra = [
            replace(r, chunk=following[r.chunk.chunk_id], score=r.score * FOLLOWING_PASSAGE_DISCOUNT)
            for r in results[:first]
            if r.chunk.chunk_id in following and following[r.chunk.chunk_id].chunk_id not in have
        ]
        return [*results, *list({e.chunk.chunk_id: e for e in extra}.values())]

    def vocabulary(self) -> dict[str, int]:
        """Every word of the library's passages and titles with its count of occurrences."""
        return self.catalog.vocabulary()

    def vocabulary_version(self) -> int:
        """Changes whenever a document is stored or removed: the key for caching anything built on the vocabulary."""
        return self.catalog.vocabulary_version()

    # ----- writes --------------------------------------------------------------------------------------
    def add_document(
        self,
        document: LoadedDocument,
        chunks: Sequence[Chunk],
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Store a document (or a new version of it) whole, or leave the library as it was.

        The chunks are embedded and their vectors written ``batch_size`` at a time, and ``progress(done_chunks,
        total_chunks)`` is called after each batch; the catalogue takes the document, its pages and chunks in
        one transaction once every vector is written. Vectors written before an error are deleted again;
        those of a process killed midway are unknown to the catalogue and ``reconcile`` removes them. Errors
        of the embedder, of Chroma (``StoreUnavailable`` for a server that stops answering) and of
        ``progress`` itself propagate after that clean-up.
        """
        self._store_version(document, chunks, progress=progress)

    def add_documents(self, items: Sequence[tuple[LoadedDocument, Sequence[Chunk]]]) -> None:
        """Store several documents, each whole or not at all, in order; a failure keeps the ones before it.
        Small documents share embedding passes of up to ``batch_size`` chunks (much faster than a pass each
        for many small documents); a larger one is embedded in batches of its own."""
        group: list[tuple[LoadedDocument, Sequence[Chunk]]] = []

        def store_group() -> None:
            vectors = self._embed([c for _, chunks in group for c in chunks])
            offset = 0
            for document, chunks in group:
                self._store_version(document, chunks, vectors[offset : offset + len(chunks)])
                offset += len(chunks)
            group.clear()

        for document, chunks in items:
            if group and sum(len(c) for _, c in group) + len(chunks) > self.batch_size:
                store_group()
            if len(chunks) > self.batch_size:
                self._store_version(document, chunks)
            else:
                group.append((document, chunks))
        if group:
            store_group()

    def _embed(self, chunks: Sequence[Chunk]) -> np.ndarray:
        return self.embedder.encode([searchable_text(c.text) for c in chunks])

    def _store_version(
        self,
        document: LoadedDocument,
        chunks: Sequence[Chunk],
        vectors: np.ndarray | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Write the chunks' vectors batch by batch (``vectors`` when already computed, else embedded here),
        then the catalogue in one transaction, then delete the old version's vectors. Only the store's own
        calls are read as a Chroma server failure: an error of the embedder or of ``progress`` is its own."""
        with self._server_calls():
            self._current_collection()
            old_ids = set(self.catalog.chunk_ids(document.doc_id))
        written: list[str] = []
        try:
            for start in range(0, len(chunks), self.batch_size):
                batch = chunks[start : start + self.batch_size]
                batch_vectors = self._embed(batch) if vectors is None else vectors[start : start + len(batch)]
                written.extend(c.chunk_id for c in batch)  # before the upsert, which may write part of a batch
                with self._server_calls():
                    self._upsert_vectors(batch, batch_vectors)
                return_freed_memory()
                if progress is not None:
                    progress(start + len(batch), len(chunks))
            with self._server_calls():
                self.catalog.replace_document(document, chunks)
        except BaseException:
            self._delete_new_vectors([i for i in written if i not in old_ids])
            raise
        with self._server_calls():
            self._delete_vectors(sorted(old_ids - set(written)))
            self._wrote()

    def _delete_new_vectors(self, ids: Sequence[str]) -> None:
        """Delete the vectors of a version that failed to store; the error that stopped it is the one to report,
        so a failure here is only logged (``reconcile`` removes what stays)."""
        try:
            self._delete_vectors(ids)
        except Exception as exc:
            log.warning("could not delete %d vectors of an unfinished write: %r", len(ids), exc)

    def remove_document(self, doc_id: str) -> bool:
        """Delete a document's vectors, chunks, pages and lexical entries. False when it is not stored."""
        with self._server_calls():
            self._current_collection()
            ids = self.catalog.chunk_ids(doc_id)
            removed = self.catalog.delete_document(doc_id)
            self._delete_vectors(ids)
            self._wrote()
        return removed

    def reconcile(self) -> int:
        """Delete vectors whose chunks the catalogue does not hold (left by an interrupted write); returns how
        many. Only while no other process writes the library: the vectors of a document being stored are not
        in the catalogue until its last batch is written."""
        known = set(self.catalog.chunk_ids())
        stored = set(self.collection.get(include=[])["ids"])
        orphans = sorted(stored - known)
        self._delete_vectors(orphans)
        if orphans:
            log.warning("removed %d vectors left behind by an interrupted write", len(orphans))
        return len(orphans)

    def _upsert_vectors(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        for start in range(0, len(chunks), _CHROMA_BATCH):
            part = chunks[start : start + _CHROMA_BATCH]
            self.collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[start : start + _CHROMA_BATCH],
                metadatas=[
                    {"doc_id": c.doc_id, "source": c.source, "page": c.page_start, "index": c.index} for c in part
                ],
            )

    def _delete_vectors(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _CHROMA_BATCH):
            self.collection.delete(ids=list(ids[start : start + _CHROMA_BATCH]))

    # ----- search --------------------------------------------------------------------------------------
    @contextmanager
    def _server_calls(self) -> Iterator[None]:
        """Chroma server failures as the error a user can act on (see ``unreachable``)."""
        try:
            yield
        except TipError:
            raise
        except Exception as exc:
            if self._unreachable is None:
                raise
            log.debug("Chroma server call failed: %r", exc)
            raise self._unreachable(exc) from None

    def search(self, query: str, k: int = 8, doc_ids: Sequence[str] | None = None) -> list[ScoredChunk]:
        """The k chunks most relevant to ``query``, fusing dense and lexical relevance.

        Both sides contribute a candidate pool; every candidate is then scored on *both* sides (its cosine
        from its stored vector, its bm25 from the FTS index), so a chunk found by only one side is not
        penalised for the other side's cut-off. The lexical side's weight follows how decisive its ranking
        is for this query, and the dense side is scored again after feedback from the first fused ranking.
        """
        if doc_ids is not None and not doc_ids:
            return []
        with self._server_calls():
            return self._search(query, k, doc_ids)

    def _search(self, query: str, k: int, doc_ids: Sequence[str] | None) -> list[ScoredChunk]:
        self._current_collection()
        pool = max(MIN_POOL, POOL_FACTOR * k)
        query_vector = self.embedder.encode_query(query)
        terms = lexical_terms(query)

        within = self._documents_vectors(doc_ids, len(query_vector)) if doc_ids is not None else None
        if within is not None:  # exact: every passage of the named documents
            ids, matrix = within
            similarity = matrix @ query_vector
            dense = {ids[n]: float(similarity[n]) for n in np.argsort(-similarity)[:pool]}
        else:
            dense = self._dense_candidates(query_vector, pool, doc_ids)
        chunks = self.catalog.chunks(list(dense))
        searched = _without_topic_terms(terms, [chunks[i] for i in dense if i in chunks])
        lexical = dict(self.catalog.lexical_search(searched, max(pool, LEXICAL_SCORED), doc_ids))
        candidate_ids = list(dict.fromkeys([*dense, *list(lexical)[:pool]]))
        chunks |= self.catalog.chunks([i for i in candidate_ids if i not in chunks])
        if within is not None:
            kept = dict(zip(*within, strict=True))
            stored = {i: kept[i] for i in candidate_ids if i in chunks and i in kept}
        else:
            stored = self._vectors([i for i in candidate_ids if i in chunks])  # vectors of removed chunks are ignored
        candidate_ids = [i for i in candidate_ids if i in stored]
        if not candidate_ids:
            return []

        vectors = np.stack([stored[i] for i in candidate_ids])
        cosine = vectors @ query_vector
        lexical_raw = np.array([lexical.get(i, 0.0) for i in candidate_ids])
        lexical_scaled = _min_max(lexical_raw)
        lexical_weight = _lexical_weight(lexical_raw)

        def fuse(dense_scores: np.ndarray) -> np.ndarray:
            return (1 - lexical_weight) * _min_max(dense_scores) + lexical_weight * lexical_scaled

        first = fuse(cosine)
        feedback = vectors[np.argsort(-first)[:FEEDBACK_PASSAGES]].mean(axis=0)
        moved = query_vector + FEEDBACK_WEIGHT * feedback
        fused = fuse(vectors @ (moved / np.linalg.norm(moved)))
        scored = [
            ScoredChunk(chunks[i], score=float(fused[n]), dense=float(cosine[n]), lexical=float(lexical_scaled[n]))
            for n, i in enumerate(candidate_ids)
        ]
        return _diversify(scored, k)

    def _dense_candidates(self, query_vector: np.ndarray, pool: int, doc_ids: Sequence[str] | None) -> dict[str, float]:
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids is not None else None
        # Chroma returns fewer than n_results when it holds fewer (counting them first cost 12 ms at 100,000)
        result = self.collection.query(
            query_embeddings=[query_vector], n_results=pool, where=where, include=["distances"]
        )
        # Chroma's cosine distance is 1 - cosine similarity.
        return {i: 1.0 - float(d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)}

    def _documents_vectors(self, doc_ids: Sequence[str], dimension: int) -> tuple[list[str], np.ndarray] | None:
        """Every passage of ``doc_ids`` that has a vector, and those vectors (one row of ``dimension`` each);
        None when the documents hold more than ``EXACT_SEARCH_MAX`` passages. A document's vectors are read from
        Chroma once and kept while its chunk ids stay the same (a new version of it has new ids)."""
        per_document = {doc_id: tuple(self.catalog.chunk_ids(doc_id)) for doc_id in dict.fromkeys(doc_ids)}
        if sum(len(chunk_ids) for chunk_ids in per_document.values()) > EXACT_SEARCH_MAX:
            return None
        ids: list[str] = []
        matrices: list[np.ndarray] = []
        for doc_id, chunk_ids in per_document.items():
            with self._document_vectors_lock:
                kept = self._document_vectors.get(doc_id)
                if kept is not None:
                    self._document_vectors.move_to_end(doc_id)
            if kept is None or kept[0] != chunk_ids:
                found = self._vectors(chunk_ids)
                present = [i for i in chunk_ids if i in found]
                matrix = np.stack([found[i] for i in present]) if present else np.zeros((0, dimension), np.float32)
                kept = (chunk_ids, present, matrix)
                with self._document_vectors_lock:
                    self._document_vectors[doc_id] = kept
                    while sum(len(k[1]) for k in self._document_vectors.values()) > DOCUMENT_VECTORS_KEPT:
                        self._document_vectors.popitem(last=False)
            if kept[1]:
                ids += kept[1]
                matrices.append(kept[2])
        return ids, np.vstack(matrices) if matrices else np.zeros((0, dimension), dtype=np.float32)

    def _vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of ``chunk_ids`` that have one."""
        if not chunk_ids:
            return {}  # Chroma refuses an empty id list
        got = self.collection.get(ids=list(chunk_ids), include=["embeddings"])
        if got["embeddings"] is None:
            return {}
        return dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))


def _without_topic_terms(terms: Sequence[str], passages: Sequence[Chunk]) -> list[str]:
    """``terms`` without those that name the subject of the documents of ``passages`` (the dense candidates,
    best first), or all of them when every one does.

    A word counts as the subject when at least ``TOPIC_TERM_SHARE`` of the candidates hold it in documents
    that gave more than one candidate: the subject of a report runs through its passages, and the word that
    names it tells none of them apart, which dense retrieval weighs already. In a library that also holds other
    subjects its inverse document frequency is high, and bm25 scored every passage of the reports alike,
    flattening what the question's other words tell apart among them (at 100,000 passages, the dev sets' answers
    fell from 0.81 to 0.69 and 0.95 to 0.85; with these words left out, 0.77 and 0.90, and the shared corpus's
    figures alone are unchanged). A library of short entries, one passage each (an encyclopedia; dbpedia-mini),
    has no such subject: a word its candidates share is the entity asked about, and it is searched (nDCG@10
    unchanged)."""
    per_document = Counter(p.doc_id for p in passages)
    grouped = [index_text(p.text) for p in passages if per_document[p.doc_id] > 1]
    needed = TOPIC_TERM_SHARE * len(passages)
    if len(grouped) < needed:
        return list(terms)
    kept = [t for t in terms if sum(holds_term(text, t) for text in grouped) < needed]
    return kept or list(terms)


def _diversify(scored: list[ScoredChunk], k: int) -> list[ScoredChunk]:
    """The k best by fused score, each text once: a passage printed on many pages (a disclaimer, a
    repeated box) would otherwise fill the results with copies and crowd out other documents.

    A per-document penalty was tried too and lowered dev-set retrieval (hit@8 0.85 -> 0.77 at 0.05):
    most questions are answered by several passages of one report."""
    taken: list[ScoredChunk] = []
    texts: set[str] = set()
    for candidate in sorted(scored, key=lambda s: s.score, reverse=True):
        if candidate.chunk.text_hash not in texts:
            texts.add(candidate.chunk.text_hash)
            taken.append(candidate)
        if len(taken) == k:
            break
    return taken


def _lexical_weight(bm25: np.ndarray) -> float:
    """The lexical side's share of the fused score for this query (see LEXICAL_GATE_LOW)."""
    ranked = np.sort(bm25)[::-1]
    if len(ranked) == 0 or ranked[0] <= 0:
        return 0.0
    tail = ranked[LEXICAL_GAP_RANK - 1] if len(ranked) >= LEXICAL_GAP_RANK else 0.0
    gap = (ranked[0] - tail) / ranked[0]
    return LEXICAL_WEIGHT_MAX * float(np.clip((gap - LEXICAL_GATE_LOW) / (LEXICAL_GATE_HIGH - LEXICAL_GATE_LOW), 0, 1))


def _min_max(values: np.ndarray) -> np.ndarray:
    """Scaling over the candidate pool: cosine and bm25 live on different scales, and the pool's own spread
    is what says how much a side prefers one candidate to another."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    lo, hi = values.min(), values.max()
    if hi > lo:
        return (values - lo) / (hi - lo)
    # one candidate, or all alike: each has the side's full support if it has any
    return np.full_like(values, 1.0 if hi > 0 else 0.0)
