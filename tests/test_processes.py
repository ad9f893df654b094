"""One library, several processes: a running library sees what another process added, two ingests at once
both land, and an ingest killed at any moment leaves the library whole. Real subprocesses of the CLI."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import Settings
from tests.shared_paths import CORPUS, PROJECT_ROOT, require
from vectorstore.catalog import Catalog

pytestmark = pytest.mark.slow

MWANZA = "The Mwanza office received 41 referrals of trafficking victims in 2022."
KIGOMA = "The Kigoma shelter hosted 77 survivors of forced labour on fishing boats in 2023."
TANGA = "The Tanga task force rescued 19 children from domestic servitude in 2021."


def cli(data_dir: Path, *argv: str) -> subprocess.Popen:
    env = {**os.environ, "TIP_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "assistant.interfaces.cli", *argv], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_a_running_library_answers_from_a_document_another_process_added(tmp_path, embedder):
    data = tmp_path / "data"
    running = Assistant(Settings(data_dir=data), embedder=embedder)
    assert running.ingest([write(tmp_path / "docs", "mwanza.txt", MWANZA)]).ok
    assert "41" in running.ask("How many referrals did the Mwanza office receive in 2022?").text

    other = cli(data, "ingest", str(write(tmp_path / "docs", "kigoma.txt", KIGOMA)))
    out, err = other.communicate(timeout=300)
    assert other.returncode == 0, err
    assert "Loading weights" not in err  # the model's loading bar stays out of the command's output

    answer = running.ask("How many survivors did the Kigoma shelter host in 2023?")  # no restart
    assert not answer.refused and "77" in answer.text
    assert sorted(d.source for d in running.documents()) == ["kigoma.txt", "mwanza.txt"]


def test_two_ingests_at_once_both_land_once(tmp_path, embedder):
    data = tmp_path / "data"
    first = cli(data, "ingest", str(write(tmp_path / "a", "kigoma.txt", KIGOMA)))
    second = cli(data, "ingest", str(write(tmp_path / "b", "tanga.txt", TANGA)))
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    library = Assistant(Settings(data_dir=data), embedder=embedder)
    assert sorted(d.source for d in library.documents()) == ["kigoma.txt", "tanga.txt"]
    assert "19" in library.ask("How many children did the Tanga task force rescue in 2021?").text


def processes_using(data: Path) -> list[int]:
    """Processes whose environment names ``data`` as their library (an ingest's parsing process inherits it)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes()
        except (OSError, ValueError):  # not a process, gone, or not ours
            continue
        if f"TIP_DATA_DIR={data}".encode() in environ.split(b"\0"):
            found.append(int(proc.name))
    return found


def open_catalogs_on_cue(paths: list[str], start: float, gap: float) -> list[str]:
    """Open the catalog at each of ``paths`` at ``start + i * gap`` (epoch seconds); the errors met, as text."""
    errors = []
    for i, path in enumerate(paths):
        while time.time() < start + i * gap:
            time.sleep(0.001)
        try:
            Catalog(Path(path)).close()
        except Exception as error:  # noqa: BLE001 - reported to the test
            errors.append(repr(error))
    return errors


def test_processes_opening_a_new_library_at_the_same_moment_all_succeed(tmp_path):
    # Two ingests started together both create the catalog. Before opening was serialised, about one new file
    # in three failed with "database is locked" (SQLite does not wait for the lock that switching to WAL takes).
    paths = [str(tmp_path / f"library-{i}" / "catalog.sqlite3") for i in range(12)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        start = time.time() + 5.0  # after the spawned interpreters have imported the catalog
        runs = [pool.apply_async(open_catalogs_on_cue, (paths, start, 0.2)) for _ in range(3)]
        errors = [error for run in runs for error in run.get(timeout=120)]
    assert errors == []
    for path in paths:
        catalog = Catalog(Path(path))
        assert catalog.documents() == []
        catalog.close()


@pytest.mark.parametrize("after_seconds", [12.0, 25.0])
def test_an_ingest_killed_at_any_moment_leaves_the_library_whole(tmp_path, embedder, after_seconds):
    corpus = require(CORPUS)
    data = tmp_path / "data"
    ingest = cli(data, "ingest", str(corpus))
    time.sleep(after_seconds)  # the model loads in ~10 s here; then documents are being stored
    ingest.send_signal(signal.SIGKILL)
    ingest.communicate(timeout=30)  # its parsing process held the same output pipes: it is gone too
    assert processes_using(data) == []

    library = Assistant(Settings(data_dir=data), embedder=embedder)  # opening it removes orphan vectors
    store = library.store
    for document in library.documents():  # every document stored whole, vectors and all
        ids = store.catalog.chunk_ids(document.doc_id)
        assert len(ids) == document.chunk_count
        assert len(store.collection.get(ids=ids, include=[])["ids"]) == len(ids)
    assert set(store.collection.get(include=[])["ids"]) == set(store.catalog.chunk_ids())

    report = library.ingest([corpus])  # a re-run completes what was cut off
    assert report.ok and len(library.documents()) == len(report.outcomes)
    assert "87" in library.ask("How many victims were identified at the Dzaleka Refugee Camp?").text
