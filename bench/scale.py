"""Questions at 1,000, 10,000 and 100,000 passages: latency, retrieval time, memory, disk and answer quality.

    python bench/scale.py [--sizes 1000 10000 100000] [--data-dir DIR] [--keep]

Builds one library that grows: the shared corpus (about 900 passages; measured alone first), then distractor
passages up to each size in ``--sizes``. At each size, a fresh process opens the library as a running server
would have it (model loaded and exported, sentence vectors kept) and asks every question of both
dev sets once to warm up, then again, measured; it prints per size:

- ask p50 / p95 (ms, wall time of ``Assistant.ask``, the measured pass) and retrieval p50 (its ``retrieve``
  timing), with p95 as a ratio to the smallest size's (not the corpus alone's);
- peak resident memory of that process (MB) and the library's size on disk (MB);
- the dev-set figures (answer correct, refusal recall, retrieval hit@k) of each gold set, and the change in
  answer correct from the corpus alone.

Distractors (documented stand-ins, as embedding 100,000 passages on two cores would take hours): plain-text
documents whose paragraphs are three to six sentences drawn at random (seeded) from the DBpedia abstracts of
``../shared/beir/dbpedia-mini`` — real prose on other subjects, which lexical search matches as it would any
text. Their passage vectors and the vectors of their sentences are random unit vectors (seeded by the text),
written through the library's own ingest with the embedder swapped: a random vector is about as far from
every question as an unrelated passage, so dense retrieval ranks them low, and the lexical side, bm25 over
100,000 passages whose common words match most questions, carries the load. The answers therefore measure
what a large library costs the lexical index, the candidate scoring and the composer, not the embedder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"
GOLD = [SHARED / "eval" / "qa-dev.jsonl", SHARED / "eval" / "qa-dev-2.jsonl"]
DBPEDIA = SHARED / "beir" / "dbpedia-mini" / "corpus.jsonl"
PARAGRAPHS_PER_DOCUMENT = 400
DIMENSION = 384


class RandomVectors:
    """Unit vectors drawn from a generator seeded by the text: the same text always gets the same vector."""

    def encode(self, texts):
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest())
            vector = np.random.default_rng(seed).standard_normal(DIMENSION)
            out[i] = vector / np.linalg.norm(vector)
        return out


def dbpedia_sentences() -> list[str]:
    sentences = []
    for line in DBPEDIA.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        text = re.sub(r"\s*@en\s*<http[^>]*>.*$", "", text)  # the dump's language tag and link
        sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 6]
    return sentences


def add_distractors(data_dir: Path, target: int, folder: Path, rng: random.Random, sentences: list[str]) -> int:
    """Add distractor documents until the library holds ``target`` passages; returns how many it holds."""
    from assistant.answering.extractive import sentence_contexts
    from assistant.service import Assistant
    from assistant.settings import Settings
    from vectorstore.text_vectors import TEXT_VECTORS_FILE, TextVectors

    assistant = Assistant(Settings(data_dir=data_dir))
    identity = assistant.embedder.identity
    store = assistant.store
    store.embedder = RandomVectors()  # passage vectors: random (see the module docstring)
    kept = TextVectors(RandomVectors(), data_dir / TEXT_VECTORS_FILE, identity)
    count = len(assistant.catalog.chunk_ids())
    while count < target:
        name = folder / f"distractor-{count:07d}.txt"
        paragraphs = [" ".join(rng.sample(sentences, rng.randint(3, 6))) for _ in range(PARAGRAPHS_PER_DOCUMENT)]
        name.write_text("\n\n".join(paragraphs), encoding="utf-8")
        before = set(assistant.catalog.chunk_ids())
        report = assistant.ingest([name])
        if not report.ok:
            raise SystemExit(f"could not add {name}: {report.summary()}")
        new = [i for i in assistant.catalog.chunk_ids() if i not in before]
        chunks = assistant.catalog.chunks(new)
        kept.encode([text for chunk in chunks.values() for text in sentence_contexts(chunk)])
        count += len(new)
        print(f"  {count} passages", file=sys.stderr, flush=True)
    return count


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def measure(data_dir: Path) -> dict:
    """Run in a process of its own: ask the dev questions (warm-up pass, then measured pass)."""
    from assistant.evaluation.gold_set import load_gold, percentile, run_items, summarize
    from assistant.service import Assistant
    from assistant.settings import Settings, use_offline_mode

    use_offline_mode()
    assistant = Assistant(Settings(data_dir=data_dir))
    assistant.warm_up()
    assistant.prepare_graph()  # as a server has it once ready (exported once per machine)
    sets = {path.name: load_gold(path) for path in GOLD}
    for items in sets.values():
        run_items(assistant, items)  # warm-up: first loads, the vocabulary, the question-vector cache misses
    figures: dict = {"sets": {}}
    latencies, retrieval = [], []
    for name, items in sets.items():
        results = run_items(assistant, items)
        latencies += [r.latency_ms for r in results]
        retrieval += [r.answer.timings_ms.get("retrieve", 0.0) for r in results]
        summary = summarize(results)
        kept = ("answer_correct", "refusal_recall", "retrieval_hit_at_k")
        figures["sets"][name] = {key: summary[key] for key in kept}
    latencies.sort()
    figures.update(
        passages=len(assistant.catalog.chunk_ids()),
        ask_p50_ms=percentile(latencies, 50),
        ask_p95_ms=percentile(latencies, 95),
        retrieve_p50_ms=statistics.median(retrieval),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--data-dir", type=Path, help="build the library here (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the library built (with --data-dir)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the per-size process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return

    from assistant.settings import use_offline_mode

    use_offline_mode()
    tmp = Path(tempfile.mkdtemp(prefix="scale-"))
    data_dir = args.data_dir or tmp / "data"
    try:
        if not (data_dir / "library.sqlite3").exists():
            print(f"ingesting {SHARED / 'corpus'} into {data_dir} …", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-m", "assistant.interfaces.cli", "--data-dir", str(data_dir), "ingest",
                            str(SHARED / "corpus")], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            print("computing the corpus's sentence vectors …", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-c", PREFETCH, str(data_dir)], cwd=ROOT, check=True)
        rng, sentences = random.Random(7), dbpedia_sentences()
        (tmp / "distractors").mkdir(exist_ok=True)
        rows = []
        for size in [0, *sorted(args.sizes)]:  # 0: the corpus alone, before any distractor
            started = time.perf_counter()
            held = add_distractors(data_dir, size, tmp / "distractors", rng, sentences) if size else 0
            built = time.perf_counter() - started
            done = subprocess.run([sys.executable, __file__, "--measure", str(data_dir)], cwd=ROOT, check=True,
                                  capture_output=True, text=True)  # fmt: skip
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row.update(size=size, disk_mb=disk_mb(data_dir), build_s=built, held=held)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        report(rows)
    finally:
        if not (args.data_dir and args.keep):
            shutil.rmtree(tmp, ignore_errors=True)
            if args.data_dir and not args.keep:
                print(f"(the library in {args.data_dir} is kept: it was given)", file=sys.stderr)


PREFETCH = """
import sys
from pathlib import Path
from assistant.service import Assistant
from assistant.settings import Settings
a = Assistant(Settings(data_dir=Path(sys.argv[1])))
a.warm_up()
a.prefetch_sentence_vectors().done.wait()
a.stop_prefetch()
"""


def report(rows: list[dict]) -> None:
    """A line per size: the first row is the corpus alone (answer figures change from it), the second the
    smallest size (p95 ratios to it)."""
    alone, base = rows[0], rows[min(1, len(rows) - 1)]
    print(f"{'passages':>9} {'ask p50':>8} {'ask p95':>8} {'p95/small':>9} {'retrieve p50':>12} {'peak RSS':>9} "
          f"{'disk':>8}  answer correct (qa-dev, qa-dev-2; change)   refusal recall   hit@k")  # fmt: skip
    for row in rows:
        sets = list(row["sets"].values())
        first = list(alone["sets"].values())
        correct = ", ".join(f"{s['answer_correct']:.2f} ({s['answer_correct'] - f['answer_correct']:+.2f})"
                            for s, f in zip(sets, first, strict=True))  # fmt: skip
        refusal = ", ".join(f"{s['refusal_recall']:.2f}" for s in sets)
        hits = ", ".join(f"{s['retrieval_hit_at_k']:.2f}" for s in sets)
        print(f"{row['passages']:>9} {row['ask_p50_ms']:6.0f}ms {row['ask_p95_ms']:6.0f}ms "
              f"{row['ask_p95_ms'] / base['ask_p95_ms']:8.2f}x {row['retrieve_p50_ms']:10.0f}ms "
              f"{row['peak_rss_mb']:7.0f}MB {row['disk_mb']:6.0f}MB  {correct:<40} {refusal:<16} {hits}")  # fmt: skip
    print("targets at 100,000 passages (issue 'Fast at any size'): ask p95 <= 300 ms and <= 3 x the 1,000 figure; "
          "answer correct within 0.03 of the corpus alone")  # fmt: skip


if __name__ == "__main__":
    main()
