"""Build the textbook LangChain recipe and tip-assistant on the same corpus, in one run, and compare them.

    python bench/compare_recipe.py [--corpus ../shared/corpus] [--gold ../shared/eval/qa-dev.jsonl] [--json]

The textbook recipe, as its users run it: pypdf pages (a .txt file is one document) →
RecursiveCharacterTextSplitter(1000, 200) → LangChain's ``HuggingFaceEmbeddings`` on the same all-MiniLM-L6-v2
weights (fp32, sentence-transformers' and torch's defaults) → ``Chroma`` → ``similarity_search(question, k)``,
with the question alone (no conversation handling). It has no answerer without an LLM, so only its retrieval
is scored; the answer-level figures are "n/a" for it.

tip-assistant: ``Assistant.ask(question, history)`` on a fresh library of the same corpus, scored on the
passages it retrieved (``Answer.retrieved``, best first) and on its answers.

Retrieval figures (answerable items), computed by the same code for both sides:
- hit@k: every ``must_contain`` string is in one of the top-k chunks (case-insensitive, whitespace collapsed);
- source hit@k: every gold document is among the documents of the top-k chunks;
- MRR@k: mean of 1/rank of the first top-k chunk from a gold document (0 when there is none).
Answer figures as ``assistant.evaluation.gold_set`` defines them. The p50 time is one ``similarity_search`` for the
textbook and one whole ``Assistant.ask`` (condense, retrieve, compose) for tip-assistant.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluation.gold_set import GoldItem, load_gold, normalise, percentile, run_items, summarize  # noqa: E402
from assistant.evaluation.metrics import reciprocal_rank  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings, use_offline_mode  # noqa: E402
from vectorstore.embeddings import packaged_model_dir  # noqa: E402

CUTOFFS = (4, 8)
MRR_CUTOFF = 8
TEXTBOOK_CHUNK_SIZE = 1000
TEXTBOOK_CHUNK_OVERLAP = 200
NEEDS_LLM = "n/a (needs an LLM)"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, as far as scoring needs it."""

    text: str
    source: str


# ----- scoring (both sides) ------------------------------------------------------------------------------
def contains_all(item: GoldItem, passages: Sequence[Passage]) -> bool:
    texts = [normalise(p.text) for p in passages]
    return all(any(normalise(s) in t for t in texts) for s in item.must_contain)


def item_retrieval(item: GoldItem, passages: Sequence[Passage]) -> dict:
    """One answerable item's retrieval flags; ``passages`` best first."""
    gold = set(item.sources)
    figures: dict = {}
    for k in CUTOFFS:
        figures[f"hit@{k}"] = contains_all(item, passages[:k])
        figures[f"source_hit@{k}"] = gold <= {p.source for p in passages[:k]}
    # ranks of chunks: positions stand in as ids, so repeated documents keep their own ranks
    figures[f"rr@{MRR_CUTOFF}"] = reciprocal_rank(
        [str(i) for i in range(len(passages))], lambda i: passages[int(i)].source in gold, MRR_CUTOFF
    )
    return figures


def retrieval_summary(rows: Sequence[dict]) -> dict:
    """Shares (and the mean reciprocal rank) over the answerable items' flags."""
    if not rows:
        return {}
    summary = {}
    for key in rows[0]:
        name = f"mrr@{MRR_CUTOFF}" if key == f"rr@{MRR_CUTOFF}" else key
        summary[name] = sum(float(r[key]) for r in rows) / len(rows)
    return summary


# ----- the textbook recipe -------------------------------------------------------------------------------
def textbook_documents(corpus: Path) -> list:
    """One LangChain Document per PDF page (pypdf) and one per text file, with source and page metadata."""
    from langchain_core.documents import Document
    from pypdf import PdfReader

    documents = []
    for path in sorted(corpus.iterdir()):
        if path.suffix.lower() == ".pdf":
            for number, page in enumerate(PdfReader(path).pages, start=1):
                documents.append(Document(page.extract_text() or "", metadata={"source": path.name, "page": number}))
        elif path.suffix.lower() in (".txt", ".md"):
            documents.append(Document(path.read_text(encoding="utf-8"), metadata={"source": path.name}))
    return documents


def textbook_embedder():
    """The recipe's embedder: ``HuggingFaceEmbeddings`` on the packaged all-MiniLM-L6-v2 (the recipe names
    ``sentence-transformers/all-MiniLM-L6-v2``, which cannot be downloaded here; the weights are the same)."""
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=str(packaged_model_dir()), model_kwargs={"device": "cpu"})


def build_textbook(corpus: Path, embedder, persist_dir: Path):
    """Split, embed and store the corpus the textbook way. Returns (vector store, chunk count)."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=TEXTBOOK_CHUNK_SIZE, chunk_overlap=TEXTBOOK_CHUNK_OVERLAP)
    chunks = splitter.split_documents(textbook_documents(corpus))
    store = Chroma(
        collection_name="textbook",
        embedding_function=embedder,
        persist_directory=str(persist_dir),
        client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True),
    )
    store.add_documents(chunks)
    return store, len(chunks)


def textbook_search(store, question: str, k: int) -> list[Passage]:
    return [Passage(d.page_content, d.metadata["source"]) for d in store.similarity_search(question, k=k)]


# ----- the run -------------------------------------------------------------------------------------------
def run_textbook(corpus: Path, folder: Path, answerable: list, k: int):
    """The textbook recipe built on ``corpus``: per item its retrieval row, and the search times (ms), the
    chunk count and the ingest seconds (loading its model counted, as the project's is)."""
    started = time.perf_counter()
    textbook, chunks = build_textbook(corpus, textbook_embedder(), folder)
    ingest_s = time.perf_counter() - started
    rows, ms = [], []
    for item in answerable:
        started = time.perf_counter()
        passages = textbook_search(textbook, item.question, k)
        ms.append((time.perf_counter() - started) * 1000.0)
        rows.append(item_retrieval(item, passages))
    return rows, ms, chunks, ingest_s


def compare(corpus: Path, gold: Path) -> dict:
    items = load_gold(gold)
    answerable = [item for item in items if item.answerable]
    k = max(CUTOFFS)

    with tempfile.TemporaryDirectory(prefix="compare-recipe-") as tmp:
        textbook_rows, textbook_ms, textbook_chunks, textbook_ingest = run_textbook(
            corpus, Path(tmp) / "textbook", answerable, k
        )
        assistant = Assistant(Settings(data_dir=Path(tmp) / "project"))
        started = time.perf_counter()
        assistant.embedder.warm_up()  # counted in the ingest, as the recipe's model load is
        report = assistant.ingest([corpus])
        project_ingest = time.perf_counter() - started
        print(f"ingest: textbook {textbook_ingest:.1f} s, tip-assistant {project_ingest:.1f} s", file=sys.stderr,
              flush=True)  # fmt: skip
        project_chunks = sum(d.chunk_count for d in assistant.documents())
        results = run_items(assistant, items, k=k)

    project_rows = [
        item_retrieval(r.item, [Passage(p.quote, p.source) for p in r.answer.retrieved])
        for r in results
        if r.item.answerable
    ]
    answers = summarize(results)
    textbook_ms.sort()
    figures = {
        "textbook": {
            **retrieval_summary(textbook_rows),
            "answer_correct": None,
            "citation_hit": None,
            "refusal_recall": None,
            "chunks": textbook_chunks,
            "ingest_s": textbook_ingest,
            "query_ms_p50": percentile(textbook_ms, 50),
        },
        "tip-assistant": {
            **retrieval_summary(project_rows),
            "answer_correct": answers["answer_correct"],
            "citation_hit": answers["citation_hit"],
            "refusal_recall": answers["refusal_recall"],
            "chunks": project_chunks,
            "ingest_s": project_ingest,
            "query_ms_p50": answers["latency_p50_ms"],
        },
    }
    return {
        "corpus": str(corpus),
        "gold": str(gold),
        "items": len(items),
        "answerable": len(answerable),
        "ingest": report.summary(),
        **figures,
        "per_item": [
            {"id": item.id, "type": item.type, "textbook": t, "tip-assistant": p}
            for item, t, p in zip(answerable, textbook_rows, project_rows, strict=True)
        ],
    }


ROWS = (
    ("retrieval hit@4", "hit@4"),
    ("retrieval hit@8", "hit@8"),
    ("gold source hit@4", "source_hit@4"),
    ("gold source hit@8", "source_hit@8"),
    (f"MRR@{MRR_CUTOFF} (gold source)", f"mrr@{MRR_CUTOFF}"),
    ("answer correct", "answer_correct"),
    ("gold source cited", "citation_hit"),
    ("unanswerable refused", "refusal_recall"),
    ("chunks", "chunks"),
    ("ingest (s)", "ingest_s"),
    ("p50 ms (search / ask)", "query_ms_p50"),
)


def table(figures: dict) -> str:
    def cell(value, missing: str = "n/a") -> str:
        if value is None:
            return missing
        return str(value) if isinstance(value, int) else f"{value:.2f}"

    lines = [
        f"{figures['answerable']} answerable and {figures['items'] - figures['answerable']} unanswerable questions",
        f"{'metric':<26} | {'textbook':<20} | tip-assistant",
        f"{'-' * 26}-+-{'-' * 20}-+-{'-' * 13}",
    ]
    for label, key in ROWS:
        textbook = cell(figures["textbook"].get(key), NEEDS_LLM)
        lines.append(f"{label:<26} | {textbook:<20} | {cell(figures['tip-assistant'].get(key))}")
    ratio = figures["textbook"]["ingest_s"] / figures["tip-assistant"]["ingest_s"]
    lines.append(f"ingest: tip-assistant took {1 / ratio:.2f} x the textbook recipe's time ({ratio:.2f} x as fast)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--gold", type=Path, default=ROOT.parent / "shared" / "eval" / "qa-dev.jsonl")
    parser.add_argument("--json", action="store_true", help="print the figures (and per-item flags) as JSON")
    args = parser.parse_args()
    use_offline_mode()
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    figures = compare(args.corpus, args.gold)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(table(figures))
        for row in figures["per_item"]:
            t, p = row["textbook"], row["tip-assistant"]
            if t["hit@8"] != p["hit@8"]:
                print(f"  {row['id']} ({row['type']}): hit@8 textbook {t['hit@8']}, tip-assistant {p['hit@8']}")


if __name__ == "__main__":
    main()
