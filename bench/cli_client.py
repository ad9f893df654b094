"""Wall time of `tip-assistant ask` from the shell, through a running server and on its own.

    python bench/cli_client.py [--data-dir DIR] [--corpus ../shared/corpus] [--runs 5]

Starts `tip-assistant serve` on the library in DIR (a temporary folder with the corpus ingested when not
given, or when DIR is empty), then runs the command line as a user would, in a new process each time: the dev
questions with the server running (the command goes through its API), and the same with `--no-server` (it
loads the model and opens the library itself). Prints the wall times of both and the server's own time per
answer (`timings_ms` of the answer), so what the client adds is visible. The issue target: through the
server, under 1.5 s wall. The machine is shared, so the same-run ratio is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "assistant.interfaces.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def questions(gold: Path, count: int) -> list[str]:
    items = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [item["question"] for item in items if not item.get("history")][:count]


def timed_ask(data_dir: Path, question: str, *extra: str) -> tuple[float, float]:
    """Wall seconds of one `tip-assistant ask --json` process, and the server-side milliseconds it reports."""
    started = time.perf_counter()
    done = subprocess.run([*CLI, "--data-dir", str(data_dir), *extra, "ask", question, "--json"], cwd=ROOT,
                          capture_output=True, text=True, check=True)  # fmt: skip
    wall = time.perf_counter() - started
    return wall, sum(json.loads(done.stdout)["timings_ms"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--gold", type=Path, default=ROOT.parent / "shared" / "eval" / "qa-dev.jsonl")
    parser.add_argument("--runs", type=int, default=5, help="questions asked each way")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        if not (data_dir / "library.sqlite3").exists():
            print(f"ingesting {args.corpus} into {data_dir} …", file=sys.stderr)
            subprocess.run([*CLI, "--data-dir", str(data_dir), "ingest", str(args.corpus)], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
        port = free_port()
        server = subprocess.Popen([*CLI, "--data-dir", str(data_dir), "serve", "--port", str(port)], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        try:
            server.stdout.readline()  # "tip-assistant: listening on …" once the model is loaded
            while not (data_dir / "server.json").exists():
                time.sleep(0.1)
            asked = questions(args.gold, args.runs)
            timed_ask(data_dir, asked[0])  # the server's first answer loads what questions share
            through = [timed_ask(data_dir, q) for q in asked]
            alone = [timed_ask(data_dir, q, "--no-server") for q in asked]
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)

    def line(name: str, runs: list[tuple[float, float]]) -> float:
        walls = [w for w, _ in runs]
        work = statistics.median(ms for _, ms in runs) / 1000
        print(f"  {name:<22} wall p50 {statistics.median(walls):6.2f} s  max {max(walls):6.2f} s  "
              f"(answering itself: p50 {work:.2f} s)")  # fmt: skip
        return statistics.median(walls)

    print(f"tip-assistant ask, {len(asked)} dev questions each way, {os.cpu_count()} CPUs:")
    served = line("through the server", through)
    alone_p50 = line("on its own (--no-server)", alone)
    verdict = "meets" if served < 1.5 else "misses"
    print(f"  through the server / on its own: {served / alone_p50:.2f}×; {verdict} the 1.5 s target")


if __name__ == "__main__":
    main()
