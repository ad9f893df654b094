"""The commands that go through a server running on the library: ``ingest``, ``ask``, ``verify``, ``docs`` and
``remove``, as ``assistant.interfaces.cli`` chooses when ``server.json`` (``assistant.interfaces.discovery``)
names a server that answers. They print exactly what the same commands print in process.

HTTP with the standard library only: a call loads no model and no store, so it returns in a fraction of a
second plus the server's work.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

from assistant.errors import TipError
from assistant.interfaces.console import (
    EXIT_FAILED_FILES,
    EXIT_OK,
    WithinFile,
    format_answer,
    format_checked,
    format_documents,
    format_removed,
    print_json,
    read_history,
    read_text,
)
from assistant.interfaces.discovery import ServerInfo, answering_server
from assistant.interfaces.text import counted, format_outcome
from assistant.settings import Settings

log = logging.getLogger(__name__)

API = "/api/v1"
NOT_FOUND_HINT = "`tip-assistant docs` lists the documents"


class ServerError(TipError):
    """The server refused a request (its JSON error message), or stopped answering."""


class ServerClient:
    """Requests to one running server, with the token its ``server.json`` gives."""

    def __init__(self, info: ServerInfo):
        self.url = info.url
        self._token = info.token

    def call(self, method: str, path: str, body: object = None) -> object:
        """The JSON the server returns for ``method`` on ``/api/v1{path}``; raises ``ServerError``."""
        with self._open(method, path, body) as response:
            return json.load(response)

    def lines(self, path: str, body: object) -> Iterator[dict]:
        """The JSON lines a streaming ``POST /api/v1{path}`` sends, as they come."""
        with self._open("POST", path, body) as response:
            for line in response:
                if line.strip():
                    yield json.loads(line)

    def _open(self, method: str, path: str, body: object):
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        request = urllib.request.Request(self.url + API + path, data=data, headers=headers, method=method)
        try:
            return urllib.request.urlopen(request)
        except urllib.error.HTTPError as exc:
            raise ServerError(_message(exc)) from None
        except OSError as exc:
            raise ServerError(
                f"the server at {self.url} stopped answering ({exc}): run the command again, and without a server "
                "it opens the library itself"
            ) from None


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        message = json.load(exc)["error"]
    except (ValueError, KeyError, TypeError):
        message = f"the server at {exc.url} answered {exc.code} {exc.reason}"
    return f"{message}: {NOT_FOUND_HINT}" if exc.code == 404 else message


def find_server(settings: Settings) -> ServerClient | None:
    """A client of the server running on ``settings.data_dir``, when one answers and runs with the same store
    and ``TIP_TOP_K`` (a command given other ones opens the library itself)."""
    info = answering_server(settings.data_dir)
    if info is None:
        return None
    if (info.chroma_url, info.top_k) != (settings.chroma_url, settings.top_k):
        log.info("the server at %s uses another store or top-k; opening the library here", info.url)
        return None
    log.info("going through the server at %s", info.url)
    return ServerClient(info)


def cmd_ingest(server: ServerClient, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    # Absolute, without resolving links: the server names each file as `ingest` here would.
    paths = [os.path.abspath(p) for p in args.paths]
    within = WithinFile()
    with tqdm(total=0, unit="file", file=sys.stderr, disable=None) as bar:
        for event in server.lines("/documents/local", {"paths": paths}):
            if "error" in event:
                raise ServerError(event["error"])
            if "chunks" in event:
                within(event["source"], event["chunks_done"], event["chunks"])
            elif "outcome" in event:
                bar.total = event["total"]
                bar.update(1)
                tqdm.write(format_outcome(event["outcome"]), file=sys.stdout)
            else:
                summary = event
    within.close()
    print(f"{summary['summary']}; {counted(summary['documents'], 'document')} in the library")
    return EXIT_FAILED_FILES if summary["failed"] else EXIT_OK


def cmd_ask(server: ServerClient, args: argparse.Namespace) -> int:
    history = read_history(args.history) if args.history else []
    years = [year for span in args.years or [] for year in span]
    body = {"question": args.question, "history": history, "documents": args.docs, "years": years or None}
    answer = server.call("POST", "/ask", body)
    print_json(answer) if args.json else print(format_answer(answer))
    return EXIT_OK


def cmd_verify(server: ServerClient, args: argparse.Namespace) -> int:
    sentences = server.call("POST", "/verify", {"text": read_text(args.file), "documents": args.docs})["sentences"]
    print_json({"sentences": sentences}) if args.json else print(format_checked(sentences))
    return EXIT_OK


def cmd_docs(server: ServerClient, args: argparse.Namespace) -> int:
    documents = server.call("GET", "/documents")
    print_json(documents) if args.json else print(format_documents(documents))
    return EXIT_OK


def cmd_remove(server: ServerClient, args: argparse.Namespace) -> int:
    removed = server.call("DELETE", "/documents/" + urllib.parse.quote(args.doc, safe=""))["removed"]
    print(format_removed(removed))
    return EXIT_OK


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "verify": cmd_verify, "docs": cmd_docs, "remove": cmd_remove}
