"""Questions answered in worker processes (``TIP_ANSWER_PROCESSES``): the same answers as in the server's own
process, documents added after the workers started, errors that keep their kind, and a dead worker that
leaves the server answering by itself. The workers are real spawned processes loading the packaged model."""

from __future__ import annotations

import os
import pickle
import signal
import time
from pathlib import Path

import pytest

from assistant.errors import DocumentNotFound, TipError
from assistant.service import Assistant, EmptyLibrary, EmptyQuestion, NoLibrary
from assistant.settings import Settings

MWANZA = "The Mwanza office received 41 referrals of trafficking victims in 2022."
KIGOMA = "The Kigoma shelter hosted 77 survivors of forced labour on fishing boats in 2023."
START_SECONDS = 240  # a worker imports the stack and loads the model: ~11 s alone, more on a busy machine


@pytest.mark.parametrize(
    "error",
    [EmptyQuestion(), EmptyLibrary(), DocumentNotFound("brief", ["a.pdf", "b.pdf"]), NoLibrary(Path("x"))],
)
def test_an_error_a_user_can_fix_crosses_a_process_boundary_as_its_kind_and_message(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and isinstance(back, TipError)
    assert str(back) == str(error)


def _library(tmp_path, embedder, text: str, processes: int = 1) -> Assistant:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "mwanza.txt").write_text(text, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data", answer_processes=processes), embedder=embedder)
    assert assistant.ingest([docs / "mwanza.txt"]).ok
    return assistant


def _worker_pids() -> set[int]:
    """This process's children started by multiprocessing's spawn (not its resource tracker)."""
    me = f"/proc/{os.getpid()}/task"
    return {int(pid) for task in os.listdir(me) for pid in _read(f"{me}/{task}/children").split()
            if "spawn_main" in _read(f"/proc/{pid}/cmdline")}  # fmt: skip


def _read(path: str) -> str:
    """A /proc file's text; empty when its thread or process has ended since the folder was listed."""
    try:
        with open(path, "rb") as file:
            return file.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


@pytest.mark.slow
def test_workers_answer_as_the_process_itself_would_and_see_later_documents(tmp_path, embedder):
    assistant = _library(tmp_path, embedder, MWANZA)
    question = "How many referrals did the Mwanza office receive in 2022?"
    here = assistant.ask(question).to_dict()
    assert assistant.answering_processes_state == "off"

    before = _worker_pids()
    workers = assistant.start_answering_processes()
    try:
        assert assistant.answering_processes_state == "starting"
        assert workers.wait_until_started(START_SECONDS)
        assert assistant.answering_processes_state == "ready"
        spawned = _worker_pids() - before
        assert len(spawned) == 1

        there = assistant.ask(question).to_dict()
        here.pop("timings_ms"), there.pop("timings_ms")
        assert there == here and "41" in there["answer"]
        assert workers.answered == 1 and workers.busy == 0

        (tmp_path / "docs" / "kigoma.txt").write_text(KIGOMA, encoding="utf-8")
        assert assistant.ingest([tmp_path / "docs" / "kigoma.txt"]).ok  # written here, after the worker opened
        later = assistant.ask("How many survivors did the Kigoma shelter host in 2023?")
        assert not later.refused and "77" in later.text
        assert workers.answered == 2

        with pytest.raises(EmptyQuestion):
            assistant.ask("   ")

        os.kill(spawned.pop(), signal.SIGKILL)  # a worker dies (out of memory, killed by hand)
        time.sleep(0.5)
        answer = assistant.ask(question)  # answered here instead, with no error
        assert "41" in answer.text and workers.answered == 2
        assert assistant.answering_processes_state == "failed"
    finally:
        assistant.stop_answering_processes()


@pytest.mark.slow
def test_with_the_exported_model_a_worker_answers_without_loading_torch(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mwanza.txt").write_text(MWANZA, encoding="utf-8")
    (docs / "kigoma.txt").write_text(KIGOMA, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data", answer_processes=1))
    assert assistant.ingest([docs]).ok  # exports the model unless an earlier test has, into the session's cache
    assert not assistant.embedder.needs_graph and not assistant.prepare_graph()  # a server's, before its workers
    questions = ["How many referrals did the Mwanza office receive in 2022?", "Where did the Kigoma shelter work?"]
    here = [assistant.ask(q) for q in questions]

    before = _worker_pids()
    workers = assistant.start_answering_processes()
    try:
        assert workers.wait_until_started(START_SECONDS)
        (worker,) = _worker_pids() - before
        there = [assistant.ask(q) for q in questions]
        assert workers.answered == 2
        assert "libtorch" not in Path(f"/proc/{worker}/maps").read_text()  # torch's library never mapped
        for mine, theirs in zip(here, there, strict=True):
            assert theirs.text == mine.text and theirs.refused == mine.refused
            assert theirs.citations == mine.citations
        assert "41" in there[0].text
    finally:
        assistant.stop_answering_processes()
