"""What the web UI does, as plain functions of the assistant: a chat turn, the ``/ask`` API, exporting the
conversation, checking a text, drafting, uploads and removal. Gradio calls them from
``assistant.interfaces.web.ui``; tests call them directly."""

from __future__ import annotations

import json
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
)
from assistant.service import Assistant, DocumentNotFound
from assistant.types import Answer, Progress
from ingest.pipeline import FileOutcome, IngestReport


class ChatStep(NamedTuple):
    """What one step of a chat turn shows: the chat, the Sources panel (None: leave it as it is), the text for
    the question box, and the conversation to keep."""

    chat: list[dict[str, str]]
    sources: str | None
    question_box: str
    conversation: list[ChatEntry]


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


def check_text(
    assistant: Assistant,
    text: str | None,
    doc_ids: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> str:
    """The "Check text" tab: every sentence of ``text`` labelled with the passage that backs it, as HTML;
    or a message saying what to do first, or why the check failed (a ``TipError``, e.g. the Chroma server is
    down). The text is not an output of the tab, so it stays as typed."""
    if not text or not text.strip():
        return check_message("Paste some text to check first.")
    if not assistant.documents():
        return check_message("The library is empty: add documents in the Library tab first.")
    try:
        selected = assistant.select_documents(doc_ids)
    except DocumentNotFound:  # removed meanwhile, e.g. from another browser tab
        return check_message(error_text(ChosenDocumentGone()))
    try:
        return render_checked(verify_text(assistant, text, selected, progress))
    except TipError as exc:
        return check_message(f"The text was not checked. {error_text(exc)} {KEPT}")


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

    try:
        with tempfile.TemporaryDirectory(prefix="tip-upload-") as folder:
            staged, refused = stage_uploads([(Path(u).name, Path(u)) for u in uploads], Path(folder))
            report = assistant.ingest(staged, on_file)
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
