"""The JSON API, version 1, under ``/api/v1``: what the command line does, for other tools (a drafting
template, a case-management system, a notebook). FastAPI serves it with its OpenAPI description at ``/docs``
and ``/openapi.json``.

=========================  ==================================================================================
``GET /health``             ``{"status", "stage", "model_loaded", "store", "documents", "sentence_vectors",
                            "answering_processes"}``: status "starting"
                            while the model loads, then "ok"; 503 when the store is down
``POST /ask``               ``{question, history?, documents?, years?}`` → the ``ask --json`` object; with
                            ``stream: true``, server-sent events: ``delta`` (``{"text"}``, the model's new
                            text, with ``TIP_LLM`` set) as it is generated, then ``answer`` (that object)
``POST /verify``            ``{text, documents?}`` → ``{"sentences": [...]}`` as ``verify --json``
``POST /summarize``         ``{topic, grouping?, documents?, years?, format?}`` → a cited text (JSON), or
                            the Markdown (``format: "md"``) or Word file (``"docx"``)
``POST /cite``              ``{text, documents?, format?}`` → the text with its sources, as ``/summarize``
``GET /documents``          the library's documents, as ``docs --json``
``POST /documents``         multipart ``files`` → each file's outcome, as ``ingest`` reports it
``POST /documents/local``   ``{paths}``: files and folders on the server's machine, for the command line there
                            (with the token of ``server.json``) → one JSON line per file as it is done
``DELETE /documents/{ref}`` remove a document (id, path or file name) → what was removed
=========================  ==================================================================================

Errors are JSON, ``{"error": "what went wrong and what to do"}``, with the status that says whose move it is:
400 bad input (an empty question, a malformed field), 401 a missing or wrong token, 404 an unknown document,
403 a local path without the local token, 409 an empty library, 413 a file over ``TIP_MAX_UPLOAD_MB``, 503 the
store not answering. With ``TIP_API_TOKEN`` set, every request needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import itertools
import json
import queue
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from assistant.drafting.drafts import CitedText, Grouping
from assistant.drafting.export import to_markdown, write
from assistant.errors import StoreUnavailable, TipError
from assistant.interfaces.payloads import checked_dict, cited_dict, document_dict, outcome_dict, stage_uploads
from assistant.interfaces.startup import Startup, already_ready
from assistant.service import Assistant, DocumentNotFound, EmptyLibrary
from assistant.types import Answer
from ingest.pipeline import IngestReport

PREFIX = "/api/v1"
UPLOAD_CHUNK = 1 << 20  # bytes read at a time while saving an upload, so an oversize one stops early
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class UploadTooLarge(TipError):
    """A file over ``TIP_MAX_UPLOAD_MB``."""

    def __init__(self, name: str, limit_mb: int):
        super().__init__(f"{name} is larger than {limit_mb} MB (TIP_MAX_UPLOAD_MB): split it, or raise the limit")


class Unauthorized(TipError):
    """A request without the bearer token ``TIP_API_TOKEN`` asks for."""

    def __init__(self) -> None:
        super().__init__("this server needs a token: send the header 'Authorization: Bearer <TIP_API_TOKEN>'")


class LocalPathsRefused(TipError):
    """Files named by path without the token of ``server.json``: only the command line on this machine,
    run by the server's user, may have the server read its files."""

    def __init__(self) -> None:
        super().__init__("adding files by their path on the server is for its command line only: upload them "
                         "with POST /api/v1/documents instead")  # fmt: skip


STATUS = {
    DocumentNotFound: 404,
    EmptyLibrary: 409,
    UploadTooLarge: 413,
    StoreUnavailable: 503,
    Unauthorized: 401,
    LocalPathsRefused: 403,
}


def status_of(error: TipError) -> int:
    """The HTTP status of an error a user can fix: 400 unless it is one of ``STATUS``."""
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)


# ----- request bodies --------------------------------------------------------------------------------------
class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(description="the question, in any words")
    history: list[Turn] = Field(default=[], description="earlier turns, oldest first, for a follow-up")
    documents: list[str] | None = Field(default=None, description="answer from these documents only (id, path, "
                                        "or part of a file name or title)")  # fmt: skip
    years: list[int] | None = Field(default=None, description="answer from documents published in these years")
    stream: bool = Field(default=False, description="server-sent events: the generated text as it comes, then the "
                         "checked answer")  # fmt: skip


class VerifyRequest(BaseModel):
    text: str = Field(description="sentences to check against the library")
    documents: list[str] | None = None


class SummarizeRequest(BaseModel):
    topic: str
    grouping: Grouping = Grouping.AUTO
    documents: list[str] | None = None
    years: list[int] | None = None
    format: Literal["json", "md", "docx"] = "json"


class LocalPathsRequest(BaseModel):
    paths: list[str] = Field(min_length=1, description="absolute paths of files and folders on the server's machine")


class CiteRequest(BaseModel):
    text: str = Field(description="a draft to attach sources to")
    documents: list[str] | None = None
    format: Literal["json", "md", "docx"] = "json"


# ----- the application -------------------------------------------------------------------------------------
def create_api(assistant: Assistant, local_token: str | None = None, startup: Startup | None = None) -> FastAPI:
    """The API over ``assistant`` as a FastAPI application (the web UI is mounted on it by
    ``assistant.interfaces.server``). ``local_token`` is accepted beside ``TIP_API_TOKEN`` and alone lets a
    request add files by their path (``server.json`` gives it to the command line on this machine). ``startup``
    is what ``/health`` reports while the server prepares."""
    app = FastAPI(title="tip-assistant", version="1", summary="Cited answers from a trafficking-in-persons library",
                  docs_url=None, redoc_url=None)  # fmt: skip
    _offline_docs(app)

    @app.exception_handler(TipError)
    async def tip_error(request: Request, exc: TipError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            message = f"the request body is not valid JSON ({first.get('ctx', {}).get('error', 'malformed')})"
        elif tuple(first["loc"]) == ("body",):  # not an object: a form, plain text, or JSON sent as text
            message = "the request body must be a JSON object: send it with the header 'Content-Type: application/json'"
        else:
            field = ".".join(str(part) for part in first["loc"] if part != "body") or "body"
            message = f"{field}: {first['msg']}"
        return JSONResponse({"error": message}, status_code=400)

    # Without TIP_API_TOKEN the API is open (on loopback); with it, a request bears it or the command line's.
    api_token = assistant.settings.api_token
    tokens = [api_token.get_secret_value(), *([local_token] if local_token else [])] if api_token else []
    routes = _routes(assistant, local_token, startup or already_ready())
    app.include_router(routes, prefix=PREFIX, dependencies=[Depends(_token_check(tokens))])
    return app


def _offline_docs(app: FastAPI) -> None:
    """The OpenAPI page at ``/docs`` with Swagger UI served from the installed ``swagger-ui-bundle``
    package: FastAPI's default fetches it from a CDN, and this tool runs offline."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="tip-assistant API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def _bearer_is(request: Request, token: str) -> bool:
    sent = request.headers.get("authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


def _token_check(tokens: list[str]):
    """A dependency that lets a request through when it bears one of ``tokens``, or when there are none."""

    def check(request: Request) -> None:
        if tokens and not any(_bearer_is(request, t) for t in tokens):
            raise Unauthorized()

    return check


def _routes(assistant: Assistant, local_token: str | None, startup: Startup) -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    def health() -> dict:
        """Whether the server can answer: "starting" (with its stage) until the model is loaded and the documents
        it was started with are in, then "ok"; the store reachable, how many documents; whether the sentence
        vectors of every passage are kept yet ("ready"; "computing" while the server is idle); whether the worker
        processes of ``TIP_ANSWER_PROCESSES`` answer ("off", "starting", "ready", "failed")."""
        documents = len(assistant.store.documents())  # opening the store raises StoreUnavailable: 503
        status = "ok" if startup.ready.is_set() else "starting"
        return {"status": status, "stage": startup.stage, "model_loaded": assistant.embedder.loaded,
                "store": "reachable", "documents": documents,
                "sentence_vectors": assistant.sentence_vectors_state,
                "answering_processes": assistant.answering_processes_state}  # fmt: skip

    @router.post("/ask", response_model=None)
    def ask(request: AskRequest) -> dict | StreamingResponse:
        """A cited answer, or a refusal that says what the library lacks."""
        doc_ids = assistant.select_documents(request.documents, request.years)
        history = [turn.model_dump() for turn in request.history]
        if request.stream:
            return _answer_events(assistant.ask_stream(request.question, history, doc_ids))
        answer = assistant.ask(request.question, history, doc_ids).to_dict()
        if not startup.ready.is_set():  # a refusal now may only mean the document is not in yet
            answer["notices"].append(f"The server is still starting ({startup.stage.rstrip('…')}): documents it "
                                     "is adding may be missing from this answer.")  # fmt: skip
        return answer

    @router.post("/verify")
    def verify(request: VerifyRequest) -> dict:
        """Each sentence of a text with the library passage that best supports it, labelled."""
        checked = assistant.verify(request.text, assistant.select_documents(request.documents))
        return {"sentences": [checked_dict(c) for c in checked]}

    @router.post("/summarize", response_model=None)
    def summarize(request: SummarizeRequest) -> dict | Response:
        """A cited summary of what the library says on a topic."""
        doc_ids = assistant.select_documents(request.documents, request.years)
        return _delivered(assistant.summarize(request.topic, request.grouping, doc_ids), request.format)

    @router.post("/cite", response_model=None)
    def cite(request: CiteRequest) -> dict | Response:
        """A draft with sources attached where the library supports it, [citation needed] elsewhere."""
        return _delivered(assistant.cite(request.text, assistant.select_documents(request.documents)), request.format)

    @router.get("/documents")
    def documents() -> list[dict]:
        """Every document in the library, in the order they were added."""
        return [document_dict(d) for d in assistant.documents()]

    @router.post("/documents")
    def add_documents(files: Annotated[list[UploadFile], File(description="PDF, .docx, .html, .txt or .md")]) -> dict:
        """Add files to the library; each file's outcome (added, updated, unchanged, duplicate, failed)."""
        limit = assistant.settings.max_upload_mb
        with tempfile.TemporaryDirectory(prefix="tip-api-upload-") as folder:
            received = Path(folder) / "received"
            received.mkdir()
            saved = [(upload.filename, _save(upload, received / str(n), limit)) for n, upload in enumerate(files)]
            staged_in = Path(folder) / "staged"
            staged_in.mkdir()
            staged, refused = stage_uploads(saved, staged_in)
            report = assistant.ingest(staged) if staged else IngestReport([])
        outcomes = [*report.outcomes, *refused]
        return {"outcomes": [outcome_dict(o) for o in outcomes], "documents": len(assistant.documents())}

    @router.post("/documents/local", response_class=StreamingResponse)
    def add_local_documents(request: LocalPathsRequest, http: Request) -> StreamingResponse:
        """Add files and folders on the server's machine, for the command line there: JSON lines as the work goes,
        ``{"source", "chunks_done", "chunks"}`` within a file, ``{"done", "total", "outcome"}`` as each file is
        done, then ``{"summary", "failed", "documents"}``."""
        if local_token is None or not _bearer_is(http, local_token):
            raise LocalPathsRefused()
        return StreamingResponse(_ingest_lines(assistant, request.paths), media_type="application/x-ndjson")

    @router.delete("/documents/{ref:path}")
    def remove_document(ref: str) -> dict:
        """Remove a document and everything stored for it."""
        return {"removed": document_dict(assistant.remove(ref))}

    return router


def _answer_events(pieces: Iterator[str | Answer]) -> StreamingResponse:
    """Server-sent events of an answer being generated (``ask_stream``'s pieces: the text so far, then the
    ``Answer``). The first piece is taken here, so an empty question or library is still a JSON error."""
    first = next(pieces)  # raises EmptyQuestion, EmptyLibrary, StoreUnavailable before anything is sent

    def events() -> Iterator[str]:
        sent = ""
        try:
            for piece in itertools.chain([first], pieces):
                if isinstance(piece, str):  # the text so far: send what is new
                    yield _event("delta", {"text": piece[len(sent) :]})
                    sent = piece
                else:
                    yield _event("answer", piece.to_dict())
        except TipError as exc:  # the response has begun: the error is the stream's last event
            yield _event("error", {"error": str(exc), "status": status_of(exc)})

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _ingest_lines(assistant: Assistant, paths: list[str]) -> Iterator[str]:
    """Ingest ``paths`` in a thread of its own and yield its progress as JSON lines. The ingest finishes even
    if the client goes away, so the library never depends on a connection."""
    events: queue.Queue[dict | None] = queue.Queue()

    def run() -> None:
        try:
            report = assistant.ingest(
                paths,
                lambda done, total, o: events.put({"done": done, "total": total, "outcome": outcome_dict(o)}),
                lambda source, done, total: events.put({"source": source, "chunks_done": done, "chunks": total}),
            )
            events.put({"summary": report.summary(), "failed": len(report.failed),
                        "documents": len(assistant.documents())})  # fmt: skip
        except TipError as exc:
            events.put({"error": str(exc), "status": status_of(exc)})
        finally:
            events.put(None)

    threading.Thread(target=run, name="tip-local-ingest", daemon=True).start()
    while (event := events.get()) is not None:
        yield json.dumps(event, ensure_ascii=False) + "\n"


def _save(upload: UploadFile, target: Path, limit_mb: int) -> Path:
    """``upload`` written to ``target``, refused as soon as it passes ``limit_mb`` megabytes."""
    limit, written = limit_mb * 1024 * 1024, 0
    with target.open("wb") as out:
        while chunk := upload.file.read(UPLOAD_CHUNK):
            written += len(chunk)
            if written > limit:
                raise UploadTooLarge(upload.filename or "the upload", limit_mb)
            out.write(chunk)
    return target


def _delivered(cited: CitedText, fmt: str) -> dict | Response:
    """A cited text as JSON, or as the Markdown or Word file a drafter downloads."""
    if fmt == "json":
        return cited_dict(cited)
    if fmt == "md":
        return Response(to_markdown(cited), media_type="text/markdown; charset=utf-8")
    with tempfile.TemporaryDirectory(prefix="tip-api-docx-") as folder:
        path = write(cited, Path(folder) / "cited.docx", "docx")
        content = path.read_bytes()
    return Response(content, media_type=DOCX, headers={"Content-Disposition": 'attachment; filename="cited.docx"'})
