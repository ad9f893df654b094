"""The memory an ingest holds: `tip-assistant ingest` of the shared corpus, with the RSS of all its processes.

    python bench/ingest_memory.py [--corpus ../shared/corpus] [--fresh-cache] [--every 0.05]

Runs ``tip-assistant --no-server ingest CORPUS`` into a temporary library, as a user would, and samples the
resident memory (``/proc/PID/status`` VmRSS) of the command and of every process it starts (the parsing
process, and the model's export on a machine that has not made it yet) every ``--every`` seconds. Prints the
wall time, the peak of the summed RSS (the memory the ingest holds at once, the figure the issue "Fast at any
size" bounds at 1 GB) and each process's own peak. ``--fresh-cache`` gives the command an empty cache folder
(``TIP_CACHE_DIR``), so the run includes the one-time export of the model, as a first ingest on a machine does.
Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, read from ``/proc/*/stat`` (parent PID is the 4th field)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--fresh-cache", action="store_true", help="an empty cache folder: the model is exported")
    parser.add_argument("--every", type=float, default=0.05, help="seconds between samples")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ingest-memory-") as tmp:
        env = {**os.environ, "TIP_DATA_DIR": str(Path(tmp) / "data"), "HF_HUB_OFFLINE": "1"}
        if args.fresh_cache:
            env["TIP_CACHE_DIR"] = str(Path(tmp) / "cache")
        command = [sys.executable, "-m", "assistant.interfaces.cli", "--no-server", "ingest", str(args.corpus)]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)  # fmt: skip
        peak_sum, peaks = 0.0, {}
        while process.poll() is None:
            sizes = {pid: rss_mb(pid) for pid in descendants(process.pid)}
            peak_sum = max(peak_sum, sum(sizes.values()))
            for pid, size in sizes.items():
                peaks[pid] = max(peaks.get(pid, 0.0), size)
            time.sleep(args.every)
        seconds = time.perf_counter() - started
        errors = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        sys.exit(f"the ingest failed ({process.returncode}):\n{errors}")
    cache = "fresh cache: the model exported first" if args.fresh_cache else "the model exported already"
    print(f"ingest of {args.corpus} ({cache})")
    print(f"wall {seconds:.1f} s; peak RSS of all its processes together {peak_sum:.0f} MB")
    own = sorted(peaks.items(), key=lambda item: -item[1])
    print("each process's peak: " + ", ".join(f"{size:.0f} MB" + (" (the command)" if pid == process.pid else "")
                                               for pid, size in own if size > 20))  # fmt: skip


if __name__ == "__main__":
    main()
