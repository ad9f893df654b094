"""Settings a user can get wrong end in one line naming the setting, and a non-zero exit, from both the CLI
and ``python app.py``: never a traceback. Nothing here loads a model or reaches a server beyond loopback."""

from __future__ import annotations

import socket

import pytest

import app
from assistant.interfaces.cli import main
from prompts import PROMPT_DIR


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def not_a_model(tmp_path) -> str:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "README.txt").write_text("weights go here", encoding="utf-8")
    return str(folder)


def broken_prompts(tmp_path) -> str:
    folder = tmp_path / "prompts"
    folder.mkdir()
    for template in PROMPT_DIR.glob("*.md"):
        (folder / template.name).write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "answer.md").write_text("Answer {question} from {pasages}.", encoding="utf-8")  # misspelt field
    return str(folder)


# (environment, CLI command, what the one line must say)
CASES = {
    "embedding model": (lambda p: {"TIP_EMBEDDING_MODEL": not_a_model(p)}, ["ask", "Who runs the shelter?"],
                        "TIP_EMBEDDING_MODEL="),
    "reranker model": (lambda p: {"TIP_RERANKER_MODEL": not_a_model(p)}, ["ask", "Who runs the shelter?"],
                       "TIP_RERANKER_MODEL="),
    "prompt file": (lambda p: {"TIP_LLM": "ollama:llama3.1", "TIP_PROMPTS_DIR": broken_prompts(p)},
                    ["ask", "Who runs the shelter?"], "answer.md: placeholders must be exactly"),
    "chroma server": (lambda p: {"TIP_CHROMA_URL": f"http://127.0.0.1:{closed_port()}"}, ["ask", "Who runs it?"],
                      "no Chroma server answers there"),  # `docs` lists the catalogue without the server
}  # fmt: skip


@pytest.fixture
def environment(request, tmp_path, monkeypatch):
    make_env, command, message = CASES[request.param]
    (tmp_path / "data").mkdir()  # a library folder: what is wrong is the setting
    monkeypatch.setenv("TIP_DATA_DIR", str(tmp_path / "data"))
    for name, value in make_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    return command, message


@pytest.mark.parametrize("environment", CASES, indirect=True)
def test_the_cli_says_what_to_fix_in_one_line(environment, capsys):
    command, message = environment
    code = main(command)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert "\n" not in err and "Traceback" not in err


@pytest.mark.parametrize("environment", CASES, indirect=True)
def test_the_web_app_says_what_to_fix_in_one_line(environment, capsys):
    _, message = environment
    with pytest.raises(SystemExit) as exited:
        app.main(["--port", str(closed_port())])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # the model may have printed its loading bar before
    assert exited.value.code == 2
    assert last.startswith("error: ") and message in last
    assert "Traceback" not in err
