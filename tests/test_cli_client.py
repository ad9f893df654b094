"""The command line as a client of a server running on the same library: it finds the server through
``server.json``, goes through the API, prints what the in-process commands print, and opens the library itself
when no server answers. A real server on loopback, real embedder and store."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import httpx
import pytest

from assistant.interfaces import server
from assistant.interfaces.cli import main
from assistant.interfaces.discovery import SERVER_FILE, read_server_file
from assistant.service import Assistant
from assistant.settings import Settings
from tests.ports import free_port

pytestmark = pytest.mark.integration

REPORT = (
    "Shelter network annual report\n\n"
    "In 2023, the Arusha shelter network hosted 212 survivors of trafficking. Most survivors were women "
    "recruited for domestic work abroad."
)
QUESTION = "How many survivors did the Arusha shelter network host in 2023?"


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    """A server running on a one-document library; yields its data folder."""
    docs = tmp_path_factory.mktemp("docs")
    (docs / "shelters-2023.txt").write_text(REPORT, encoding="utf-8")
    data_dir = tmp_path_factory.mktemp("data")
    assistant = Assistant(Settings(data_dir=data_dir, port=free_port()), embedder=embedder)
    assert assistant.ingest([docs]).summary() == "1 added"
    running = server.serve(assistant, background=True)
    yield data_dir
    running.close()


@pytest.fixture
def no_library_opened_here(monkeypatch):
    """Fails the test if the command opens the library in this process instead of asking the server (the
    server's own Assistant was built before this patch)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the command opened the library itself")

    monkeypatch.setattr(Assistant, "__init__", refuse)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_server_file_names_the_server_and_only_its_owner_reads_it(served):
    info = read_server_file(served)
    assert info is not None and info.pid == os.getpid()
    assert httpx.get(info.url + "/api/v1/health").json()["documents"] >= 1
    assert stat.S_IMODE((served / SERVER_FILE).stat().st_mode) == 0o600


def test_ask_goes_through_the_server_and_prints_what_the_library_here_would(served, capsys, monkeypatch):
    code, embedded, _ = run(capsys, "--data-dir", str(served), "--no-server", "ask", QUESTION, "--json")
    assert code == 0
    monkeypatch.setattr(Assistant, "__init__", lambda *a, **k: pytest.fail("opened the library itself"))
    code, through_server, _ = run(capsys, "--data-dir", str(served), "ask", QUESTION, "--json")
    assert code == 0
    here, there = json.loads(embedded), json.loads(through_server)
    here.pop("timings_ms"), there.pop("timings_ms")
    assert there == here and "212" in there["answer"]
    code, text, _ = run(capsys, "--data-dir", str(served), "ask", QUESTION)
    assert "212" in text and "Sources:\n  [1]" in text and "shelters-2023.txt" in text


def test_ingest_docs_verify_and_remove_go_through_the_server(served, tmp_path, capsys, no_library_opened_here):
    brief = tmp_path / "new-brief.txt"
    brief.write_text("In 2025 the Kisumu outreach team referred 17 possible victims to shelters.", encoding="utf-8")
    code, out, _ = run(capsys, "--data-dir", str(served), "ingest", str(brief), str(tmp_path / "missing.pdf"))
    assert code == 1  # one file failed
    assert "✅ new-brief.txt: added (1 page, 1 chunk)" in out and "❌ missing.pdf: failed" in out
    assert "1 added, 1 failed; 2 documents in the library" in out

    code, out, _ = run(capsys, "--data-dir", str(served), "docs", "--json")
    assert code == 0 and {d["source"] for d in json.loads(out)} == {"shelters-2023.txt", "new-brief.txt"}

    code, out, _ = run(capsys, "--data-dir", str(served), "ask", "How many possible victims did the Kisumu team refer?")
    assert code == 0 and "17" in out and "new-brief.txt" in out

    code, out, _ = run(capsys, "--data-dir", str(served), "remove", "new-brief.txt")
    assert code == 0 and out.strip() == "removed new-brief.txt (1 chunk)"
    code, out, err = run(capsys, "--data-dir", str(served), "remove", "new-brief.txt")
    assert code == 2 and "no document 'new-brief.txt' in the library" in err and "`tip-assistant docs`" in err


def test_verify_goes_through_the_server(served, tmp_path, capsys, no_library_opened_here):
    text = tmp_path / "draft.txt"
    text.write_text("The Arusha shelter network hosted 212 survivors in 2023. It hosted 950 survivors.", "utf-8")
    code, out, _ = run(capsys, "--data-dir", str(served), "verify", str(text), "--json")
    assert code == 0
    assert [s["label"] for s in json.loads(out)["sentences"]] == ["supported", "unsupported"]


def test_a_bad_request_is_one_error_line_from_the_server(served, capsys, no_library_opened_here):
    code, out, err = run(capsys, "--data-dir", str(served), "ask", "   ")
    assert code == 2 and out == "" and err.strip() == "error: the question is empty: type a question"


def test_other_settings_than_the_servers_open_the_library_here(served, capsys):
    code, out, _ = run(capsys, "--data-dir", str(served), "--top-k", "3", "ask", QUESTION, "--json")
    assert code == 0 and len(json.loads(out)["retrieved"]) <= 3  # the server retrieves 8


def test_a_second_server_on_the_same_library_is_refused(served, embedder):
    second = Assistant(Settings(data_dir=served, port=free_port()), embedder=embedder)
    with pytest.raises(server.LibraryAlreadyServed, match="already runs at http://127.0.0.1:"):
        server.serve(second, background=True)


def test_files_by_path_need_the_command_lines_token(served, tmp_path):
    info = read_server_file(served)
    secret = tmp_path / "secret.txt"
    secret.write_text("Private notes that no remote caller may add to the library.", encoding="utf-8")
    before = httpx.get(info.url + "/api/v1/documents").json()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(info.url + "/api/v1/documents/local", json={"paths": [str(secret)]}, headers=headers)
        assert response.status_code == 403 and "POST /api/v1/documents" in response.json()["error"]
    assert httpx.get(info.url + "/api/v1/documents").json() == before


def test_a_stopped_servers_file_is_removed_and_the_command_works_alone(tmp_path, embedder, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shelters-2023.txt").write_text(REPORT, encoding="utf-8")
    data_dir = tmp_path / "data"
    assistant = Assistant(Settings(data_dir=data_dir, port=free_port()), embedder=embedder)
    assistant.ingest([docs])
    running = server.serve(assistant, background=True)
    assert (data_dir / SERVER_FILE).exists()
    running.close()
    assert not (data_dir / SERVER_FILE).exists()
    # A file left by a killed server names a port nothing answers on: the command opens the library itself.
    (data_dir / SERVER_FILE).write_text(json.dumps({"url": f"http://127.0.0.1:{free_port()}", "token": "t",
                                                    "pid": 1, "chroma_url": None, "top_k": 8}))  # fmt: skip
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "docs", "--json")
    assert code == 0 and [d["source"] for d in json.loads(out)] == ["shelters-2023.txt"]


def test_a_client_call_loads_no_model_store_or_ui(served):
    """What keeps `tip-assistant ask` fast with a server running: none of the heavy libraries load."""
    probe = (
        "import sys; from assistant.interfaces.cli import main; "
        f"code = main(['--data-dir', {str(served)!r}, 'docs', '--json']); "
        "heavy = [m for m in ('torch', 'chromadb', 'gradio', 'sentence_transformers', 'langchain_core') "
        "if m in sys.modules]; print(code, heavy)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_a_long_file_reports_its_chunks_going_in_on_both_paths(served, tmp_path, capsys, monkeypatch):
    from assistant.interfaces import console

    monkeypatch.setattr(console, "LONG_FILE_CHUNKS", 1)  # lines for any file: this one is short
    text = " ".join(f"In {2000 + n % 20} the Kisumu office logged case {n} of labour exploitation." for n in range(300))
    (tmp_path / "through").mkdir()
    (tmp_path / "through" / "log-a.txt").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "--data-dir", str(served), "ingest", str(tmp_path / "through" / "log-a.txt"))
    assert code == 0 and "log-a.txt: added" in out
    total = err.splitlines()[-1].split(" of ")[1].split()[0]
    assert f"log-a.txt: {total} of {total} chunks stored" in err and int(total) > 1

    data = tmp_path / "data"
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "log-b.txt").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "--data-dir", str(data), "ingest", str(tmp_path / "here" / "log-b.txt"))
    assert code == 0 and f"log-b.txt: {total} of {total} chunks stored" in err
    run(capsys, "--data-dir", str(served), "remove", "log-a.txt")
