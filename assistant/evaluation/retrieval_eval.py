"""Retrieval quality on a public benchmark in BEIR layout, measured on the project's own store.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/test.tsv`` (a ``query-id corpus-id score`` header, then one graded judgement per line). Every corpus
entry becomes a one-page text document (``title``, a blank line, ``text``) named by its ``_id``, chunked and
stored exactly as an ingested file would be, in a temporary library that is deleted afterwards. Each query
then retrieves chunks, documents are ranked by their best chunk, and the ranking is scored with
``assistant.evaluation.metrics`` (nDCG, recall and reciprocal rank at 10, the figures BEIR reports).

Three ways to retrieve, to see what each side of the hybrid search contributes:

* ``hybrid`` — ``assistant.answering.retrieval.retrieve``, the product's own retrieval (dense and lexical fused);
* ``dense`` — the nearest chunk vectors in Chroma only;
* ``lexical`` — the FTS5 bm25 index only (the same query terms the product uses).

Figures are comparable with BEIR's own for the same model when documents fit in one chunk; a long document
is represented by its best chunk, as the product would show it.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from assistant.answering.conversation import condense
from assistant.answering.retrieval import retrieve
from assistant.errors import TipError
from assistant.evaluation.gold_set import percentile, read_json_lines
from assistant.evaluation.metrics import ndcg_at_k, recall_at_k, reciprocal_rank
from assistant.text.terms import lexical_terms
from assistant.types import Progress
from ingest.chunking import Chunker
from ingest.models import LoadedDocument, Page
from vectorstore import ChunkStore, Embedder, open_store

log = logging.getLogger(__name__)

QRELS_HEADER = ("query-id", "corpus-id", "score")
# Corpus entries embedded and stored per ``ChunkStore.add_documents`` call (one embedding pass each).
INDEX_BATCH = 500
# Chunks fetched per query, as a multiple of the documents needed, so that documents with several chunks
# still leave enough distinct documents to fill the ranking.
CHUNKS_PER_DOCUMENT = 3
REPORTED_CUTOFF = 10  # BEIR's headline cut-off; ``ndcg@10`` etc. are always reported

# Progress stages: "index" (corpus entries stored) and "query" (queries run).


class BeirFormatError(TipError, ValueError):
    """A BEIR file is missing or malformed; the message names the file and, where it applies, the line."""


class RetrievalMode(StrEnum):
    HYBRID = "hybrid"
    DENSE = "dense"
    LEXICAL = "lexical"


@dataclass(frozen=True)
class BeirDocument:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirSet:
    """A BEIR dataset, limited to the queries that have judgements (in file order)."""

    corpus: tuple[BeirDocument, ...]
    queries: Mapping[str, str]  # query id -> text
    qrels: Mapping[str, Mapping[str, int]]  # query id -> corpus id -> grade


# ----- reading -------------------------------------------------------------------------------------------
def load_beir(beir_dir: Path, split: str = "test") -> BeirSet:
    """Read a BEIR folder. Raises ``BeirFormatError`` naming the file and line of the first problem."""
    beir_dir = Path(beir_dir)
    if not beir_dir.is_dir():
        raise BeirFormatError(
            f"{beir_dir}: not a folder; a BEIR dataset is a folder with corpus.jsonl, queries.jsonl and "
            f"qrels/{split}.tsv"
        )
    corpus = _read_corpus(beir_dir / "corpus.jsonl")
    all_queries = _read_queries(beir_dir / "queries.jsonl")
    qrels = _read_qrels(beir_dir / "qrels" / f"{split}.tsv", all_queries)
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}

    known = {d.id for d in corpus}
    unknown = sum(1 for judged in qrels.values() for doc_id in judged if doc_id not in known)
    if unknown:
        log.warning("%d judgements name documents that are not in the corpus; they count as never retrieved",
                    unknown)
    return BeirSet(corpus=corpus, queries=queries, qrels=qrels)


def _field(raw: dict, name: str, where: str, required: bool = True) -> str:
    value = raw.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BeirFormatError(f"{where}: field {name!r} is missing or not a string")
    return value


def _read_corpus(path: Path) -> tuple[BeirDocument, ...]:
    documents: list[BeirDocument] = []
    seen: dict[str, str] = {}
    for where, _, raw in read_json_lines(path, BeirFormatError):
        doc_id = _field(raw, "_id", where)
        if not doc_id.strip():
            raise BeirFormatError(f"{where}: field '_id' is empty")
        if doc_id in seen:
            raise BeirFormatError(f"{where}: document '_id' {doc_id!r} repeats {seen[doc_id]}")
        seen[doc_id] = where
        documents.append(BeirDocument(doc_id, _field(raw, "title", where, required=False), _field(raw, "text", where)))
    if not documents:
        raise BeirFormatError(f"{path}: no documents (expected one JSON object per line)")
    return tuple(documents)


def _read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for where, _, raw in read_json_lines(path, BeirFormatError):
        query_id = _field(raw, "_id", where)
        text = _field(raw, "text", where)
        if not query_id.strip():
            raise BeirFormatError(f"{where}: field '_id' is empty")
        if not text.strip():
            raise BeirFormatError(f"{where}: query {query_id!r} has an empty 'text'")
        if query_id in queries:
            raise BeirFormatError(f"{where}: query '_id' {query_id!r} repeats an earlier line")
        queries[query_id] = text
    return queries


def _read_qrels(path: Path, queries: Mapping[str, str]) -> dict[str, dict[str, int]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BeirFormatError(f"{path}: file not found (a BEIR folder needs its judgements there)") from None
    except UnicodeDecodeError:
        raise BeirFormatError(f"{path}: not a UTF-8 text file (expected tab-separated values)") from None
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        fields = line.split("\t") if "\t" in line else line.split()
        fields = [f.strip() for f in fields]
        if lineno == 1 and tuple(fields) == QRELS_HEADER:
            continue
        if len(fields) != 3 or not all(fields):
            raise BeirFormatError(
                f"{where}: expected 3 tab-separated fields (query-id, corpus-id, score), found {len(fields)}"
            )
        query_id, doc_id, score = fields
        try:
            grade = int(score)
        except ValueError:
            hint = " (is the header 'query-id corpus-id score' misspelt?)" if lineno == 1 else ""
            raise BeirFormatError(f"{where}: score {score!r} is not a whole number{hint}") from None
        if query_id not in queries:
            raise BeirFormatError(f"{where}: query {query_id!r} is not in {path.parent.parent / 'queries.jsonl'}")
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged:
            raise BeirFormatError(f"{where}: query {query_id!r} and document {doc_id!r} are judged twice")
        judged[doc_id] = grade
    if not qrels:
        raise BeirFormatError(f"{path}: no judgements (expected a 'query-id corpus-id score' header and rows)")
    return qrels


# ----- indexing ------------------------------------------------------------------------------------------
def as_loaded_document(document: BeirDocument) -> LoadedDocument:
    """A corpus entry as the one-page text document the library would hold."""
    text = f"{document.title}\n\n{document.text}" if document.title else document.text
    return LoadedDocument(
        source=document.id,
        title=document.title or document.id,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        pages=(Page(1, text),),
        file_type="txt",
    )


def index_corpus(
    store: ChunkStore, corpus: Sequence[BeirDocument], progress: Progress | None = None, batch: int = INDEX_BATCH
) -> int:
    """Chunk and store every corpus entry, ``batch`` entries per embedding pass. Returns the chunk count."""
    chunker = Chunker(store.embedder.count_tokens, max_tokens=store.embedder.max_tokens)
    stored = 0
    for start in range(0, len(corpus), batch):
        items = []
        for entry in corpus[start : start + batch]:
            document = as_loaded_document(entry)
            items.append((document, chunker.chunk(document)))
        store.add_documents(items)
        stored += sum(len(chunks) for _, chunks in items)
        if progress is not None:
            progress("index", min(start + batch, len(corpus)), len(corpus))
    return stored


@dataclass(frozen=True)
class BeirIndex:
    """A temporary library holding a BEIR corpus, and what building it cost."""

    store: ChunkStore
    documents: int
    chunks: int
    seconds: float


@contextmanager
def temporary_index(
    beir: BeirSet, embedder: Embedder, work_dir: Path | None = None, progress: Progress | None = None
) -> Iterator[BeirIndex]:
    """Build the corpus into a fresh library in a temporary folder (inside ``work_dir`` when given), and
    delete it on leaving. The time covers chunking, embedding and storing, not loading the model."""
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    embedder.warm_up()
    with tempfile.TemporaryDirectory(prefix="beir-", dir=work_dir) as tmp:
        store = open_store(Path(tmp) / "data", embedder)
        try:
            started = time.perf_counter()
            chunks = index_corpus(store, beir.corpus, progress)
            yield BeirIndex(store, len(beir.corpus), chunks, time.perf_counter() - started)
        finally:
            store.catalog.close()


# ----- retrieving ----------------------------------------------------------------------------------------
def hybrid_sources(store: ChunkStore, query: str, depth: int) -> list[str]:
    """Sources of the ``depth`` best chunks of the product's retrieval, best first (a query is a first
    question, with no history)."""
    return [hit.chunk.source for hit in retrieve(store, condense(query, []), depth)]


def dense_sources(store: ChunkStore, query: str, depth: int) -> list[str]:
    """Sources of the ``depth`` chunks nearest to the query vector in Chroma, nearest first."""
    vector = store.embedder.encode_query(query)
    result = store.collection.query(query_embeddings=[vector], n_results=depth, include=["distances"])
    ids = result["ids"][0]
    chunks = store.catalog.chunks(ids)
    return [chunks[i].source for i in ids if i in chunks]


def lexical_sources(store: ChunkStore, query: str, depth: int) -> list[str]:
    """Sources of the ``depth`` chunks with the best bm25 for the query's terms, best first."""
    hits = [chunk_id for chunk_id, _ in store.catalog.lexical_search(lexical_terms(query), depth)]
    chunks = store.catalog.chunks(hits)
    return [chunks[i].source for i in hits if i in chunks]


RETRIEVERS: dict[RetrievalMode, Callable[[ChunkStore, str, int], list[str]]] = {
    RetrievalMode.HYBRID: hybrid_sources,
    RetrievalMode.DENSE: dense_sources,
    RetrievalMode.LEXICAL: lexical_sources,
}


def rank_documents(sources: Sequence[str]) -> list[str]:
    """Documents in the order of their best chunk (first occurrence)."""
    return list(dict.fromkeys(sources))


# ----- scoring -------------------------------------------------------------------------------------------
def evaluate(
    store: ChunkStore,
    beir: BeirSet,
    k: int = 10,
    mode: RetrievalMode | str = RetrievalMode.HYBRID,
    progress: Progress | None = None,
) -> dict:
    """Run every judged query against ``store`` and score the document rankings.

    Returns ``ndcg@10``, ``recall@10`` and ``mrr@10`` (means over queries), the same at ``k`` when ``k`` is
    not 10, ``queries``, ``k``, ``mode``, ``seconds_per_query_ms`` (mean wall time of one retrieval, query
    embedding included) and ``query_ms_p95``, and ``per_query``: for each query its ``id``, ``ndcg``,
    ``recall`` and ``rr`` at ``k`` and ``ranked``, its top ``k`` document ids.
    """
    mode = RetrievalMode(mode)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of 1 or more, got {k!r}")
    retrieve = RETRIEVERS[mode]
    cutoffs = sorted({REPORTED_CUTOFF, k})
    depth = CHUNKS_PER_DOCUMENT * max(cutoffs)

    sums = {f"{name}@{c}": 0.0 for c in cutoffs for name in ("ndcg", "recall", "mrr")}
    per_query: list[dict] = []
    latencies: list[float] = []
    total = len(beir.queries)
    for done, (query_id, text) in enumerate(beir.queries.items(), start=1):
        started = time.perf_counter()
        ranking = rank_documents(retrieve(store, text, depth))
        latencies.append((time.perf_counter() - started) * 1000.0)
        grades = beir.qrels[query_id]
        for c in cutoffs:
            sums[f"ndcg@{c}"] += ndcg_at_k(ranking, grades, c)
            sums[f"recall@{c}"] += recall_at_k(ranking, grades, c)
            sums[f"mrr@{c}"] += reciprocal_rank(ranking, grades, c)
        per_query.append(
            {
                "id": query_id,
                "ndcg": ndcg_at_k(ranking, grades, k),
                "recall": recall_at_k(ranking, grades, k),
                "rr": reciprocal_rank(ranking, grades, k),
                "ranked": ranking[:k],
            }
        )
        if progress is not None:
            progress("query", done, total)

    figures: dict = {key: value / total for key, value in sums.items()}
    latencies.sort()
    figures.update(
        mode=mode.value,
        queries=total,
        k=k,
        seconds_per_query_ms=sum(latencies) / total,
        query_ms_p95=percentile(latencies, 95),
        per_query=per_query,
    )
    return figures


def run_beir(
    beir_dir: Path,
    embedder: Embedder,
    k: int = 10,
    work_dir: Path | None = None,
    progress: Progress | None = None,
    mode: RetrievalMode | str = RetrievalMode.HYBRID,
) -> dict:
    """Index a BEIR folder into a temporary library and evaluate one retrieval mode on it.

    The figures of ``evaluate`` plus ``documents``, ``chunks`` and ``seconds_index`` (chunking, embedding and
    storing the corpus). The temporary library is deleted before returning.
    """
    mode = RetrievalMode(mode)
    beir = load_beir(Path(beir_dir))
    with temporary_index(beir, embedder, work_dir, progress) as index:
        figures = evaluate(index.store, beir, k, mode, progress)
    per_query = figures.pop("per_query")
    return {
        **figures,
        "documents": index.documents,
        "chunks": index.chunks,
        "seconds_index": index.seconds,
        "per_query": per_query,
    }
