"""Many users at once: N clients asking the dev questions through the JSON API, against one client.

    python bench/load.py [--data-dir DIR] [--seconds 60] [--clients 1 4 16]

The server is started here as its own process (``tip-assistant --data-dir DIR serve --port P``), so the
client threads never share its interpreter lock, on the library in ``--data-dir`` (made from ``--corpus``
in a temporary folder when not given; ``tip-assistant --data-dir DIR ingest ../shared/corpus`` makes one to
reuse). ``--url`` measures a server that is already running instead.

Once ``GET /api/v1/health`` says the server is ready and has kept the sentence vectors of every passage (which
a server computes while idle, so one that has been up a while has them; the time it took is printed), every
question is asked once (the warm-up: lazy loads are counted in no level). Then, for each number of clients N,
N threads each ask ``POST /api/v1/ask`` in a closed loop — the next question as soon as the last answer
arrives — for ``--seconds``, each client starting at a different place in the questions of ``--gold``
(``question`` and ``history`` of every line). Requests started before the deadline are finished and counted.
Per level it prints the requests, the errors (a status other than 200, or no response), the throughput
(answers per second of the level's wall time), p50 and p95 latency of the answers, and throughput and p95 as
ratios to the one-client level of the same run: this machine is shared, and only ratios measured together
compare. For a server started here it also prints the server's CPU seconds per answer and the cores it used:
on a busy machine more threads take a larger share of the cores, which raises throughput without the server
doing its work any better. The clients' own share of the cores (this process) is printed too: they run on the
server's machine. The verdict is the target for many users: at the largest N, no error, throughput at
least 1.5 x one client's and p95 at most 4 x one client's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.evaluation.gold_set import load_gold, percentile  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_GOLD = [SHARED / "eval" / "qa-dev.jsonl", SHARED / "eval" / "qa-dev-2.jsonl"]
STARTUP_SECONDS = 900.0  # the server loads the model, then computes the sentence vectors of the library
REQUEST_TIMEOUT = 300.0
MIN_THROUGHPUT_GAIN = 1.5  # throughput(N) / throughput(1), at the largest N
MAX_P95_GROWTH = 4.0  # p95(N) / p95(1), at the largest N


@dataclass
class Level:
    clients: int
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests only
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: float | None = None  # CPU seconds the server process used during the level (None: not ours)
    client_cpu: float = 0.0  # CPU seconds the clients (this process) used during the level

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    @property
    def cpu_per_answer(self) -> float | None:
        return self.cpu / len(self.latencies) if self.cpu is not None and self.latencies else None

    def p(self, pct: float) -> float:
        return percentile(sorted(self.latencies), pct)


def questions(paths: list[Path]) -> list[dict]:
    """The request bodies: every line's question with its history."""
    return [{"question": item.question, "history": list(item.history)} for path in paths for item in load_gold(path)]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ingest(corpus: Path, data_dir: Path) -> None:
    print(f"ingesting {corpus} into {data_dir} ...", flush=True)
    command = [sys.executable, "-m", "assistant.interfaces.cli", "--data-dir", str(data_dir), "ingest", str(corpus)]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def start_server(data_dir: Path, port: int, log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "assistant.interfaces.cli", "--data-dir", str(data_dir), "serve"]
    command += ["--port", str(port)]
    log = log_path.open("w")
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})


def wait_healthy(url: str, server: subprocess.Popen | None, log_path: Path | None) -> dict:
    """The server's health once it is ready and has kept the sentence vectors of every passage (the state of
    a server that has been up a while; see README, "Serving a team")."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            tail = log_path.read_text()[-2000:] if log_path else ""
            raise SystemExit(f"the server exited with {server.returncode}:\n{tail}")
        try:
            response = httpx.get(f"{url}/api/v1/health", timeout=5)
            health = response.json() if response.status_code == 200 else {}
            ready = health.get("sentence_vectors", "ready") == "ready"
            ready = ready and health.get("answering_processes", "off") in ("off", "ready")
            if health.get("status") == "ok" and ready:
                return health
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url}/api/v1/health did not say ready within {STARTUP_SECONDS:.0f} s")


def ask(client: httpx.Client, url: str, body: dict) -> tuple[float, str | None]:
    """Seconds the answer took, and what went wrong (None for a 200)."""
    started = time.perf_counter()
    try:
        response = client.post(f"{url}/api/v1/ask", json=body)
        error = None if response.status_code == 200 else f"HTTP {response.status_code}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - started, error


def cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU time of a process and its living descendants (the answering processes of
    ``TIP_ANSWER_PROCESSES``), all their threads, in seconds (Linux); None when unknown."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) or 0.0 for child in children(pid))


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (from /proc/PID/task/*/children; empty where the kernel lacks it)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def run_level(url: str, bodies: list[dict], clients: int, seconds: float, pid: int | None = None) -> Level:
    level = Level(clients)
    cpu_before, client_before = cpu_seconds(pid), time.process_time()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = 0.0

    def client_loop(n: int) -> None:
        position = n * len(bodies) // clients  # each client starts at its own place in the questions
        with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
            start.wait()
            while time.perf_counter() < deadline:
                latency, error = ask(client, url, bodies[position % len(bodies)])
                position += 1
                with lock:
                    (level.errors.append(error) if error else level.latencies.append(latency))

    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    level.wall = time.perf_counter() - began
    level.client_cpu = time.process_time() - client_before
    cpu_after = cpu_seconds(pid)
    if cpu_before is not None and cpu_after is not None:
        level.cpu = cpu_after - cpu_before
    return level


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def report(levels: list[Level]) -> bool:
    one = levels[0]
    print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'answers/s':>9} {'p50 s':>7} {'p95 s':>7} "
          f"{'thr/thr1':>8} {'p95/p95_1':>9} {'CPU s/answer':>12} {'cores used':>10} {'client cores':>12}")  # fmt: skip
    for lv in levels:
        gain = lv.throughput / one.throughput if one.throughput else 0.0
        growth = lv.p(95) / one.p(95) if one.p(95) else 0.0
        per_answer = f"{lv.cpu_per_answer:.2f}" if lv.cpu_per_answer is not None else "n/a"
        cores = f"{lv.cpu / lv.wall:.2f}" if lv.cpu is not None and lv.wall else "n/a"
        print(f"{lv.clients:>7} {lv.requests:>8} {len(lv.errors):>6} {lv.throughput:>9.2f} {lv.p(50):>7.2f} "
              f"{lv.p(95):>7.2f} {gain:>8.2f} {growth:>9.2f} {per_answer:>12} {cores:>10} "
              f"{lv.client_cpu / lv.wall if lv.wall else 0.0:>12.2f}")  # fmt: skip
    for lv in levels:
        for error in sorted(set(lv.errors))[:3]:
            print(f"  {lv.clients} clients, error: {error}")
    most = levels[-1]
    gain = most.throughput / one.throughput if one.throughput else 0.0
    growth = most.p(95) / one.p(95) if one.p(95) else float("inf")
    checks = [
        (not most.errors, f"{len(most.errors)} errors (target 0)"),
        (gain >= MIN_THROUGHPUT_GAIN, f"throughput {gain:.2f} x one client's (target >= {MIN_THROUGHPUT_GAIN})"),
        (growth <= MAX_P95_GROWTH, f"p95 {growth:.2f} x one client's (target <= {MAX_P95_GROWTH})"),
    ]
    ok = all(passed for passed, _ in checks)
    print(f"verdict at {most.clients} clients: {'PASS' if ok else 'FAIL'}: "
          + "; ".join(("" if passed else "MISSED ") + what for passed, what in checks))  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="an ingested library (default: --corpus, ingested here)")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--gold", type=Path, nargs="+", default=DEFAULT_GOLD, help="question files (JSON lines)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16], help="levels; the first is the reference")
    parser.add_argument("--seconds", type=float, default=60.0, help="time each level asks for (default 60)")
    parser.add_argument("--url", help="measure this running server (http://127.0.0.1:7860) instead of starting one")
    parser.add_argument("--server-env", nargs="*", default=[], metavar="NAME=VALUE",
                        help="environment of the server started here (e.g. TIP_TOP_K=4)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = parser.parse_args()

    bodies = questions(args.gold)
    with tempfile.TemporaryDirectory(prefix="tip-load-") as tmp:
        server = log_path = None
        url = args.url.rstrip("/") if args.url else None
        if url is None:
            data_dir = args.data_dir
            if data_dir is None:
                data_dir = Path(tmp) / "data"
                ingest(args.corpus, data_dir)
            port, log_path = free_port(), Path(tmp) / "server.log"
            env = dict(pair.split("=", 1) for pair in args.server_env)
            server = start_server(data_dir, port, log_path, env)
            url = f"http://127.0.0.1:{port}"
        try:
            waited = time.perf_counter()
            health = wait_healthy(url, server, log_path)
            print(f"server {url}: {health['documents']} documents, ready with their sentence vectors after "
                  f"{time.perf_counter() - waited:.0f} s; answering processes "
                  f"{health.get('answering_processes', 'off')}; "
                  f"{len(bodies)} questions; load average {load_average()}; "
                  f"{os.cpu_count()} CPUs", flush=True)  # fmt: skip
            started = time.perf_counter()
            with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
                warm_errors = [e for _, e in (ask(client, url, b) for b in bodies) if e]
            print(f"warm-up: every question once in {time.perf_counter() - started:.0f} s, "
                  f"{len(warm_errors)} errors", flush=True)  # fmt: skip
            levels = []
            for n in args.clients:
                levels.append(run_level(url, bodies, n, args.seconds, server.pid if server else None))
                lv = levels[-1]
                print(f"  {n} clients: {lv.requests} requests in {lv.wall:.0f} s; load average {load_average()}",
                      flush=True)  # fmt: skip
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
    ok = report(levels)
    if args.json:
        print(json.dumps([{"clients": lv.clients, "requests": lv.requests, "errors": len(lv.errors),
                           "throughput": lv.throughput, "p50_s": lv.p(50), "p95_s": lv.p(95), "cpu_s": lv.cpu}
                          for lv in levels], indent=2))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
