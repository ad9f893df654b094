"""One server for the library: the JSON API (``assistant.interfaces.api``) with the web UI mounted on it
at ``/``, served by uvicorn (``tip-assistant serve``, ``python app.py``).

On loopback (the default, ``TIP_HOST=127.0.0.1``) it asks nothing of anyone. Bound to any other address it
refuses to start without ``TIP_API_TOKEN``, which the API then asks of every request as a bearer token. The
web UI asks for a login whenever ``TIP_USERS`` or ``TIP_API_TOKEN`` is set: a name and password of
``TIP_USERS``, or any name with the token. Gradio's public share links are never used.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from assistant.errors import TipError
from assistant.interfaces.api import create_api
from assistant.interfaces.discovery import (
    ServerInfo,
    answering_server,
    local_url,
    remove_server_file,
    write_server_file,
)
from assistant.interfaces.web.ui import build_ui
from assistant.service import Assistant
from assistant.settings import Settings

# Questions the UI answers at once; more wait in Gradio's queue. The one loaded model is shared by the
# threads (the API's requests run in FastAPI's thread pool the same way). Not yet sized by measurement.
UI_CONCURRENCY = 4
STARTUP_TIMEOUT = 60.0  # seconds a test server gets to start listening


class ExposedWithoutToken(TipError):
    """``TIP_HOST`` is not a loopback address and ``TIP_API_TOKEN`` is not set."""

    def __init__(self, host: str):
        super().__init__(
            f"TIP_HOST={host} would serve the library, upload and removal included, to other machines: set "
            "TIP_API_TOKEN to a long random secret (the API asks for it as a bearer token, the web UI as its "
            "password), or keep TIP_HOST=127.0.0.1"
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only ("127.0.0.1", "::1", "localhost")."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(settings: Settings) -> None:
    """Raises ``ExposedWithoutToken`` for a server bound off loopback without a token."""
    if not is_loopback(settings.host) and settings.api_token is None:
        raise ExposedWithoutToken(settings.host)


def build_app(assistant: Assistant, local_token: str | None = None) -> FastAPI:
    """The API with the web UI mounted at ``/`` (behind a login when ``TIP_USERS`` or ``TIP_API_TOKEN`` is set).
    The API also accepts ``local_token``, the one ``server.json`` gives the command line on this machine."""
    import gradio as gr  # after main() has switched offline mode on (see build_ui)

    settings = assistant.settings
    check_exposure(settings)
    app = create_api(assistant, local_token)
    demo = build_ui(assistant).queue(default_concurrency_limit=UI_CONCURRENCY)
    token, logins = settings.api_token, settings.logins

    def login(username: str, password: str) -> bool:
        """A name and password of ``TIP_USERS``, or any name with the server's token."""
        if token is not None and _same(password, token.get_secret_value()):
            return True
        return username in logins and _same(password, logins[username])

    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=login if token is not None or logins else None,
        auth_message="Sign in with your name and password (TIP_USERS), or any name and the server's token "
        "(TIP_API_TOKEN) as the password.",
        max_file_size=f"{settings.max_upload_mb}mb",
        server_name=settings.host,
        server_port=settings.port,
    )


class LibraryAlreadyServed(TipError):
    """A server already runs on the same library (its ``server.json`` names one that answers)."""

    def __init__(self, data_dir: Path, url: str):
        super().__init__(f"a server for the library in {data_dir} already runs at {url}: use it, or stop it first")


class _Server(uvicorn.Server):
    """uvicorn's server, which says where it listens (``server.json``, for the command line) from the moment
    it accepts connections until it stops."""

    def __init__(self, app: FastAPI, settings: Settings, token: str):
        super().__init__(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
        self.url = local_url(settings.host, settings.port)
        self._data_dir = settings.data_dir
        self._info = ServerInfo(self.url, token, os.getpid(), settings.chroma_url, settings.top_k)

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            write_server_file(self._data_dir, self._info)

    async def shutdown(self, sockets=None) -> None:
        self.forget()  # first, so no new command line call comes while connections close
        await super().shutdown(sockets)

    def forget(self) -> None:
        remove_server_file(self._data_dir, self._info.token)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())  # in constant time: no timing hints


class BackgroundServer:
    """A server running in a thread of this process: for tests, and for a caller that goes on working."""

    def __init__(self, server: _Server):
        self._server = server
        self._thread = threading.Thread(target=server.run, name="tip-server", daemon=True)
        self.url = server.url

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.05)
        return self

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server.forget()


def serve(
    assistant: Assistant, background: bool = False, announce: Callable[[str], None] | None = None
) -> BackgroundServer | None:
    """Serve the API and the UI on ``TIP_HOST:TIP_PORT`` until interrupted, calling ``announce(url)`` once
    everything is loaded; with ``background``, start in a thread and return the running server (its
    ``close()`` stops it). Raises ``ExposedWithoutToken`` and ``LibraryAlreadyServed``."""
    settings = assistant.settings
    token = secrets.token_urlsafe(32)  # the command line's, through server.json
    app = build_app(assistant, token)  # refuses an exposed server without a token before loading anything
    running = answering_server(settings.data_dir)
    if running is not None:
        raise LibraryAlreadyServed(settings.data_dir, running.url)
    assistant.warm_up()  # load the model now rather than on the first question
    server = _Server(app, settings, token)
    if background:
        return BackgroundServer(server).start()
    if announce is not None:
        announce(server.url)
    try:
        server.run()
    finally:
        server.forget()
    return None
