"""How the command line finds a server running on its library.

The server writes ``server.json`` into the data folder once it listens: the URL to reach it from this machine,
a token made for this run, and the settings that change answers (``TIP_CHROMA_URL``, ``TIP_TOP_K``). It removes
the file when it stops. The file is readable by its owner only, because its token also lets the command line
add files by their path on this machine (``POST /api/v1/documents/local``). A file left by a server that was
killed is recognised by its silence: nothing answers at its URL.

Standard library only, so the command line reaches a server without loading anything heavy.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

SERVER_FILE = "server.json"
HEALTH_PATH = "/api/v1/health"
PROBE_TIMEOUT = 2.0  # seconds a running server gets to answer the health check


@dataclass(frozen=True)
class ServerInfo:
    """What ``server.json`` holds."""

    url: str  # e.g. "http://127.0.0.1:7860", reachable from this machine
    token: str  # a bearer token the server accepts, made for this run
    pid: int
    chroma_url: str | None
    top_k: int


def local_url(host: str, port: int) -> str:
    """The URL this machine reaches a server bound to ``host`` at: a wildcard address means loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def write_server_file(data_dir: Path, info: ServerInfo) -> Path:
    """Write ``info`` to ``data_dir/server.json``, readable and writable by the owner only (mode 0600)."""
    data_dir.mkdir(parents=True, exist_ok=True)  # a new library's folder comes with its first document
    path = data_dir / SERVER_FILE
    partial = path.with_suffix(".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(info), out)
    os.replace(partial, path)  # a reader sees the whole file or none
    return path


def read_server_file(data_dir: Path) -> ServerInfo | None:
    """The server file of ``data_dir``; None when there is none or it cannot be read."""
    try:
        return ServerInfo(**json.loads((data_dir / SERVER_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def remove_server_file(data_dir: Path, token: str) -> None:
    """Remove ``data_dir/server.json`` if it is still the one written with ``token`` (a later server's stays)."""
    info = read_server_file(data_dir)
    if info is not None and info.token == token:
        (data_dir / SERVER_FILE).unlink(missing_ok=True)


def answering_server(data_dir: Path) -> ServerInfo | None:
    """The server running on ``data_dir``, if its file names one that answers at its URL."""
    info = read_server_file(data_dir)
    if info is None:
        return None
    request = urllib.request.Request(info.url + HEALTH_PATH, headers={"Authorization": f"Bearer {info.token}"})
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT):
            return info
    except urllib.error.HTTPError:  # it answered, if only to say its store is down: it runs
        return info
    except (OSError, ValueError):  # refused, timed out, or a URL that is not one: a stale file
        return None
