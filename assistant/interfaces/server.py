"""One server for the library: the JSON API (``assistant.interfaces.api``) with the web UI mounted on it
at ``/``, served by uvicorn (``tip-assistant serve``, ``python app.py``).

On loopback (the default, ``TIP_HOST=127.0.0.1``) it asks nothing of anyone. Bound to any other address it
refuses to start without ``TIP_API_TOKEN``, which the API then asks of every request as a bearer token. The
web UI asks for a login whenever ``TIP_USERS`` or ``TIP_API_TOKEN`` is set: a name and password of
``TIP_USERS``, or any name with the token. Gradio's public share links are never used.
"""

from __future__ import annotations

import gc
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
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
from assistant.interfaces.payloads import outcome_dict
from assistant.interfaces.startup import Startup
from assistant.interfaces.text import counted, format_outcome
from assistant.interfaces.web.ui import build_ui
from assistant.service import Assistant
from assistant.settings import Settings
from ingest.pipeline import FileOutcome

log = logging.getLogger(__name__)

# Questions the UI answers at once; more wait in Gradio's queue, in order. Two, as for the API's questions
# (assistant.answering.pipeline.QUESTIONS_AT_ONCE, one per core of the 2-core machine measured): each encodes
# on one core of the shared model, and with 16 at once the slowest waited behind every newcomer (bench/load.py).
UI_CONCURRENCY = 2
STARTUP_TIMEOUT = 60.0  # seconds a test server gets to start listening
STARTUP_STOP_TIMEOUT = 60.0  # seconds a stopped server waits for its start-up's step (a model load: ~1 s)


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


def build_app(assistant: Assistant, local_token: str | None = None, startup: Startup | None = None) -> FastAPI:
    """The API with the web UI mounted at ``/`` (behind a login when ``TIP_USERS`` or ``TIP_API_TOKEN`` is set).
    The API also accepts ``local_token``, the one ``server.json`` gives the command line on this machine; both
    show ``startup`` while the server prepares."""
    import gradio as gr  # after main() has switched offline mode on (see build_ui)

    settings = assistant.settings
    check_exposure(settings)
    app = create_api(assistant, local_token, startup)
    at_once = max(UI_CONCURRENCY, settings.answer_processes)  # as many as there are processes to answer in
    demo = build_ui(assistant, startup).queue(default_concurrency_limit=at_once)
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
        # Gradio's own "Use via API" page describes its internal protocol, not the /api/v1 the intro links to
        footer_links=["gradio", "settings"],
        allowed_paths=[str(assistant.originals.folder.resolve())],  # the page viewer's download of the original
        server_name=settings.host,
        server_port=settings.port,
    )


class LibraryAlreadyServed(TipError):
    """A server already runs on the same library (its ``server.json`` names one that answers)."""

    def __init__(self, data_dir: Path, url: str):
        super().__init__(f"a server for the library in {data_dir} already runs at {url}: use it, or stop it first")


class _StartupStopped(BaseException):
    """The server stopped during its start-up, which ends at its next step. Not an ``Exception``: like Ctrl+C,
    it passes through the handlers that keep an ingest going, and the store removes a file's vectors written
    so far (a file stored is whole or absent)."""


class _Server(uvicorn.Server):
    """uvicorn's server, which says where it listens (``server.json``, for the command line) from the moment
    it accepts connections until it stops."""

    def __init__(
        self,
        app: FastAPI,
        settings: Settings,
        token: str,
        on_listening: Callable[[], None],
        on_stopped: Callable[[], None] = lambda: None,
        on_stopping: Callable[[], None] = lambda: None,
    ):
        super().__init__(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
        self.url = local_url(settings.host, settings.port)
        self._data_dir = settings.data_dir
        self._info = ServerInfo(self.url, token, os.getpid(), settings.chroma_url, settings.top_k)
        self._on_listening = on_listening
        self._on_stopped = on_stopped
        self._on_stopping = on_stopping

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            write_server_file(self._data_dir, self._info)
            self._on_listening()

    async def shutdown(self, sockets=None) -> None:
        self.forget()  # first, so no new command line call comes while connections close
        self._on_stopping()
        await super().shutdown(sockets)
        self._on_stopped()

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
    assistant: Assistant,
    background: bool = False,
    documents: Sequence[Path] = (),
    say: Callable[[str], None] | None = None,
) -> BackgroundServer | None:
    """Serve the API and the UI on ``TIP_HOST:TIP_PORT`` until interrupted. The server listens at once; the
    model loads and ``documents`` (files and folders) are added in the background, each step shown in the web
    UI, on ``/api/v1/health`` and through ``say(line)`` (a line for the terminal). With ``background``, the
    server runs in a thread and is returned ready (its ``close()`` stops it). Raises ``ExposedWithoutToken``,
    ``LibraryAlreadyServed`` and the errors of ``Assistant.check_setup``. Once it has stopped (Ctrl+C), ``say``
    says so."""
    settings = assistant.settings
    say = say or (lambda line: None)
    token = secrets.token_urlsafe(32)  # the command line's, through server.json
    startup = Startup()
    app = build_app(assistant, token, startup)  # refuses an exposed server without a token before loading anything
    running = answering_server(settings.data_dir)
    if running is not None:
        raise LibraryAlreadyServed(settings.data_dir, running.url)
    assistant.check_setup()  # a setting to fix stops the start in one line, before anything listens

    stopping = threading.Event()
    started: list[threading.Thread] = []

    def say_until_stopping(line: str) -> None:  # the start-up's lines: none after "stopping…" and "stopped"
        if not stopping.is_set():
            say(line)

    def on_listening() -> None:
        url = server.url
        say(f"tip-assistant: listening on {url}/ (web UI), {url}/api/v1 (API), {url}/docs (API reference); "
            "Ctrl+C stops it")  # fmt: skip
        thread = threading.Thread(target=prepare, args=(assistant, documents, startup, say_until_stopping, stopping),
                                  name="tip-startup", daemon=True)  # fmt: skip
        started.append(thread)
        thread.start()

    def on_stopping() -> None:  # open browser connections may take seconds to close
        stopping.set()
        say("tip-assistant: stopping…")

    def on_stopped() -> None:
        assistant.stop_prefetch()
        assistant.stop_answering_processes()

    server = _Server(app, settings, token, on_listening, on_stopped, on_stopping)
    if background:
        running_server = BackgroundServer(server).start()
        startup.ready.wait()
        return running_server
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn raises Ctrl+C again once it has shut down: the stop asked for
        pass
    finally:
        server.forget()
        stopping.set()
    # The interpreter must not exit under the start-up while it is inside the model's native code (compiling it
    # aborted the process once): it ends at its next step, which it checks for the stop.
    for thread in started:
        thread.join(timeout=STARTUP_STOP_TIMEOUT)
    on_stopped()  # again: what the start-up began while the server stopped
    # What is left is the interpreter's exit, whose last garbage collection walked the loaded model and library
    # for ~5 s after "stopped"; nothing needs collecting any more.
    gc.freeze()
    say("tip-assistant: stopped")
    return None


def prepare(
    assistant: Assistant,
    documents: Sequence[Path],
    startup: Startup,
    say: Callable[[str], None],
    stopping: threading.Event | None = None,
) -> None:
    """Export the model if this machine has not yet, load it, then add ``documents``, moving ``startup`` through
    its stages and saying each file's outcome; an error a user can fix ends the start-up with its message (the
    server goes on serving). A server ``stopping`` meanwhile ends it at once during the export (whose process it
    ends), else at its next step: after the model's load, or between batches of chunks of a file being added
    (which is then left out, whole)."""

    def go_on() -> None:
        if stopping is not None and stopping.is_set():
            raise _StartupStopped

    try:
        if assistant.embedder.needs_graph:  # in a process of its own: this one then never loads torch
            startup.moved_to("Preparing the embedding model (once on this machine)…")
            say("tip-assistant: preparing the embedding model (once on this machine, a few seconds)…")
            assistant.prepare_graph(stopping)
        go_on()
        startup.moved_to("Loading the model…")
        say("tip-assistant: loading the model…")
        assistant.warm_up()
        go_on()
        if documents:
            startup.moved_to("Adding documents…")

            def progress(done: int, total: int, outcome: FileOutcome) -> None:
                say(format_outcome(outcome_dict(outcome)))
                startup.moved_to(f"Adding documents: {done} of {counted(total, 'file')} done…")
                go_on()  # between files: the library keeps the ones added

            def within(source: str, done: int, total: int) -> None:
                go_on()  # between batches of a file: the file being added is then left out whole
                startup.moved_to(f"Adding documents: {source}, {done} of {counted(total, 'chunk')} stored…")

            report = assistant.ingest(documents, progress, within)
            say(f"tip-assistant: {report.summary()}; {counted(len(assistant.documents()), 'document')} in the library")
        ready = f"Ready: {counted(len(assistant.documents()), 'document')} in the library."
        startup.finished(ready)
        say(f"tip-assistant: {ready[0].lower()}{ready[1:]}")  # said as the health check says it
        go_on()
        assistant.prefetch_sentence_vectors()  # questions that come first are answered first
        count = assistant.settings.answer_processes
        processes = "process" if count == 1 else "processes"
        if assistant.start_answering_processes(lambda: say(f"tip-assistant: {count} answering {processes} ready")):
            say(f"tip-assistant: starting {count} answering {processes} (TIP_ANSWER_PROCESSES)…")
    except _StartupStopped:
        startup.failed("the server stopped")
    except TipError as exc:
        startup.failed(str(exc))
        say(f"tip-assistant: error: {exc}")
    except Exception as exc:  # a bug: logged in full, and the start-up still ends rather than hangs
        log.exception("start-up failed")
        startup.failed(f"{type(exc).__name__}: {exc}")
