"""Ingest the shared corpus, answer the dev questions, and print speed and quality figures.

    python bench/corpus_bench.py [--corpus ../shared/corpus] [--gold ../shared/eval/qa-dev.jsonl]

Times are also printed as ratios to references measured in the same run, because this machine is shared
and absolute seconds drift: ingest against plain pypdf text extraction of the same files, question latency
against one query embedding.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluation.gold_set import load_gold, percentile, run_items, summarize  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings, use_offline_mode  # noqa: E402


def pypdf_reference_seconds(corpus: Path) -> float:
    """Plain page-by-page text extraction: the least any PDF ingest has to do."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    started = time.perf_counter()
    for path in sorted(corpus.glob("*.pdf")):
        for page in PdfReader(path).pages:
            page.extract_text()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--gold", type=Path, default=ROOT.parent / "shared" / "eval" / "qa-dev.jsonl")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = parser.parse_args()
    use_offline_mode()

    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(Settings.from_env(data_dir=Path(tmp) / "data"))
        started = time.perf_counter()
        assistant.warm_up()
        model_load = time.perf_counter() - started

        reference = pypdf_reference_seconds(args.corpus)
        started = time.perf_counter()
        report = assistant.ingest([args.corpus])
        ingest_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = assistant.ingest([args.corpus])
        reingest_seconds = time.perf_counter() - started
        chunks = sum(d.chunk_count for d in assistant.documents())

        query_reference = []
        for _ in range(20):
            t = time.perf_counter()
            assistant.embedder.encode(["How many victims were identified at the refugee camp?"])
            query_reference.append((time.perf_counter() - t) * 1000)
        embed_ms = statistics.median(query_reference)

        results = run_items(assistant, load_gold(args.gold))
        figures = summarize(results)
        # The first question pays for lazy set-up; latency is measured on a second pass over the set.
        latencies = sorted(r.latency_ms for r in run_items(assistant, [r.item for r in results]))

    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    figures.update(latency_p50_ms=p50, latency_p95_ms=p95)
    print(f"corpus: {len(report.outcomes)} files ({report.summary()}), {chunks} chunks")
    print(f"model load: {model_load:.1f} s")
    print(f"ingest: {ingest_seconds:.1f} s  = {ingest_seconds / reference:.2f} x plain pypdf extraction "
          f"({reference:.1f} s)")
    print(f"re-ingest unchanged: {reingest_seconds:.2f} s for {len(again.outcomes)} files "
          f"({again.summary()}); {1000 * reingest_seconds / max(1, len(again.outcomes)):.0f} ms per file")
    print(f"question latency: p50 {p50:.0f} ms, p95 {p95:.0f} ms  = {p50 / embed_ms:.1f} x / {p95 / embed_ms:.1f} x "
          f"one query embedding ({embed_ms:.1f} ms)")
    print(f"dev set ({figures['answerable']} answerable, {figures['unanswerable']} unanswerable, k = {figures['k']}):")
    print(f"  retrieval hit@k (every must_contain): {_share(figures['retrieval_hit_at_k'])}")
    print(f"  gold source in top k / MRR:           {_share(figures['source_hit_at_k'])} / {_share(figures['mrr'])}")
    print(f"  answer contains every must_contain:   {_share(figures['answer_correct'])}")
    print(f"  gold source cited:                    {_share(figures['citation_hit'])}")
    print(f"  gold page cited:                      {_share(figures['citation_page_hit'])}")
    print(f"  answerable wrongly refused:           {_share(figures['false_refusal_rate'])}")
    print(f"  unanswerable refused (recall):        {_share(figures['refusal_recall'])}")
    print(f"  refusals that were right (precision): {_share(figures['refusal_precision'])}")
    for r in results:
        logging.getLogger("bench").info("%s %-12s %s | %s", r.item.id, r.item.type, r.failure or "ok",
                                        r.answer.text[:120])
    if args.json:
        print(json.dumps(figures, indent=2))


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
