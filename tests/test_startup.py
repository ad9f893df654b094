"""`tip-assistant serve --docs …` listens at once and prepares in the background, saying each step in the
terminal and on /api/v1/health; the web UI's start-up line follows the same stages. A real server process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from assistant.interfaces.startup import Startup
from tests.ports import free_port
from tests.shared_paths import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_the_server_listens_before_it_loads_the_model_and_adds_the_documents(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mwanza.txt").write_text("The Mwanza office received 41 referrals in 2022.", encoding="utf-8")
    (docs / "tanga.txt").write_text("The Tanga task force rescued 19 children in 2021.", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "TIP_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.interfaces.cli", "serve", "--port", str(port), "--docs", str(docs)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines = []
        while not any("listening on" in line for line in lines):
            lines.append(server.stdout.readline())
            assert lines[-1], f"the server stopped: {lines}"
        assert lines[0].startswith("tip-assistant: starting"), lines
        assert not any("added" in line or "ready" in line for line in lines)  # listening comes first

        stages = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                health = http.get("/api/v1/health").json()
                stages.append((health["status"], health["stage"]))
                if health["status"] == "ok":
                    break
                time.sleep(0.1)
            assert stages[0][0] == "starting" and stages[-1] == ("ok", "Ready: 2 documents in the library.")
            answer = http.post("/api/v1/ask", json={"question": "How many referrals did the Mwanza office get?"})
            assert "41" in answer.json()["answer"]
            # then, idle, the server embeds the sentences of every passage and keeps them
            while http.get("/api/v1/health").json()["sentence_vectors"] != "ready":
                assert time.monotonic() < deadline, "the sentence vectors were never ready"
                time.sleep(0.1)
            assert (tmp_path / "data" / "sentence_vectors.sqlite3").stat().st_size > 0
        while not any("ready" in line for line in lines):
            lines.append(server.stdout.readline())
        said = "".join(lines)
        assert said.index("listening on") < said.index("loading the model") < said.index("mwanza.txt: added")
        assert "2 added; 2 documents in the library" in said and "ready: 2 documents in the library" in said
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_ctrl_c_stops_the_server_and_says_so(tmp_path):
    port = free_port()
    env = {**os.environ, "TIP_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.interfaces.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        line = ""
        while "listening on" not in line:
            line = server.stdout.readline()
            assert line, "the server stopped before it listened"
        server.send_signal(signal.SIGINT)  # what Ctrl+C sends
        rest, _ = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 0
    said = rest.splitlines()
    assert said[-1] == "tip-assistant: stopped"
    assert "tip-assistant: stopping…" in said[:-1]  # said at once: closing open connections may take seconds


def test_a_failed_start_up_ends_with_its_reason_instead_of_waiting_forever():
    startup = Startup()
    assert not startup.ready.is_set() and startup.stage == "Starting…"
    startup.moved_to("Loading the model…")
    startup.failed("TIP_EMBEDDING_MODEL=/nowhere is not a sentence-transformers model folder")
    assert startup.ready.is_set() and startup.failure.startswith("TIP_EMBEDDING_MODEL")
    assert startup.stage == "Start-up failed: TIP_EMBEDDING_MODEL=/nowhere is not a sentence-transformers model folder"


def test_a_server_answers_in_worker_processes_and_ctrl_c_stops_them_too(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mwanza.txt").write_text("The Mwanza office received 41 referrals in 2022.", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "TIP_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "TIP_ANSWER_PROCESSES": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.interfaces.cli", "serve", "--port", str(port), "--docs", str(docs)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 300
            states = []
            while not states or states[-1] != "ready":
                assert time.monotonic() < deadline and server.poll() is None, states
                try:
                    states.append(http.get("/api/v1/health").json()["answering_processes"])
                except httpx.HTTPError:
                    pass  # not listening yet
                time.sleep(0.2)
            assert "starting" in states or "off" in states  # the server answered before its workers were ready
            workers = [int(pid) for pid in open(f"/proc/{server.pid}/task/{server.pid}/children").read().split()]
            spawned = [pid for pid in workers if b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read()]
            assert len(spawned) == 1
            answer = http.post("/api/v1/ask", json={"question": "How many referrals did the Mwanza office get?"})
            assert answer.status_code == 200 and "41" in answer.json()["answer"]
        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C: every process of the group gets it
        said, _ = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 0
    assert "Traceback" not in said and "KeyboardInterrupt" not in said, said
    assert "starting 1 answering process" in said and "1 answering process ready" in said
    assert said.splitlines()[-1] == "tip-assistant: stopped"
    assert not os.path.exists(f"/proc/{spawned[0]}")  # the worker stopped with the server


@pytest.mark.parametrize("stop_when", ["a file is added", "a file is being added"])
def test_a_server_stopped_while_adding_documents_ends_its_start_up_at_once(tmp_path, embedder, stop_when):
    """Ctrl+C during the start-up: a file stored is whole, one being stored is left out whole, the next ones
    are not started, nor are the answering processes; the process can then exit (nothing of the start-up left
    in the model's code)."""
    from assistant.interfaces.server import prepare
    from assistant.service import Assistant
    from assistant.settings import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in (("a-mwanza.txt", "The Mwanza office received 41 referrals in 2022."),
                       ("b-tanga.txt", "The Tanga task force rescued 19 children in 2021.")):  # fmt: skip
        (docs / name).write_text(text, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data", answer_processes=1), embedder=embedder)
    stopping, said = threading.Event(), []

    class StoppedMidway(Startup):
        def moved_to(self, stage: str) -> None:
            super().moved_to(stage)
            if stop_when == "a file is being added" and stage.startswith("Adding documents: a-mwanza.txt, 0 of"):
                stopping.set()  # as the server's Ctrl+C does, from another thread

    def say(line: str) -> None:
        said.append(line)
        if stop_when == "a file is added" and "added" in line:
            stopping.set()

    startup = StoppedMidway()
    prepare(assistant, [docs], startup, say, stopping)
    stored = ["a-mwanza.txt"] if stop_when == "a file is added" else []
    assert [d.source for d in assistant.documents()] == stored
    assert assistant.store.reconcile() == 0  # no vector of the file left out
    assert startup.ready.is_set() and startup.failure == "the server stopped"
    assert assistant.answering_processes_state == "off" and assistant.sentence_vectors_state == "not started"
    assert not any("ready" in line for line in said)
