"""Scripted model servers on loopback, for testing the LLM path with the real LangChain clients.

No model can run on this machine, so these small HTTP servers stand in for the model server the user
would run (Ollama, or any OpenAI-compatible endpoint). They speak just enough of each wire protocol for
`langchain_openai.ChatOpenAI` and `langchain_ollama.ChatOllama` to work unmodified, and answer with
scripted text instead of generating any:

    with scripted_server("openai", ["Hello there, reader."]) as server:
        llm = ChatOpenAI(base_url=f"{server.base_url}/v1", api_key="test-key", model="m", max_retries=0)
        assert llm.invoke("Hi").content == "Hello there, reader."
        assert server.requests[0]["messages"] == [{"role": "user", "content": "Hi"}]

    with scripted_server("ollama", ["Hello there, reader."]) as server:
        llm = ChatOllama(base_url=server.base_url, model="m")

`replies` are consumed one per chat request (the last one repeats once the list runs out). Each is the
assistant's text or a `Failure`: an HTTP error status, a hang longer than the client's timeout, a
malformed stream, or a connection closed with no response. `refused_url()` gives a loopback address where
nothing listens.

Standard library only: a `ThreadingHTTPServer` on 127.0.0.1, port 0 (a free port the OS picks), served
from a daemon thread. Every response carries `Connection: close`, so no handler thread waits on a kept-alive
socket; leaving the context manager stops the server, wakes any hanging handler, and joins every thread.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Kind = Literal["openai", "ollama"]
KINDS: tuple[str, ...] = ("openai", "ollama")

OPENAI_CHAT_PATH = "/v1/chat/completions"
OLLAMA_CHAT_PATH = "/api/chat"
CHAT_PATHS = {"openai": OPENAI_CHAT_PATH, "ollama": OLLAMA_CHAT_PATH}

# The invalid JSON a malformed reply sends after its first valid piece.
GARBAGE = '{"model": "m", "message": {"role": "assistant", "content": "cut off'

THREAD_PREFIX = "scripted-llm"


@dataclass(frozen=True)
class Failure:
    """A scripted way for the server to fail one request. Build one with the class methods."""

    mode: Literal["status", "hang", "malformed", "disconnect"]
    status_code: int = 0
    message: str = ""
    seconds: float = 0.0
    then: str = ""
    first: str = ""

    @classmethod
    def status(cls, code: int, message: str | None = None) -> Failure:
        """Answer with HTTP `code` and an error body in the protocol's own shape.

        OpenAI: `{"error": {"message", "type", "param", "code"}}`; Ollama: `{"error": message}`.
        """
        return cls("status", status_code=code, message=message or f"scripted failure: HTTP {code}")

    @classmethod
    def hang(cls, seconds: float, then: str = "too late") -> Failure:
        """Say nothing for `seconds` (not even headers), then answer `then` if the client is still there.

        Leaving the server's context manager ends the wait at once.
        """
        return cls("hang", seconds=seconds, then=then)

    @classmethod
    def malformed_stream(cls, first: str = "Partial ") -> Failure:
        """Answer 200, send one valid piece carrying `first`, then a line of invalid JSON, then end the body.

        A streaming request gets the valid chunk then the garbage as the next SSE event / NDJSON line (no
        `[DONE]`, no `"done": true`). A non-streaming request gets a JSON body cut off mid-object.
        """
        return cls("malformed", first=first)

    @classmethod
    def disconnect(cls) -> Failure:
        """Read the request, then close the connection without sending a single byte back."""
        return cls("disconnect")


Reply = str | Failure


def split_reply(text: str) -> list[str]:
    """The pieces a streamed reply is sent in: one per word, each keeping its trailing whitespace.

    `"".join(split_reply(text)) == text`; an empty text gives no pieces.
    """
    if not text:
        return []
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]


def refused_url() -> str:
    """A loopback URL where nothing listens: a port the OS just handed out, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _word_count(messages: Any) -> int:
    count = 0
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            count += len(content.split())
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    count += len(part["text"].split())
    return count


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # handler threads are tracked and joined by ScriptedServer.close()
    allow_reuse_address = False

    def __init__(self, scripted: ScriptedServer) -> None:
        self.scripted = scripted
        self.handler_threads: list[threading.Thread] = []
        self._thread_numbers = itertools.count(1)
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{THREAD_PREFIX}-{self.scripted.kind}-handler-{next(self._thread_numbers)}",
            daemon=True,
        )
        self.handler_threads.append(thread)
        thread.start()

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (timeout, closed stream) makes writes fail; that is expected here.
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ScriptedModelServer/1.0"
    timeout = 5.0  # caps a read from a client that connects and never sends anything
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    # -- HTTP plumbing -------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json")

    def _start_stream(self, content_type: str) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()

    def _send_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    # -- routing ---------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        scripted = self.server.scripted
        path = self.path.split("?", 1)[0]
        raw = self._read_body() if method == "POST" else b""
        scripted._record_call(f"{method} {path}")
        try:
            if method == "POST" and path == CHAT_PATHS[scripted.kind]:
                body = _parse_json(raw)
                headers = {name.lower(): value for name, value in self.headers.items()}
                reply = scripted._next_reply(body, headers)
                self._chat(reply, body if isinstance(body, dict) else {})
            elif not self._side_endpoint(method, path, _parse_json(raw)):
                self._error(404, f"scripted server ({scripted.kind}) does not serve {method} {path}")
        except OSError:
            self.close_connection = True  # the client went away mid-reply

    def _side_endpoint(self, method: str, path: str, body: Any) -> bool:
        """Endpoints besides chat that a client may touch (model listing, health). False if not served."""
        scripted = self.server.scripted
        if scripted.kind == "ollama":
            if method in ("GET", "HEAD") and path == "/":
                self._send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")
                return True
            if method == "GET" and path == "/api/version":
                self._send_json(200, {"version": "0.0.0-scripted"})
                return True
            if method == "GET" and path == "/api/tags":
                self._send_json(200, {"models": [_ollama_model_entry(name) for name in scripted.model_names]})
                return True
            if method == "POST" and path == "/api/show":
                name = body.get("model", "") if isinstance(body, dict) else ""
                if not scripted._knows_model(name):
                    self._error(404, f"model '{name}' not found")
                    return True
                self._send_json(
                    200,
                    {
                        "modelfile": "",
                        "parameters": "",
                        "template": "{{ .Prompt }}",
                        "details": _ollama_model_entry(name)["details"],
                        "model_info": {},
                        "capabilities": ["completion"],
                        "modified_at": _now_iso(),
                    },
                )
                return True
            return False
        if method == "GET" and path == "/v1/models":
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": name, "object": "model", "created": 0, "owned_by": "scripted"}
                        for name in scripted.model_names
                    ],
                },
            )
            return True
        return False

    def _error(self, status: int, message: str) -> None:
        if self.server.scripted.kind == "ollama":
            payload: dict[str, Any] = {"error": message}
        else:
            error_type = "invalid_request_error" if status < 500 else "server_error"
            if status == 401:
                error_type = "authentication_error"
            payload = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
        self._send_json(status, payload)

    # -- chat ---------------------------------------------------------------------------------------------

    def _chat(self, reply: Reply, body: dict[str, Any]) -> None:
        scripted = self.server.scripted
        streaming = _wants_stream(scripted.kind, body)
        if isinstance(reply, Failure):
            if reply.mode == "status":
                self._error(reply.status_code, reply.message)
                return
            if reply.mode == "disconnect":
                self.close_connection = True
                return  # nothing written; the server closes the socket
            if reply.mode == "hang":
                if scripted._stopping.wait(reply.seconds):
                    self.close_connection = True
                    return
                reply = reply.then
            elif reply.mode == "malformed":
                self._malformed(body, streaming, reply.first)
                return
        text = str(reply)
        if scripted.kind == "openai":
            self._openai_reply(body, streaming, text)
        else:
            self._ollama_reply(body, streaming, text)

    def _openai_reply(self, body: dict[str, Any], streaming: bool, text: str) -> None:
        model = str(body.get("model") or "m")
        completion_id = f"chatcmpl-scripted-{self.server.scripted._request_number()}"
        created = int(time.time())
        prompt_tokens, completion_tokens = _word_count(body.get("messages")), len(split_reply(text))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if not streaming:
            self._send_json(
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "system_fingerprint": None,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
            )
            return

        def chunk(delta: dict[str, Any], finish_reason: str | None) -> bytes:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            return _sse(payload)

        self._start_stream("text/event-stream; charset=utf-8")
        self._send_chunk(chunk({"role": "assistant", "content": ""}, None))
        for piece in split_reply(text):
            self._send_chunk(chunk({"content": piece}, None))
        self._send_chunk(chunk({}, "stop"))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            usage_chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [],
                "usage": usage,
            }
            self._send_chunk(_sse(usage_chunk))
        self._send_chunk(b"data: [DONE]\n\n")
        self._end_stream()

    def _ollama_reply(self, body: dict[str, Any], streaming: bool, text: str) -> None:
        model = str(body.get("model") or "m")
        pieces = split_reply(text)
        final = {
            "model": model,
            "created_at": _now_iso(),
            "message": {"role": "assistant", "content": "" if streaming else text},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_000_000,
            "load_duration": 100_000,
            "prompt_eval_count": _word_count(body.get("messages")),
            "prompt_eval_duration": 200_000,
            "eval_count": len(pieces),
            "eval_duration": 700_000,
        }
        if not streaming:
            self._send_json(200, final)
            return
        self._start_stream("application/x-ndjson")
        for piece in pieces:
            line = {
                "model": model,
                "created_at": _now_iso(),
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            self._send_chunk(json.dumps(line).encode() + b"\n")
        self._send_chunk(json.dumps(final).encode() + b"\n")
        self._end_stream()

    def _malformed(self, body: dict[str, Any], streaming: bool, first: str) -> None:
        scripted = self.server.scripted
        model = str(body.get("model") or "m")
        if not streaming:
            self._send_bytes(200, GARBAGE.encode(), "application/json")
            return
        if scripted.kind == "openai":
            self._start_stream("text/event-stream; charset=utf-8")
            valid = {
                "id": "chatcmpl-scripted-malformed",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": None,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": first},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
            }
            self._send_chunk(_sse(valid))
            self._send_chunk(f"data: {GARBAGE}\n\n".encode())
        else:
            self._start_stream("application/x-ndjson")
            valid = {
                "model": model,
                "created_at": _now_iso(),
                "message": {"role": "assistant", "content": first},
                "done": False,
            }
            self._send_chunk(json.dumps(valid).encode() + b"\n")
            self._send_chunk(GARBAGE.encode() + b"\n")
        self._end_stream()


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _wants_stream(kind: str, body: dict[str, Any]) -> bool:
    # OpenAI streams only when asked; Ollama streams unless told not to.
    if kind == "openai":
        return body.get("stream") is True
    return body.get("stream", True) is not False


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ollama_model_entry(name: str) -> dict[str, Any]:
    full = name if ":" in name else f"{name}:latest"
    return {
        "name": full,
        "model": full,
        "modified_at": "2024-01-01T00:00:00Z",
        "size": 1,
        "digest": "0" * 64,
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "scripted",
            "families": ["scripted"],
            "parameter_size": "0B",
            "quantization_level": "none",
        },
    }


class ScriptedServer:
    """One scripted model server. Use `scripted_server(...)`, or `with ScriptedServer(...) as server:`.

    Attributes, filled as chat requests arrive (other endpoints only show in `paths`):
      base_url  "http://127.0.0.1:<port>", no trailing slash (OpenAI clients want f"{base_url}/v1")
      requests  the JSON body of each chat request, parsed (the raw text if it was not JSON)
      headers   the headers of each chat request, names lower-cased (e.g. headers[0]["authorization"])
      paths     "METHOD /path" of every request received, chat or not, in order
    """

    def __init__(self, kind: Kind, replies: Sequence[Reply] | Reply, *, model_names: Sequence[str] = ("m",)) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        script = [replies] if isinstance(replies, str | Failure) else list(replies)
        if not script:
            raise ValueError("give at least one reply")
        for reply in script:
            if not isinstance(reply, str | Failure):
                raise TypeError(f"a reply is a str or a Failure, not {type(reply).__name__}")
        self.kind: str = kind
        self.model_names = tuple(model_names)
        self.requests: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self._script = script
        self._served = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> ScriptedServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._httpd = _Server(self)
        host, port = self._httpd.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{THREAD_PREFIX}-{self.kind}-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, end any hang at once, close the socket and join every thread. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        for thread in list(httpd.handler_threads):
            thread.join(timeout=10)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- used by the handler -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1]) if self.base_url else 0

    @property
    def served(self) -> int:
        """How many chat requests have taken a reply so far."""
        return self._served

    def _record_call(self, call: str) -> None:
        with self._lock:
            self.paths.append(call)

    def _next_reply(self, body: Any, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            reply = self._script[min(self._served, len(self._script) - 1)]
            self._served += 1
            return reply

    def _request_number(self) -> int:
        with self._lock:
            return self._served

    def _knows_model(self, name: str) -> bool:
        return any(
            name == known or known.startswith(f"{name}:") or name.startswith(f"{known}:") for known in self.model_names
        )


@contextmanager
def scripted_server(
    kind: Kind, replies: Sequence[Reply] | Reply, *, model_names: Sequence[str] = ("m",)
) -> Iterator[ScriptedServer]:
    """Serve `replies` as an OpenAI-compatible (`"openai"`) or Ollama (`"ollama"`) server on loopback.

    `replies` are consumed one per chat request; the last repeats. A single str or Failure is a
    one-element script. `model_names` are listed by `/api/tags` (Ollama) and `/v1/models` (OpenAI).
    """
    server = ScriptedServer(kind, replies, model_names=model_names)
    server.start()
    try:
        yield server
    finally:
        server.close()
