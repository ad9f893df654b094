"""The library with its vectors in a real Chroma server (`chroma run` on a free loopback port): it works,
says clearly when the server stops answering (CLI one line and exit 2, API 503, `docs` still lists the
library), and recovers when the server is back."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import assistant.service
from assistant.errors import StoreUnavailable
from assistant.interfaces.api import create_api
from assistant.interfaces.cli import main
from assistant.service import Assistant
from assistant.settings import Settings
from tests.ports import free_port

pytestmark = pytest.mark.slow

REPORT = "In 2023, the Arusha shelter network hosted 212 survivors of trafficking."
QUESTION = "How many survivors did the Arusha shelter network host in 2023?"



def start_chroma(path: Path, port: int) -> subprocess.Popen:
    chroma = Path(sys.executable).parent / "chroma"
    process = subprocess.Popen([str(chroma), "run", "--path", str(path), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("chroma run did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def test_a_chroma_server_library_says_when_the_server_is_gone_and_recovers(tmp_path, monkeypatch, capsys, embedder):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chroma = start_chroma(tmp_path / "chroma", port)
    try:
        settings = Settings(data_dir=tmp_path / "data", chroma_url=url)
        library = Assistant(settings, embedder=embedder)
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "shelters.txt").write_text(REPORT, encoding="utf-8")
        assert library.ingest([docs]).summary() == "1 added"
        assert "212" in library.ask(QUESTION).text
        api = TestClient(create_api(library))
        assert api.get("/api/v1/health").json()["store"] == "reachable"

        stop(chroma)
        with pytest.raises(StoreUnavailable, match=f"TIP_CHROMA_URL={url}: no Chroma server answers there"):
            library.ask(QUESTION)
        response = api.post("/api/v1/ask", json={"question": QUESTION})
        assert response.status_code == 503 and "start it" in response.json()["error"]

        monkeypatch.setenv("TIP_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("TIP_CHROMA_URL", url)
        monkeypatch.setattr(assistant.service, "Embedder", lambda *args, **kwargs: embedder)
        assert main(["ask", QUESTION]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "no Chroma server answers there" in err
        assert main(["docs"]) == 0 and "shelters.txt" in capsys.readouterr().out  # the catalogue alone

        chroma = start_chroma(tmp_path / "chroma", port)  # back: the same library answers again
        assert "212" in library.ask(QUESTION).text
    finally:
        stop(chroma)
