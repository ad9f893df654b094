"""A model server on loopback that answers with fixed text, for the few tests that run the real LangChain
clients (``langchain_openai.ChatOpenAI``, ``langchain_ollama.ChatOllama``) over real HTTP.

No model can run on this machine, so this stands in for the server a user would run. It speaks just enough
of each protocol for one chat request (Ollama's streamed as newline-delimited JSON), and records what it was sent:

    with scripted_server("openai", "Hello there.") as server:
        llm = ChatOpenAI(base_url=f"{server.base_url}/v1", api_key="k", model="m", max_retries=0)
        assert llm.invoke("Hi").content == "Hello there."
        assert server.requests[0]["messages"] == [{"role": "user", "content": "Hi"}]

Everything else about the model path runs on langchain-core's fake chat models (``tests/fake_models.py``).
Standard library only: a ``ThreadingHTTPServer`` on 127.0.0.1, port 0, served from a daemon thread.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Kind = Literal["openai", "ollama"]
CHAT_PATHS = {"openai": "/v1/chat/completions", "ollama": "/api/chat"}


def refused_url() -> str:
    """A loopback URL where nothing listens: a port the OS just handed out, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class ScriptedServer(ThreadingHTTPServer):
    """Answers every chat request with ``reply``; ``requests`` and ``headers`` (names lower-cased) record each."""

    daemon_threads = True

    def __init__(self, kind: Kind, reply: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.kind, self.reply = kind, reply
        self.requests: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        kind = self.server.kind
        if self.path != CHAT_PATHS[kind] or (kind == "openai" and body.get("stream") is True):
            self._send(404, {"error": f"this test server does not serve {self.path} (stream={body.get('stream')})"})
            return
        self.server.requests.append(body)
        self.server.headers.append({k.lower(): v for k, v in self.headers.items()})
        message = {"role": "assistant", "content": self.server.reply}
        if kind == "openai":
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                             "model": body.get("model", "m"), "choices": [choice]})  # fmt: skip
            return
        # Ollama streams unless told not to: newline-delimited JSON, the whole reply then a "done" line.
        reply = {"model": body.get("model", "m"), "created_at": "2024-01-01T00:00:00Z", "message": message}
        done = {**reply, "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
        if body.get("stream") is False:
            self._send(200, {**reply, "done": True, "done_reason": "stop"})
        else:
            self._send(200, {**reply, "done": False}, done)

    def _send(self, status: int, *lines: dict) -> None:
        data = b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def scripted_server(kind: Kind, reply: str) -> Iterator[ScriptedServer]:
    """Serve ``reply`` as an OpenAI-compatible (``"openai"``) or Ollama (``"ollama"``) server on loopback."""
    server = ScriptedServer(kind, reply)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
