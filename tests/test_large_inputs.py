"""Large inputs through the whole ingest: the size limit, progress within a file, and a document stored batch
by batch that still enters the library whole or not at all, even when its process is killed midway."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from itertools import pairwise

import pytest
from filelock import FileLock

import ingest.pipeline
from assistant.service import WRITE_LOCK, Assistant
from assistant.settings import Settings
from ingest.models import doc_id_for
from ingest.pipeline import MEGABYTE, FileStatus
from tests.shared_paths import PROJECT_ROOT

TOWNS = ["Mwanza", "Kigoma", "Tanga", "Dodoma", "Arusha", "Mbeya", "Morogoro", "Tabora", "Iringa", "Singida"]


def report(paragraphs: int) -> str:
    """A report of ``paragraphs`` distinct paragraphs, each about one chunk long."""
    out = []
    for n in range(paragraphs):
        town = TOWNS[n % len(TOWNS)]
        sentences = [
            f"In {2000 + n} the {town} office received {17 * n + 3} referrals of trafficking victims.",
            f"Of these, {5 * n + 1} were children recruited for domestic work in district {n}.",
            f"Labour inspectors in {town} visited {11 * n + 2} fishing camps and {3 * n + 4} mines that year.",
            f"Prosecutors opened {n + 2} cases and the shelter hosted {9 * n + 5} survivors for {n % 7 + 2} months.",
        ]
        out.append(" ".join(sentences * 3))
    return "\n\n".join(out) + "\n"


def library(tmp_path, embedder, **settings) -> Assistant:
    return Assistant(Settings(data_dir=tmp_path / "data", **settings), embedder=embedder)


def test_a_file_over_the_size_limit_is_refused_unread_and_the_others_are_stored(tmp_path, embedder, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    big = docs / "big.txt"
    big.write_text((report(2) * (2 * MEGABYTE // len(report(2))))[: 3 * MEGABYTE // 2], encoding="ascii")
    (docs / "small.txt").write_text(report(2), encoding="utf-8")

    hashed = []
    real_sha256 = ingest.pipeline.file_sha256
    monkeypatch.setattr(ingest.pipeline, "file_sha256", lambda path: hashed.append(path.name) or real_sha256(path))
    assistant = library(tmp_path, embedder, max_upload_mb=1)
    report_ = assistant.ingest([docs])

    outcomes = {o.source: o for o in report_.outcomes}
    assert outcomes["big.txt"].status is FileStatus.FAILED
    assert "is 1.5 MB, over the 1 MB limit (TIP_MAX_UPLOAD_MB): split it, or raise the limit" in (
        outcomes["big.txt"].message
    )
    assert outcomes["small.txt"].status is FileStatus.ADDED
    assert hashed == ["small.txt"]  # the big file was not read at all
    assert [d.source for d in assistant.documents()] == ["small.txt"]
    stored = assistant.store.collection.get(where={"doc_id": doc_id_for("big.txt")}, include=[])["ids"]
    assert stored == []
    assert not report_.ok

    # the same file is taken once the limit allows it
    assert library(tmp_path, embedder, max_upload_mb=2).ingest([big]).summary() == "1 added"


def test_progress_within_a_file_counts_its_chunks_batch_by_batch(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.txt").write_text(report(11), encoding="utf-8")
    (docs / "note.txt").write_text(report(1), encoding="utf-8")
    assistant = library(tmp_path, embedder)
    assistant.store.batch_size = 4
    calls: list[tuple[str, int, int]] = []
    files_done: list[tuple[str, int]] = []

    result = assistant.ingest(
        [docs],
        progress=lambda done, total, outcome: files_done.append((outcome.source, len(calls))),
        chunk_progress=lambda source, done, total: calls.append((source, done, total)),
    )

    assert result.ok
    chunks = {o.source: o.chunks for o in result.outcomes}
    assert chunks["report.txt"] > 2 * assistant.store.batch_size  # several batches
    for source, total in chunks.items():
        mine = [(done, all_) for name, done, all_ in calls if name == source]
        assert {all_ for _, all_ in mine} == {total}
        done = [d for d, _ in mine]
        assert done[0] == 0 and done[-1] == total  # told before the first batch and after the last
        assert all(0 < b - a <= assistant.store.batch_size for a, b in pairwise(done))
        assert len(done) == 1 + math.ceil(total / assistant.store.batch_size)
    # a file's chunk progress comes before its outcome, and after the outcome of the file before it
    assert [source for source, _ in files_done] == ["note.txt", "report.txt"]
    first_file_calls = files_done[0][1]
    assert {source for source, _, _ in calls[:first_file_calls]} == {"note.txt"}
    assert {source for source, _, _ in calls[first_file_calls:]} == {"report.txt"}
    assert files_done[1][1] == len(calls)
    assert {d.source: d.chunk_count for d in assistant.documents()} == chunks


def test_opening_the_library_while_another_process_writes_keeps_its_unfinished_vectors(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text(report(1), encoding="utf-8")
    first = library(tmp_path, embedder)
    assert first.ingest([docs]).ok
    # the vectors of a document another process is writing: not in the catalogue yet
    first.store.collection.upsert(ids=["unfinished-1"], embeddings=embedder.encode(["text"]), metadatas=[{"i": 1}])

    with FileLock(tmp_path / "data" / WRITE_LOCK):  # held as by an ingest in another process
        during = library(tmp_path, embedder)
        assert "unfinished-1" in set(during.store.collection.get(include=[])["ids"])

    after = library(tmp_path, embedder)  # the writer is gone: its leftovers are removed on opening
    assert "unfinished-1" not in set(after.store.collection.get(include=[])["ids"])
    assert len(after.store.collection.get(include=[])["ids"]) == after.documents()[0].chunk_count


KILLED_INGEST = textwrap.dedent(
    """
    import os, signal, sys
    from assistant.service import Assistant
    from assistant.settings import Settings

    assistant = Assistant(Settings(data_dir=sys.argv[1]))
    assistant.store.batch_size = int(sys.argv[3])

    def chunk_progress(source, done, total):
        if source == "report.txt" and done >= 2 * assistant.store.batch_size:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind runs

    assistant.ingest([sys.argv[2]], chunk_progress=chunk_progress)
    """
)


@pytest.mark.slow
def test_an_ingest_killed_between_batches_leaves_the_library_whole(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a-note.txt").write_text(report(1), encoding="utf-8")  # stored before the kill
    (docs / "report.txt").write_text(report(12), encoding="utf-8")
    data = tmp_path / "data"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(PROJECT_ROOT)}
    killed = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(data), str(docs), "3"], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert killed.returncode == -9, killed.stderr

    from vectorstore import open_store

    raw = open_store(data, embedder, reconcile=False)  # as the killed process left it
    assert [d.source for d in raw.documents()] == ["a-note.txt"]
    unfinished = raw.collection.get(where={"doc_id": doc_id_for("report.txt")}, include=[])["ids"]
    assert len(unfinished) >= 6  # two batches of vectors were written before the kill
    raw.catalog.close()

    assistant = library(tmp_path, embedder)  # opening removes them
    store = assistant.store
    assert set(store.collection.get(include=[])["ids"]) == set(store.catalog.chunk_ids())
    note = assistant.documents()[0]
    assert len(store.catalog.chunk_ids(note.doc_id)) == note.chunk_count > 0

    again = assistant.ingest([docs])  # a re-run stores what was cut off
    assert again.summary() == "1 added, 1 unchanged"
    assert set(store.collection.get(include=[])["ids"]) == set(store.catalog.chunk_ids())
    assert sum(d.chunk_count for d in assistant.documents()) == len(store.catalog.chunk_ids())
