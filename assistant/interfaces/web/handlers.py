"""What the web UI does, as plain functions of the assistant: a chat turn, the ``/ask`` API, exporting the
conversation, checking a text, drafting, uploads and removal. Gradio calls them from
``assistant.interfaces.web.ui``; tests call them directly."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from assistant.answering.conversation import HistoryError, checked_history
from assistant.drafting import transcript
from assistant.drafting.drafts import CitedText
from assistant.drafting.export import to_markdown, write
from assistant.errors import TipError
from assistant.grounding.support import CheckedSentence
from assistant.interfaces.payloads import stage_uploads
from assistant.interfaces.text import counted
from assistant.interfaces.web.render import (
    CHECKING,
    EMPTY_SOURCES,
    ChatEntry,
    PageView,
    answer_entry,
    chat_entry,
    chat_messages,
    check_message,
    document_choices,
    document_rows,
    draft_message,
    format_report,
    plain_turns,
    render_checked,
    render_draft,
    render_sources,
    render_viewer_heading,
    render_viewer_page,
)
from assistant.service import Assistant, DocumentNotFound
from assistant.types import Answer, Citation, Progress
from ingest.pdf_pages import quote_boxes, render_page
from ingest.pipeline import FileOutcome, IngestReport

log = logging.getLogger(__name__)


class ChatStep(NamedTuple):
    """What one step of a chat turn shows: the chat, the Sources panel (None: leave it as it is), the text for
    the question box, and the conversation to keep."""

    chat: list[dict[str, str]]
    sources: str | None
    question_box: str
    conversation: list[ChatEntry]


SEARCHING = "Searching the library…"


def asked_chat(entries: Sequence[Mapping[str, str]] | None, question: str) -> list[dict[str, str]]:
    """The chat the moment ``question`` is sent: the question in it at once, and a line saying it is being
    answered (the first answer after a start waits for the model to load)."""
    return chat_messages([*(entries or []), chat_entry("user", question), chat_entry("assistant", SEARCHING)])


def chat_turn(
    assistant: Assistant,
    question: str,
    entries: Sequence[Mapping[str, str]] | None,
    doc_ids: Sequence[str] | None,
    years: Sequence[int] | None = None,
) -> ChatStep:
    """Answer ``question`` in the context of the conversation so far (``entries``, as ``chat_entry`` makes
    them): the chat to show, the sources panel, the question box, and the conversation to keep."""
    *_, last = chat_turn_stream(assistant, question, entries, doc_ids, years)
    return last


def chat_turn_stream(
    assistant: Assistant,
    question: str,
    entries: Sequence[Mapping[str, str]] | None,
    doc_ids: Sequence[str] | None,
    years: Sequence[int] | None = None,
) -> Iterator[ChatStep]:
    """``chat_turn`` as it happens: with a model configured, the text while it is generated (the panel says
    it is not checked yet, and the conversation kept is still the one before), then the checked answer;
    without one, the answer at once. The question box empties once the answer comes.

    An error the user can fix (a ``TipError``: the Chroma server is down, the library is empty, a chosen
    document was removed meanwhile) ends the turn with its message as the assistant's reply; the question
    stays in the box to send again, and the conversation kept is the one before, so neither the failed
    question nor the message reaches the next answer's history."""
    before = list(entries or [])
    asked = [*before, chat_entry("user", question)]
    streaming = False
    try:
        try:
            selected = assistant.select_documents(doc_ids, years)
        except DocumentNotFound:  # removed meanwhile, e.g. from another browser tab
            raise ChosenDocumentGone() from None
        for piece in assistant.ask_stream(question, plain_turns(before), selected):
            if isinstance(piece, str):
                streaming = True
                so_far = chat_entry("assistant", piece, piece + " …")
                yield ChatStep(chat_messages([*asked, so_far]), CHECKING, "", before)
            else:
                answered = [*asked, answer_entry(piece)]
                yield ChatStep(chat_messages(answered), render_sources(piece), "", answered)
    except TipError as exc:
        reply = chat_entry("assistant", not_answered(exc))
        # The panel said "Generating…": nothing is being checked any more. Otherwise it keeps the last sources.
        yield ChatStep(chat_messages([*asked, reply]), EMPTY_SOURCES if streaming else None, question, before)


def error_text(error: Exception) -> str:
    """An error's message as a sentence: capitalised, ending with a full stop (a ``TipError`` says what
    happened and what to do in lower case, for a CLI's "error: …" line)."""
    text = str(error).strip() or type(error).__name__
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


class ChosenDocumentGone(TipError):
    """A document chosen in a filter was removed meanwhile (from another browser tab, or the command line)."""

    def __init__(self) -> None:
        super().__init__("a chosen document is no longer in the library: choose the documents again")


def not_answered(error: TipError) -> str:
    """The chat's reply when a question could not be answered, saying why and that the question is kept."""
    return (
        f"⚠️ This question was not answered. {error_text(error)} "
        "Your question is still in the box below: send it again once this is fixed."
    )


def parse_history(history_json: str) -> list[dict[str, str]]:
    """The API's history argument: a JSON list of ``{"role": "user"|"assistant", "content": str}``."""
    if not history_json or not history_json.strip():
        return []
    try:
        turns = json.loads(history_json)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"history_json is not valid JSON ({exc.msg}): pass a JSON list or an empty string") from None
    return checked_history(turns, "history_json")


def ask_api(assistant: Assistant, question: str, history_json: str) -> dict:
    """The ``/ask`` endpoint: ``Answer.to_dict()``; a bad question or history raises a ``TipError``."""
    return assistant.ask(question, parse_history(history_json)).to_dict()


# ----- exporting the conversation -----------------------------------------------------------------------
NOTHING_TO_EXPORT = "Ask a question first: the conversation is exported with the sources of each answer."


class ConversationExport(NamedTuple):
    """The Chat tab's export: the files to download (Markdown, then Word), or none and why."""

    files: list[str]
    message: str


def exchanges(entries: Sequence[Mapping[str, Any]] | None) -> list[transcript.Exchange]:
    """The questions of a conversation kept by the UI, each with the answer that follows it. A reply kept
    without its ``Answer`` (an entry made by ``chat_entry``) is exported as its text, citing nothing."""
    found, question = [], None
    for entry in entries or ():
        if entry["role"] == "user":
            question = entry["content"]
        elif question is not None:
            answer = entry.get("answer") or Answer(question, entry["content"], (), (), False, question)
            found.append(transcript.Exchange(question, answer))
            question = None
    return found


def export_conversation(
    entries: Sequence[Mapping[str, Any]] | None, folder: Path, when: datetime | None = None
) -> ConversationExport:
    """The conversation so far as ``conversation.md`` and ``conversation.docx`` in ``folder``: each question,
    its answer with the citation markers and support marks, and under it the sources with document, page and
    the quoted passage (``assistant.drafting.transcript``)."""
    found = exchanges(entries)
    if not found:
        return ConversationExport([], NOTHING_TO_EXPORT)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [transcript.write(found, folder / f"conversation.{fmt}", fmt, when) for fmt in ("md", "docx")]
    return ConversationExport([str(p) for p in paths], "")


ProgressFn = Callable[..., Any]  # gr.Progress, or anything with its call signature


def progress_bar(progress: ProgressFn | None, desc: str | None = None, unit: str = "steps") -> Progress | None:
    """The library's ``Progress`` moving a ``gr.Progress`` bar, labelled ``desc`` (else the stage's name)."""
    if progress is None:
        return None
    return lambda stage, done, total: progress((done, total), desc=desc or stage, unit=unit)


# ----- check text ---------------------------------------------------------------------------------------
# A blank line, as ingest.sentences splits paragraphs: no sentence crosses one, so checking a text paragraph
# by paragraph finds the same sentences as checking it whole, and lets a long text show its progress.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")


def paragraphs(text: str) -> list[tuple[int, str]]:
    """The non-blank paragraphs of ``text`` with their offsets."""
    found, start = [], 0
    for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        if text[start:end].strip():
            found.append((start, text[start:end]))
        if brk:
            start = brk.end()
    return found


def verify_text(
    assistant: Assistant, text: str, doc_ids: Sequence[str] | None = None, progress: ProgressFn | None = None
) -> list[CheckedSentence]:
    """``assistant.verify`` one paragraph at a time, reporting progress; offsets refer to the whole text.
    Raises ``EmptyText`` for a text with no sentence."""
    parts = paragraphs(text)
    if not parts:
        return assistant.verify(text, doc_ids)  # raises EmptyText
    step = progress_bar(progress, "Checking each sentence against the library", "paragraphs")
    checked: list[CheckedSentence] = []
    for done, (offset, paragraph) in enumerate(parts):
        if step is not None:
            step("check", done, len(parts))
        found = assistant.verify(paragraph, doc_ids)
        checked += [replace(c, start=c.start + offset, end=c.end + offset) for c in found]
    return checked


class CheckResult(NamedTuple):
    """What the "Check text" tab shows (HTML), and the passage of each sentence shown, in order (None for a
    sentence without one): what its card's "Open page" button opens in the page viewer."""

    shown: str
    passages: tuple[Citation | None, ...] = ()


def check_text(
    assistant: Assistant,
    text: str | None,
    doc_ids: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> CheckResult:
    """The "Check text" tab: every sentence of ``text`` labelled with the passage that backs it, as HTML;
    or a message saying what to do first, or why the check failed (a ``TipError``, e.g. the Chroma server is
    down). The text is not an output of the tab, so it stays as typed."""
    if not text or not text.strip():
        return CheckResult(check_message("Paste some text to check first."))
    if not assistant.documents():
        return CheckResult(check_message("The library is empty: add documents in the Library tab first."))
    try:
        selected = assistant.select_documents(doc_ids)
    except DocumentNotFound:  # removed meanwhile, e.g. from another browser tab
        return CheckResult(check_message(error_text(ChosenDocumentGone())))
    try:
        checked = verify_text(assistant, text, selected, progress)
    except TipError as exc:
        return CheckResult(check_message(f"The text was not checked. {error_text(exc)} {KEPT}"))
    passages = tuple(Citation.of_span(0, c.support.span()) if c.support.quote else None for c in checked)
    return CheckResult(render_checked(checked), passages)


# After the message of an error the user can fix, in the tabs whose input stays as it was.
KEPT = "Your text is kept: try again once this is fixed."


# ----- drafting -----------------------------------------------------------------------------------------
GROUPINGS = [("Automatic", "auto"), ("By country", "country"), ("By theme", "theme"), ("By document", "document")]
OWN_DRAFT = "Or cite your own draft"  # the label of the draft box


class DraftResult(NamedTuple):
    """What the Draft tab shows after Summarize or Attach sources: a message (HTML; "" for none), the preview
    (HTML) and the files to download. ``preview`` and ``files`` are None when nothing new was drafted: the
    tab then keeps the previous summary or draft and its files, and the message says why."""

    message: str
    preview: str | None
    files: list[str] | None


def draft_outputs(cited: CitedText, folder: Path) -> DraftResult:
    """The preview of ``cited`` (HTML, notes and references as a reader sees them) and the two files to
    download (Markdown with footnotes, Word with notes)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w-]+", "-", cited.title.lower()).strip("-")[:60] or "cited-text"
    md_path = folder / f"{stem}.md"
    md_path.write_text(to_markdown(cited), encoding="utf-8")
    docx_path = write(cited, folder / f"{stem}.docx", "docx")
    return DraftResult("", render_draft(cited), [str(md_path), str(docx_path)])


def _kept(message: str) -> DraftResult:
    """Nothing new drafted: ``message``, and the previous preview and files stay."""
    return DraftResult(draft_message(message), None, None)


def summarize_tab(
    assistant: Assistant,
    topic: str | None,
    grouping: str,
    folder: Path,
    progress: ProgressFn | None = None,
    doc_ids: Sequence[str] | None = None,
) -> DraftResult:
    """The Draft tab's summary: preview and files, or a message saying what to do first."""
    if not topic or not topic.strip():
        return _kept("Type a topic to summarize first.")
    problem = _draft_problem(assistant, doc_ids)
    if problem:
        return _kept(problem)
    step = progress_bar(progress)
    try:
        cited = assistant.summarize(topic.strip(), grouping, assistant.select_documents(doc_ids), progress=step)
    except TipError as exc:
        return _kept(_not_drafted(exc))
    if not cited.sections:
        return _kept(f"The library holds nothing on “{topic.strip()}”.")
    return draft_outputs(cited, folder)


def cite_tab(
    assistant: Assistant,
    text: str | None,
    folder: Path,
    progress: ProgressFn | None = None,
    doc_ids: Sequence[str] | None = None,
) -> DraftResult:
    """The Draft tab's cited draft: the drafter's text with sources attached, preview and files."""
    if not text or not text.strip():
        return _kept(f"Paste your draft into “{OWN_DRAFT}” first.")
    problem = _draft_problem(assistant, doc_ids)
    if problem:
        return _kept(problem)
    step = progress_bar(progress, "checking paragraphs", "paragraphs")
    try:
        cited = assistant.cite(text, assistant.select_documents(doc_ids), progress=step)
    except TipError as exc:
        return _kept(_not_drafted(exc))
    return draft_outputs(cited, folder)


def _not_drafted(error: TipError) -> str:
    """The Draft tab's message for an error the user can fix (e.g. the Chroma server is down); the topic and
    the draft are not outputs of the tab, so they stay as typed."""
    return f"Nothing was drafted. {error_text(error)} {KEPT}"


def _draft_problem(assistant: Assistant, doc_ids: Sequence[str] | None) -> str | None:
    """What stops the Draft tab, as a message: an empty library, or a chosen document removed meanwhile."""
    if not assistant.documents():
        return "The library is empty: add documents in the Library tab first."
    try:
        assistant.select_documents(doc_ids)
    except DocumentNotFound:
        return error_text(ChosenDocumentGone())
    return None


# ----- library ------------------------------------------------------------------------------------------


class UploadResult(NamedTuple):
    """The Library tab's ingest report, and whether the files were taken (False: nothing was ingested, so
    the chosen files stay chosen, to add again once the cause is fixed)."""

    report: str
    taken: bool


def add_uploads(
    assistant: Assistant, uploads: Sequence[str | Path] | None, progress: ProgressFn | None = None
) -> UploadResult:
    """Ingest uploaded files; one status line per file and a final count, or why nothing was ingested (a
    ``TipError``, e.g. the Chroma server is down)."""
    if not uploads:
        return UploadResult("Choose PDF, Word (.docx), web page (.html), .txt or .md files to add first.", False)

    def on_file(done: int, total: int, outcome: FileOutcome) -> None:
        if progress is not None:
            progress((done, total), desc=f"{outcome.source}: {outcome.status.value}", unit="files")

    def within_file(source: str, done: int, total: int) -> None:
        if progress is not None:  # a large file shows its chunks going in rather than a still bar
            progress((done, total), desc=f"{source}: storing", unit="chunks")

    try:
        with tempfile.TemporaryDirectory(prefix="tip-upload-") as folder:
            staged, refused = stage_uploads([(Path(u).name, Path(u)) for u in uploads], Path(folder))
            report = assistant.ingest(staged, on_file, within_file)
    except TipError as exc:
        return UploadResult(f"Nothing was added. {error_text(exc)} The files are still chosen: add them again "
                            "once this is fixed.", False)  # fmt: skip
    report = IngestReport([*report.outcomes, *refused])
    return UploadResult(format_report(report, len(assistant.documents())), True)


# Removal takes two steps: ``removal_question`` says what would go, and only ``remove_document`` removes.
NOTHING_CHOSEN = "Choose a document to remove first."
GONE = "That document is no longer in the library."
CANCELLED = "Nothing was removed."


def removal_question(assistant: Assistant, doc_id: str | None) -> tuple[str | None, str]:
    """The first step of a removal: the id of the document awaiting confirmation (None when there is nothing
    to confirm) and what to show: the question naming the document and its chunks, or why there is none.
    Removes nothing."""
    if not doc_id:
        return None, NOTHING_CHOSEN
    try:
        doc = assistant.find_document(doc_id)
    except DocumentNotFound:  # removed meanwhile, e.g. from another browser tab
        return None, GONE
    question = f"Remove {doc.source} ({counted(doc.chunk_count, 'chunk')}) from the library? This cannot be undone."
    return doc.doc_id, question


def remove_document(assistant: Assistant, doc_id: str | None) -> str:
    """The confirmed removal: what was removed, or why nothing was."""
    if not doc_id:
        return NOTHING_CHOSEN
    try:
        doc = assistant.remove(doc_id)
    except DocumentNotFound:  # removed meanwhile, e.g. from another browser tab
        return GONE
    except TipError as exc:  # e.g. the Chroma server is down: the document stays listed
        return f"{CANCELLED} {error_text(exc)}"
    return f"Removed {doc.source} ({counted(doc.chunk_count, 'chunk')})."


def library_state(
    assistant: Assistant, selected: Sequence[str] | None = None
) -> tuple[list[list[Any]], list[tuple[str, str]], list[str], list[int]]:
    """Table rows, dropdown choices, the selected filter ids that still exist, and the years on offer."""
    docs = assistant.documents()
    ids = {d.doc_id for d in docs}
    years = sorted({d.year for d in docs if d.year is not None}, reverse=True)
    return document_rows(docs), document_choices(docs), [i for i in selected or [] if i in ids], years


# ----- page viewer --------------------------------------------------------------------------------------
# An answer's [n] markers in the chat and the cards of its Sources panel open the page its passage n is on, and
# a card of the "Check text" result the page of its sentence's passage: as printed, with the quote boxed, for a
# PDF whose original file is kept; as stored text with the passage marked otherwise. Opening never fails: what
# cannot be shown is said in a note.
CONTEXT_CHARS = 1500  # stored text shown around a passage on each side, at most (whole paragraphs when they fit)
PAGE_TEXT_CHARS = 6000  # stored text shown of a page without the passage, at most
NO_ORIGINAL = (
    "The original file of this document is not kept (it was added before original files were kept), so its "
    "stored text is shown and there is no file to download. Add the file again to keep it."
)
NOT_LOCATED = "The quoted passage could not be found on the page as printed; it is marked in the stored text below."
CHANGED = (
    "This document has changed since the answer was given: the quoted passage is no longer on this page. Ask "
    "again for an answer from the current version."
)
DOCUMENT_GONE = "This document is no longer in the library."
NOT_CHECKED_YET = "The sources of this answer can be opened once it has been checked."


class ViewerStep(NamedTuple):
    """What the page viewer shows: its heading and its page (HTML, see ``render_viewer_heading`` and
    ``render_viewer_page``), whether there is a page before and after, the original file to offer for download
    (a path; None when none is kept), and what to keep for turning pages: the citation and the page shown."""

    heading: str
    page: str
    previous: bool
    next: bool
    download: str | None
    viewing: tuple[Citation, int]


def cited_in(entries: Sequence[Mapping[str, Any]] | None, message: int | None = None) -> tuple[Citation, ...]:
    """The passages listed for the answer at index ``message`` of the conversation ``entries`` (as
    ``chat_entry`` makes them; the chat shows one message per entry, in order), or for ``message=None`` those of
    the latest answer, which the Sources panel lists. Empty for a question, and for an index past the
    conversation: an answer still being written or checked, or a reply saying why there is none."""
    entries = list(entries or [])
    if message is None:
        answers = [e for e in entries if e.get("role") == "assistant"]
        return tuple(answers[-1].get("cited", ())) if answers else ()
    if not 0 <= message < len(entries) or entries[message].get("role") != "assistant":
        return ()
    return tuple(entries[message].get("cited", ()))


def open_cited(
    assistant: Assistant, entries: Sequence[Mapping[str, Any]] | None, n: int, message: int | None = None
) -> ViewerStep | None:
    """The viewer on passage ``n`` of an answer (chosen as by ``cited_in``), at the page it is on, with its
    quote highlighted; None when that answer lists no passage ``n``."""
    citation = next((c for c in cited_in(entries, message) if c.n == n), None)
    return None if citation is None else view_page(assistant, citation, citation.page)


def open_checked(assistant: Assistant, passages: Sequence[Citation | None], i: int) -> ViewerStep | None:
    """The viewer on the passage of the checked sentence ``i`` (0-based, as ``CheckResult.passages`` lists
    them), at the page it is on, with its quote highlighted; None when that sentence has no passage."""
    passage = passages[i] if 0 <= i < len(passages) else None
    return None if passage is None else view_page(assistant, passage, passage.page)


def turn_page(assistant: Assistant, viewing: tuple[Citation, int], step: int) -> ViewerStep:
    """The viewer ``step`` pages on from what it shows (``viewing``: the citation and the page), within the
    document."""
    citation, page = viewing
    return view_page(assistant, citation, page + step)


def view_page(assistant: Assistant, citation: Citation, page: int) -> ViewerStep:
    """The viewer on page ``page`` (1-based, brought within the document) of the document ``citation`` cites."""
    view = page_view(assistant, citation, page)
    download = str(view.original) if view.original is not None else None
    return ViewerStep(render_viewer_heading(view), render_viewer_page(view), view.page > 1,
                      view.page < view.page_count, download, (citation, view.page))  # fmt: skip


def page_view(assistant: Assistant, citation: Citation, page: int) -> PageView:
    """What the viewer shows of page ``page`` of the document ``citation`` cites (see ``PageView``): the quote is
    highlighted on the cited page only, found at the citation's offsets or, in a document updated since,
    wherever the page still holds it."""
    try:
        doc = assistant.find_document(citation.doc_id)
    except DocumentNotFound:
        return PageView(citation, page, 0, notes=(DOCUMENT_GONE,))
    page = max(1, min(page, doc.page_count))
    original = assistant.originals.find(doc.doc_id, doc.sha256)
    notes = [] if original is not None else [NO_ORIGINAL]
    try:
        stored = assistant.page_text(doc.doc_id, page) or ""
    except TipError as exc:  # e.g. the Chroma server is down
        stored = ""
        notes.append(error_text(exc))
    span = _quote_span(stored, citation) if page == citation.page else None
    if page == citation.page and span is None and stored:
        notes.append(CHANGED)
    image, boxes = None, ()
    if original is not None and doc.file_type == "pdf":
        try:
            image = render_page(original, page)
            if span is not None:
                boxes = tuple(quote_boxes(original, page, citation.quote, span[0] / len(stored)))
        except Exception as exc:  # a damaged copy costs the picture of the page, never the page: its text shows
            log.warning("%s, page %d could not be rendered (%s)", doc.source, page, exc)
            image, boxes = None, ()
        if image is not None and span is not None and not boxes:
            notes.append(NOT_LOCATED)
    text, mark = ("", None) if image is not None and (span is None or boxes) else _excerpt(stored, span)
    return PageView(citation, page, doc.page_count, image, boxes, text, mark, tuple(notes), original)


def _quote_span(text: str, citation: Citation) -> tuple[int, int] | None:
    if citation.quote and text[citation.start : citation.end] == citation.quote:
        return citation.start, citation.end
    at = text.find(citation.quote) if citation.quote else -1
    return (at, at + len(citation.quote)) if at >= 0 else None


def _excerpt(text: str, span: tuple[int, int] | None) -> tuple[str, tuple[int, int] | None]:
    """The stored text to show, and the passage's span in it: the paragraph holding the passage with the one
    before and the one after, at most ``CONTEXT_CHARS`` each side of it (cut at a space), or without a passage
    the page's first ``PAGE_TEXT_CHARS``; "…" where text is left out."""
    if span is None:
        start = end = 0
        low, high = 0, len(text)
        limit_low, limit_high = 0, PAGE_TEXT_CHARS
    else:
        start, end = span
        before = text.rfind("\n\n", 0, start)  # the break that opens the passage's paragraph
        low = 0 if before < 0 else text.rfind("\n\n", 0, before) + 2  # the paragraph before it, or the start
        after = text.find("\n\n", end)  # the break that closes it
        high = len(text) if after < 0 else text.find("\n\n", after + 2) % (len(text) + 1)  # the one after it
        limit_low, limit_high = start - CONTEXT_CHARS, end + CONTEXT_CHARS
    if low < limit_low:  # a long paragraph: cut within it, at a space
        space = text.find(" ", limit_low, start)
        low = space + 1 if space >= 0 else limit_low
    if high > limit_high:
        space = text.rfind(" ", end, limit_high)
        high = space if space > end else limit_high
    opening, closing = ("… " if low > 0 else ""), (" …" if high < len(text) else "")
    shown = opening + text[low:high] + closing
    return shown, None if span is None else (start - low + len(opening), end - low + len(opening))
