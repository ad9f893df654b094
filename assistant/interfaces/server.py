"""One server for the library: the JSON API (``assistant.interfaces.api``) with the web UI mounted on it
at ``/``, served by uvicorn (``tip-assistant serve``, ``python app.py``).

On loopback (the default, ``TIP_HOST=127.0.0.1``) it asks nothing of anyone. Bound to any other address it
refuses to start without ``TIP_API_TOKEN``, which the API then asks of every request as a bearer token and
the web UI asks as its password. Gradio's public share links are never used.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.errors import TipError
from assistant.interfaces.api import create_api
from assistant.interfaces.web.ui import build_ui
from assistant.service import Assistant
from assistant.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

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


def build_app(assistant: Assistant) -> FastAPI:
    """The API with the web UI mounted at ``/`` (behind a login when ``TIP_API_TOKEN`` is set)."""
    import gradio as gr  # after main() has switched offline mode on (see build_ui)

    settings = assistant.settings
    check_exposure(settings)
    app = create_api(assistant)
    demo = build_ui(assistant).queue(default_concurrency_limit=UI_CONCURRENCY)
    token = settings.api_token

    def login(username: str, password: str) -> bool:
        return token is not None and hmac.compare_digest(password.encode(), token.get_secret_value().encode())

    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=login if token is not None else None,
        auth_message="Sign in with any name and the server's token (TIP_API_TOKEN) as the password.",
        max_file_size=f"{settings.max_upload_mb}mb",
        server_name=settings.host,
        server_port=settings.port,
    )


class BackgroundServer:
    """A server running in a thread of this process: for tests, and for a caller that goes on working."""

    def __init__(self, app: FastAPI, host: str, port: int):
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="tip-server", daemon=True)
        self.url = f"http://{host}:{port}"

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


def serve(
    assistant: Assistant, background: bool = False, announce: Callable[[str], None] | None = None
) -> BackgroundServer | None:
    """Serve the API and the UI on ``TIP_HOST:TIP_PORT`` until interrupted, calling ``announce(url)`` once
    everything is loaded; with ``background``, start in a thread and return the running server (its
    ``close()`` stops it)."""
    import uvicorn

    settings = assistant.settings
    app = build_app(assistant)  # refuses an exposed server without a token before loading anything
    assistant.warm_up()  # load the model now rather than on the first question
    if background:
        return BackgroundServer(app, settings.host, settings.port).start()
    if announce is not None:
        announce(f"http://{settings.host}:{settings.port}")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return None
