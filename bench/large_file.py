"""Ingest one large text file and print its peak memory, time and progress, against a small reference file.

    python bench/large_file.py [--mb 50] [--reference-mb 5] [--corpus ../shared/corpus] [--json]

Builds a text file of ``--mb`` megabytes under a temporary folder from the shared corpus (the .txt files and
the text of the PDFs, paragraphs shuffled differently in each copy so that passages do not repeat), then
ingests it into a temporary library in a subprocess of its own (``Assistant.ingest`` with a
``chunk_progress`` callback) and prints that process's peak resident memory (MB), the wall time, the chunks
embedded per second and the progress lines it emitted, with its memory at each. A ``--reference-mb`` file
is ingested the same way first, and the figures of the large one are also given as ratios to it, since this
machine is shared and absolute seconds drift. Last, a run with ``TIP_MAX_UPLOAD_MB`` below the reference
file's size shows the refusal of a file over the limit. (The two measured runs raise ``TIP_MAX_UPLOAD_MB`` to
their file's size when it is lower.)

Embedding runs at about 46 chunks/s on two cores: 50 MB is about 70,000 chunks, some 30 minutes. Run it in
the background and read the log, e.g. ``nohup python bench/large_file.py > large_file.log 2>&1 &``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.pipeline import MEGABYTE  # noqa: E402

PROGRESS = "progress "
RESULT = "result "
SHOWN_PROGRESS_LINES = 12  # progress lines printed per run, evenly spread; all are counted


def corpus_paragraphs(corpus: Path) -> list[str]:
    """The paragraphs of the corpus's text files and of its PDFs' extracted text."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    texts = [path.read_text(encoding="utf-8") for path in sorted(corpus.glob("*.txt"))]
    for path in sorted(corpus.glob("*.pdf")):
        texts.append("\n\n".join(page.extract_text() or "" for page in PdfReader(path).pages))
    return [p.strip() for text in texts for p in text.split("\n\n") if p.strip()]


def build_text_file(path: Path, megabytes: float, paragraphs: list[str], seed: int = 0) -> int:
    """Write copies of ``paragraphs``, each shuffled anew under a "Part N" heading, until ``path`` holds
    ``megabytes`` megabytes; returns its size in bytes."""
    rng = random.Random(seed)
    target = int(megabytes * MEGABYTE)
    size, part = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while size < target:
            part += 1
            shuffled = paragraphs[:]
            rng.shuffle(shuffled)
            block = f"Part {part}\n\n" + "\n\n".join(shuffled) + "\n\n"
            data = block.encode("utf-8")[: target - size]
            text = data.decode("utf-8", errors="ignore")
            out.write(text)
            size += len(text.encode("utf-8"))
    return size


# --- the ingest, in a process of its own ----------------------------------------------------------------


def current_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(data_dir: Path, file: Path, max_upload_mb: int | None) -> None:
    """Ingest ``file`` into ``data_dir``; print a progress line per ``chunk_progress`` call, then the result."""
    from assistant.service import Assistant
    from assistant.settings import Settings, use_offline_mode

    use_offline_mode()
    limit = max_upload_mb or max(Settings.from_env().max_upload_mb, math.ceil(file.stat().st_size / MEGABYTE))
    assistant = Assistant(Settings.from_env(data_dir=data_dir, max_upload_mb=limit))
    started = time.perf_counter()
    first_progress: list[float] = []

    def chunk_progress(source: str, done: int, total: int) -> None:
        seconds = time.perf_counter() - started
        if not first_progress:
            first_progress.append(seconds)
        line = {"source": source, "done": done, "total": total, "seconds": seconds, "rss_mb": current_rss_mb()}
        print(PROGRESS + json.dumps(line), flush=True)

    report = assistant.ingest([file], chunk_progress=chunk_progress)
    seconds = time.perf_counter() - started
    outcome = report.outcomes[0]
    result = {
        "status": outcome.status.value,
        "message": outcome.message,
        "chunks": outcome.chunks,
        "seconds": seconds,
        "first_progress_seconds": first_progress[0] if first_progress else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # kilobytes on Linux
    }
    print(RESULT + json.dumps(result), flush=True)


def run_ingest(file: Path, data_dir: Path, label: str, max_upload_mb: int | None = None) -> dict:
    """Ingest ``file`` in a subprocess; print its progress lines as they come and return its figures."""
    command = [sys.executable, __file__, "--child", str(data_dir), str(file)]
    if max_upload_mb:
        command += ["--max-upload-mb", str(max_upload_mb)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    progress: list[dict] = []
    result: dict = {}
    shown = 0
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(PROGRESS):
            progress.append(json.loads(line[len(PROGRESS) :]))
            step = progress[-1]
            if step["done"] >= shown / SHOWN_PROGRESS_LINES * step["total"] or step["done"] == step["total"]:
                shown += 1
                print(f"  [{label}] {step['source']}: {step['done']}/{step['total']} chunks, "
                      f"{step['seconds']:.0f} s, RSS {step['rss_mb']:.0f} MB", flush=True)  # fmt: skip
        elif line.startswith(RESULT):
            result = json.loads(line[len(RESULT) :])
    process.wait()
    if process.returncode != 0 or not result:
        raise SystemExit(f"{label}: the ingest process failed (exit {process.returncode})")
    result["process_seconds"] = time.perf_counter() - started
    result["progress_lines"] = len(progress)
    result["progress_increasing"] = all(a["done"] < b["done"] for a, b in pairwise(progress))
    result["progress_rss_mb"] = [round(p["rss_mb"]) for p in progress]
    result["megabytes"] = file.stat().st_size / MEGABYTE
    embedding = result["seconds"] - (result["first_progress_seconds"] or 0)
    result["chunks_per_second"] = result["chunks"] / embedding if embedding > 0 else 0.0
    return result


def describe(label: str, r: dict) -> str:
    lines = [
        f"{label}: {r['megabytes']:.1f} MB, {r['status']}, {r['chunks']} chunks",
        f"  peak RSS {r['peak_rss_mb']:.0f} MB; ingest {r['seconds']:.0f} s (process {r['process_seconds']:.0f} s), "
        f"{r['first_progress_seconds'] or 0:.0f} s reading and chunking before the first progress line, "
        f"{r['chunks_per_second']:.1f} chunks/s embedded and stored",
        f"  {r['progress_lines']} progress lines, counts increasing: {r['progress_increasing']}; "
        f"RSS at 0/25/50/75/100 %: {' / '.join(str(v) for v in quartiles(r['progress_rss_mb']))} MB",
    ]
    return "\n".join(lines)


def quartiles(values: list[int]) -> list[int]:
    if not values:
        return []
    return [values[min(len(values) - 1, round(q * (len(values) - 1)))] for q in (0, 0.25, 0.5, 0.75, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="size of the large file, in megabytes")
    parser.add_argument("--reference-mb", type=float, default=5.0, help="size of the reference file")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    parser.add_argument("--child", nargs=2, type=Path, metavar=("DATA_DIR", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--max-upload-mb", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.max_upload_mb)
        return

    paragraphs = corpus_paragraphs(args.corpus)
    with tempfile.TemporaryDirectory(prefix="tip-large-file-") as tmp:
        folder = Path(tmp)
        reference_file, large_file = folder / "reference.txt", folder / "large.txt"
        build_text_file(reference_file, args.reference_mb, paragraphs, seed=1)
        build_text_file(large_file, args.mb, paragraphs, seed=2)
        print(f"files: {reference_file.stat().st_size / MEGABYTE:.1f} MB and {large_file.stat().st_size / MEGABYTE:.1f}"
              f" MB in {folder}", flush=True)  # fmt: skip

        reference = run_ingest(reference_file, folder / "reference-library", "reference")
        print(describe("reference", reference), flush=True)
        large = run_ingest(large_file, folder / "large-library", "large")
        print(describe("large", large), flush=True)
        limit = max(1, math.floor(reference["megabytes"]) - 1)
        refused = run_ingest(reference_file, folder / "refusal-library", "limit", max_upload_mb=limit)
        print(f"over the limit (TIP_MAX_UPLOAD_MB={limit}): {refused['status']}: {refused['message']} "
              f"({refused['seconds']:.1f} s)")  # fmt: skip

    ratios = {
        "size": large["megabytes"] / reference["megabytes"],
        "chunks": large["chunks"] / max(1, reference["chunks"]),
        "ingest_seconds": large["seconds"] / reference["seconds"],
        "chunks_per_second": large["chunks_per_second"] / max(1e-9, reference["chunks_per_second"]),
        "peak_rss": large["peak_rss_mb"] / reference["peak_rss_mb"],
    }
    print("large / reference: " + ", ".join(f"{name} {value:.2f}" for name, value in ratios.items()))
    if args.json:
        print(json.dumps({"reference": reference, "large": large, "refused": refused, "ratios": ratios}))


if __name__ == "__main__":
    main()
