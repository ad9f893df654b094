"""The web UI: settings → ``Assistant`` → Gradio Blocks → launch on loopback.

Run ``python app.py --docs ../shared/corpus`` and open http://127.0.0.1:7860. The library packages know
nothing of Gradio; everything UI-specific lives here. Rendering functions return plain HTML strings and
handlers are plain functions of the assistant, so both are tested without a browser.
"""

import argparse
import html
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer import Answer, AnswerSentence, Citation, SentenceSupport, SupportLabel
from assistant.cli import format_outcome
from assistant.conversation import HistoryError, checked_history
from assistant.drafting import CITATION_NEEDED, CitedText
from assistant.errors import TipError
from assistant.export import md_escape, to_markdown, write
from assistant.service import Assistant, DocumentNotFound
from assistant.settings import Settings, use_offline_mode
from assistant.support import CheckedSentence, failed_checks
from ingest.pipeline import FileOutcome, FileStatus, IngestReport
from vectorstore import DocumentRecord

if TYPE_CHECKING:  # imported in build_ui: see there why
    import gradio as gr

UPLOAD_TYPES = [".pdf", ".txt", ".md"]
TABLE_HEADERS = ["Title", "File", "Pages", "Chunks", "Ingested (UTC)"]
EMPTY_SOURCES = '<p class="tip-empty">The sources of the latest answer appear here.</p>'
CHECKING = '<p class="tip-empty">Generating… each sentence is checked against its sources when done.</p>'
EMPTY_CHECK = '<p class="tip-empty">Each sentence of the text appears here with the passage that backs it.</p>'

# Next to an answer sentence in the chat that its cited passage does not fully back (supported: no mark).
CHAT_MARKS = {SupportLabel.PARTIAL: "⚠️ partly supported", SupportLabel.UNSUPPORTED: "❌ not supported by its source"}
NOTHING_IN_LIBRARY = "No passage in the library comes close."
NOTHING_CITED = "It cites no passage that could back it."
# In the "Check text" tab, where every sentence gets its label.
CHECK_LABELS = {
    SupportLabel.SUPPORTED: "✅ supported",
    SupportLabel.PARTIAL: "⚠️ partial",
    SupportLabel.UNSUPPORTED: "❌ unsupported",
}

# Scoped to the sources panel by gr.HTML; Gradio's colour variables keep it readable in dark mode too.
SOURCES_CSS = """
.tip-sources { font-size: 0.92rem; }
.tip-sources ol, .tip-sources ul { list-style: none; padding: 0; margin: 0; }
.tip-source { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 8px 10px; margin: 0 0 10px; }
.tip-n { font-weight: 700; margin-right: 4px; }
.tip-title { font-weight: 600; }
.tip-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 2px 0 6px; }
.tip-passage {
  margin: 0; padding-left: 8px; border-left: 3px solid var(--border-color-primary); white-space: pre-wrap;
}
.tip-passage mark { background: #ffe066; color: #000; padding: 0 1px; }
.tip-note { border: 1px solid #d97706; border-radius: 6px; padding: 6px 10px; margin: 0 0 10px; }
.tip-notice { border-left: 4px solid #d97706; padding: 4px 10px; margin: 0 0 8px; }
.tip-empty { color: var(--body-text-color-subdued); }
.tip-partial { border-color: #d97706; }
.tip-unsupported { border-color: #dc2626; }
.tip-label { font-weight: 600; margin-right: 6px; }
.tip-sentence { margin: 4px 0; white-space: pre-wrap; }
.tip-summary { font-weight: 600; margin: 0 0 10px; }
"""


# ----- rendering (pure functions: answers and documents in, HTML or rows out) ---------------------------
def highlight(context: str, start: int, end: int) -> str:
    """``context`` escaped, with ``context[start:end]`` wrapped in ``<mark>``."""
    start = max(0, min(start, len(context)))
    end = max(start, min(end, len(context)))
    before, quote, after = (html.escape(part) for part in (context[:start], context[start:end], context[end:]))
    return f"{before}<mark>{quote}</mark>{after}"


def render_passage(citation: Citation, label: str = "") -> str:
    """One source card: ``[n]``, title, file name, page, and the passage with the quoted span marked."""
    start, end = citation.start - citation.context_start, citation.end - citation.context_start
    # A passage that is quoted whole (the "possibly related" ones) gains nothing from a highlight.
    whole = start <= 0 and end >= len(citation.context)
    passage = html.escape(citation.context) if whole else highlight(citation.context, start, end)
    number = f'<span class="tip-n">{html.escape(label)}</span>' if label else ""
    return (
        f'<li class="tip-source">'
        f'<div>{number}<span class="tip-title">{html.escape(citation.title)}</span></div>'
        f'<div class="tip-meta">{html.escape(citation.source)} · page {citation.page}</div>'
        f'<blockquote class="tip-passage">{passage}</blockquote>'
        f"</li>"
    )


def render_sources(answer: Answer) -> str:
    """The sources panel for an answer: its citations, or for a refusal the passages that came closest;
    first, anything the reader should know about how the answer was made (``Answer.notices``)."""
    notices = "".join(f'<p class="tip-notice">⚠️ {html.escape(n)}</p>' for n in answer.notices)
    return notices + _render_sources(answer) if notices else _render_sources(answer)


def _render_sources(answer: Answer) -> str:
    if answer.refused:
        why = f" ({html.escape(answer.refusal_reason)})" if answer.refusal_reason else ""
        if not answer.related:
            return f'<div class="tip-sources"><p class="tip-note">No passage in the library comes close{why}.</p></div>'
        cards = "".join(render_passage(c) for c in answer.related)
        return (
            '<div class="tip-sources tip-refused">'
            f'<p class="tip-note"><strong>Not an answer.</strong> The library does not answer this question{why}; '
            "these passages are possibly related:</p>"
            f'<ul class="tip-related">{cards}</ul></div>'
        )
    flagged = flagged_sentences(answer)
    if not answer.citations and not flagged:
        return EMPTY_SOURCES
    warning = ""
    if flagged:
        checks = "".join(
            render_support(s.text, s.support, CHAT_MARKS[s.support.label], f"cites {cited_numbers(s)}", NOTHING_CITED)
            for s in flagged
        )
        some = "This sentence is" if len(flagged) == 1 else f"These {len(flagged)} sentences are"
        warning = (
            f'<p class="tip-note">{some} not fully supported by the passage cited; '
            "the closest span of that passage is shown.</p>"
            f'<ul class="tip-flagged">{checks}</ul>'
        )
    cards = "".join(render_passage(c, f"[{c.n}]") for c in answer.citations)
    citations = f'<ol class="tip-citations">{cards}</ol>' if cards else ""
    return f'<div class="tip-sources">{warning}{citations}</div>'


def flagged_sentences(answer: Answer) -> list[AnswerSentence]:
    """The answer's sentences that the support checker found partly supported or unsupported."""
    return [s for s in answer.sentences if s.support is not None and s.support.label is not SupportLabel.SUPPORTED]


def cited_numbers(sentence: AnswerSentence) -> str:
    return " ".join(f"[{n}]" for n in sentence.citations)


def render_support(
    text: str, support: SentenceSupport, label: str, detail: str = "", nothing: str = NOTHING_IN_LIBRARY
) -> str:
    """One checked sentence: its label, score and text, then the span that backs it or, for an unsupported
    sentence, the closest one, labelled as such (``nothing`` when there is none); and what the hard checks
    found missing, if anything."""
    unsupported = support.label is SupportLabel.UNSUPPORTED
    extra = f" · {html.escape(detail)}" if detail else ""
    if support.quote:
        where = "Closest passage (does not support it)" if unsupported else "Source"
        evidence = (
            f'<div class="tip-meta">{where}: {html.escape(support.source)} · page {support.page}</div>'
            f'<blockquote class="tip-passage">{html.escape(support.quote)}</blockquote>'
        )
        reasons = failed_checks(text, support.quote) if support.label is not SupportLabel.SUPPORTED else []
        if reasons:
            why = "; ".join(reasons)
            evidence += f'<div class="tip-meta">{html.escape(why[:1].upper() + why[1:])}.</div>'
    else:
        evidence = f'<div class="tip-meta">{html.escape(nothing)}</div>'
    return (
        f'<li class="tip-source tip-{support.label.value}">'
        f'<div><span class="tip-label">{html.escape(label)}</span>'
        f'<span class="tip-meta">score {support.score:.2f}{extra}</span></div>'
        f'<div class="tip-sentence">{html.escape(text)}</div>'
        f"{evidence}"
        f"</li>"
    )


def support_summary(checked: Sequence[CheckedSentence]) -> str:
    """The one-line count, e.g. "5 sentences: 3 supported, 1 partial, 1 with no support in the library"."""
    counts = {label: sum(c.support.label is label for c in checked) for label in SupportLabel}
    noun = "sentence" if len(checked) == 1 else "sentences"
    return (
        f"{len(checked)} {noun}: {counts[SupportLabel.SUPPORTED]} supported, {counts[SupportLabel.PARTIAL]} partial, "
        f"{counts[SupportLabel.UNSUPPORTED]} with no support in the library"
    )


def render_checked(checked: Sequence[CheckedSentence]) -> str:
    """The "Check text" result: a one-line summary, then every sentence with its label and evidence."""
    cards = "".join(render_support(c.text, c.support, CHECK_LABELS[c.support.label]) for c in checked)
    return (
        f'<div class="tip-sources"><p class="tip-summary">{html.escape(support_summary(checked))}</p>'
        f'<ol class="tip-checked">{cards}</ol></div>'
    )


def check_message(message: str) -> str:
    return f'<div class="tip-sources"><p class="tip-note">{html.escape(message)}</p></div>'


def document_rows(docs: Sequence[DocumentRecord]) -> list[list[Any]]:
    return [[d.title, d.source, d.page_count, d.chunk_count, d.ingested_at[:16].replace("T", " ")] for d in docs]


def document_choices(docs: Sequence[DocumentRecord]) -> list[tuple[str, str]]:
    """Dropdown choices: a readable label, the document id as value."""
    return [(f"{d.title} ({d.source})", d.doc_id) for d in docs]


def format_report(report: IngestReport, documents_in_library: int) -> str:
    lines = [format_outcome(o) for o in report.outcomes]
    lines.append(f"{report.summary()}; {documents_in_library} documents in the library")
    return "\n".join(lines)


# ----- chat ---------------------------------------------------------------------------------------------
# The Chatbot renders HTML in messages even without Markdown, and answers quote untrusted documents: messages
# are escaped on the way into the chat and unescaped on the way back, so a quoted "<img src=…>" is shown as
# text and never loaded.
def chat_messages(turns: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    return [{"role": t["role"], "content": html.escape(t["content"], quote=False)} for t in turns]


# The citation markers that follow a sentence in the answer text: "[1]", "[1, 2]", "[2][3]".
_CITATION_MARKERS = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])*")
_CHAT_MARK = re.compile(r" \((?:" + "|".join(re.escape(m) for m in CHAT_MARKS.values()) + r")\)")


def marked_answer_text(answer: Answer) -> str:
    """The answer's text with "(⚠️ partly supported)" or "(❌ not supported by its source)" after each sentence
    (and its citation markers) that the support checker did not find fully backed; supported sentences stay
    as they are. A flagged sentence that cannot be found in the text has its mark at the end. A refusal ends
    with its reason."""
    if answer.refused:  # why, in the reply itself, so a reader of the chat (or a copy of it) sees it too
        return f"{answer.text} Why: {answer.refusal_reason}." if answer.refusal_reason else answer.text
    text, pieces, cursor, unplaced = answer.text, [], 0, []
    flagged = {id(s) for s in flagged_sentences(answer)}
    for sentence in answer.sentences:  # every sentence, in order, so a repeated wording is found in its place
        mark = f" ({CHAT_MARKS[sentence.support.label]})" if id(sentence) in flagged else ""
        at = text.find(sentence.text, cursor) if sentence.text else -1
        if at < 0:
            unplaced.append(mark)
            continue
        end = _CITATION_MARKERS.match(text, at + len(sentence.text)).end()
        pieces += [text[cursor:end], mark]
        cursor = end
    return "".join([*pieces, text[cursor:], *unplaced])


def unmarked(text: str) -> str:
    """``text`` without the support marks ``marked_answer_text`` adds: the answer as it was composed."""
    return _CHAT_MARK.sub("", text)


def history_turns(messages: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """The chat's messages as the assistant's plain ``{"role", "content": str}`` turns.

    Gradio 6 hands a Chatbot's value to handlers with ``content`` as a list of parts (``{"type": "text",
    "text": ...}``).
    """
    turns = []
    for message in messages or []:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(part.get("text", "") for part in content if isinstance(part, Mapping))
        if message.get("role") in ("user", "assistant") and isinstance(content, str):
            content = html.unescape(content)
            if message["role"] == "assistant":  # the answer as composed, for condensing a follow-up
                content = unmarked(content)
            turns.append({"role": message["role"], "content": content})
    return turns


def chat_turn(
    assistant: Assistant,
    question: str,
    messages: Sequence[Mapping[str, Any]] | None,
    doc_ids: Sequence[str] | None,
    years: Sequence[int] | None = None,
) -> tuple[list[dict[str, str]], str]:
    """Answer ``question`` in the context of the chat so far: the new chat and the sources panel."""
    *_, last = chat_turn_stream(assistant, question, messages, doc_ids, years)
    return last


def chat_turn_stream(
    assistant: Assistant,
    question: str,
    messages: Sequence[Mapping[str, Any]] | None,
    doc_ids: Sequence[str] | None,
    years: Sequence[int] | None = None,
) -> Iterator[tuple[list[dict[str, str]], str]]:
    """``chat_turn`` as it happens: with a model configured, the text while it is generated (the panel says
    it is not checked yet), then the checked answer; without one, the answer at once."""
    history = history_turns(messages)
    asked = [*history, {"role": "user", "content": question}]
    for piece in assistant.ask_stream(question, history, assistant.select_documents(doc_ids, years)):
        if isinstance(piece, str):
            yield chat_messages([*asked, {"role": "assistant", "content": piece + " …"}]), CHECKING
        else:
            yield chat_messages([*asked, {"role": "assistant", "content": marked_answer_text(piece)}]), \
                render_sources(piece)


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


ProgressFn = Callable[..., Any]  # gr.Progress, or anything with its call signature


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
    checked: list[CheckedSentence] = []
    for done, (offset, paragraph) in enumerate(parts):
        if progress is not None:
            progress((done, len(parts)), desc="Checking each sentence against the library", unit="paragraphs")
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
    or a message saying what to do first."""
    if not text or not text.strip():
        return check_message("Paste some text to check first.")
    if not assistant.documents():
        return check_message("The library is empty: add documents in the Library tab first.")
    try:
        selected = assistant.select_documents(doc_ids)
    except DocumentNotFound:  # removed meanwhile, e.g. from another browser tab
        return check_message("A chosen document is no longer in the library: choose the documents again.")
    return render_checked(verify_text(assistant, text, selected, progress))


# ----- drafting -----------------------------------------------------------------------------------------
GROUPINGS = [("Automatic", "auto"), ("By country", "country"), ("By theme", "theme"), ("By document", "document")]
EMPTY_DRAFT = "*A cited summary, or your draft with its sources, appears here; download it as Markdown or Word.*"


def draft_outputs(cited: CitedText, folder: Path) -> tuple[str, list[str]]:
    """The Markdown preview and the two files to download (Markdown with footnotes, Word with notes)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w-]+", "-", cited.title.lower()).strip("-")[:60] or "cited-text"
    markdown = to_markdown(cited)
    md_path = folder / f"{stem}.md"
    md_path.write_text(markdown, encoding="utf-8")
    docx_path = write(cited, folder / f"{stem}.docx", "docx")
    needed = sum(s.needs_citation for s in cited.sentences())
    summary = f"*{len(cited.sentences())} sentences, {len(cited.references())} documents cited"
    summary += f", {needed} marked {CITATION_NEEDED}*" if needed else "*"
    notices = "".join(f"> ⚠️ {md_escape(n)}\n\n" for n in cited.notices)
    return f"{notices}{summary}\n\n{markdown}", [str(md_path), str(docx_path)]


def summarize_tab(
    assistant: Assistant,
    topic: str | None,
    grouping: str,
    folder: Path,
    progress: ProgressFn | None = None,
    doc_ids: Sequence[str] | None = None,
) -> tuple[str, list[str]]:
    """The Draft tab's summary: preview and files, or a message saying what to do first."""
    if not topic or not topic.strip():
        return "*Type a topic to summarize first.*", []
    problem = _draft_problem(assistant, doc_ids)
    if problem:
        return problem, []
    step = (lambda stage, done, total: progress(done / max(total, 1), desc=stage)) if progress else None
    cited = assistant.summarize(topic.strip(), grouping, assistant.select_documents(doc_ids), progress=step)
    if not cited.sections:
        return f"*The library holds nothing on “{html.escape(topic.strip())}”.*", []
    return draft_outputs(cited, folder)


def cite_tab(
    assistant: Assistant,
    text: str | None,
    folder: Path,
    progress: ProgressFn | None = None,
    doc_ids: Sequence[str] | None = None,
) -> tuple[str, list[str]]:
    """The Draft tab's cited draft: the drafter's text with sources attached, preview and files."""
    if not text or not text.strip():
        return "*Paste your draft first.*", []
    problem = _draft_problem(assistant, doc_ids)
    if problem:
        return problem, []
    step = (lambda stage, done, total: progress(done / max(total, 1), desc="checking paragraphs")) if progress else None
    return draft_outputs(assistant.cite(text, assistant.select_documents(doc_ids), progress=step), folder)


def _draft_problem(assistant: Assistant, doc_ids: Sequence[str] | None) -> str | None:
    """What stops the Draft tab, as a message: an empty library, or a chosen document removed meanwhile."""
    if not assistant.documents():
        return "*The library is empty: add documents in the Library tab first.*"
    try:
        assistant.select_documents(doc_ids)
    except DocumentNotFound:
        return "*A chosen document is no longer in the library: choose the documents again.*"
    return None


# ----- library ------------------------------------------------------------------------------------------


def stage_uploads(uploads: Sequence[str | Path], folder: Path) -> tuple[list[Path], list[FileOutcome]]:
    """Copy uploads into ``folder`` under their original names (the library identifies a document by its
    file name); a second upload with a name already taken in this batch is reported instead of overwriting."""
    staged: list[Path] = []
    refused: list[FileOutcome] = []
    for upload in uploads:
        target = folder / Path(upload).name
        if target.exists():
            message = "another file in this upload has the same name: rename one and add it again"
            refused.append(FileOutcome(Path(upload), FileStatus.FAILED, message))
            continue
        shutil.copyfile(upload, target)
        staged.append(target)
    return staged, refused


def add_uploads(assistant: Assistant, uploads: Sequence[str | Path] | None, progress: ProgressFn | None = None) -> str:
    """Ingest uploaded files; one status line per file and a final count."""
    if not uploads:
        return "Choose PDF, .txt or .md files to add first."

    def on_file(done: int, total: int, outcome: FileOutcome) -> None:
        if progress is not None:
            progress((done, total), desc=f"{outcome.source}: {outcome.status.value}", unit="files")

    with tempfile.TemporaryDirectory(prefix="tip-upload-") as folder:
        staged, refused = stage_uploads(uploads, Path(folder))
        report = assistant.ingest(staged, on_file)
    report = IngestReport([*report.outcomes, *refused])
    return format_report(report, len(assistant.documents()))


def remove_document(assistant: Assistant, doc_id: str | None) -> str:
    if not doc_id:
        return "Choose a document to remove first."
    try:
        doc = assistant.remove(doc_id)
    except DocumentNotFound:  # removed meanwhile, e.g. from another browser tab
        return "That document is no longer in the library."
    return f"Removed {doc.source} ({doc.chunk_count} chunks)."


def library_state(
    assistant: Assistant, selected: Sequence[str] | None = None
) -> tuple[list[list[Any]], list[tuple[str, str]], list[str], list[int]]:
    """Table rows, dropdown choices, the selected filter ids that still exist, and the years on offer."""
    docs = assistant.documents()
    ids = {d.doc_id for d in docs}
    years = sorted({d.year for d in docs if d.year is not None}, reverse=True)
    return document_rows(docs), document_choices(docs), [i for i in selected or [] if i in ids], years


# ----- wiring -------------------------------------------------------------------------------------------
def build_ui(assistant: Assistant) -> "gr.Blocks":
    """The four tabs (chat, check text, draft, library) and the public ``/ask`` endpoint; every other event
    is private."""
    # Imported here, not at the top: gradio loads huggingface_hub, which reads HF_HUB_OFFLINE once at
    # import, and main() must switch offline mode on before that.
    import gradio as gr

    private = {"api_visibility": "private"}
    with gr.Blocks(title="TIP assistant", analytics_enabled=False) as demo:
        gr.Markdown(
            "## Trafficking-in-persons library assistant\n"
            "Answers are taken from the documents in the library; every sentence cites a document, "
            "page and passage. A sentence its passage does not fully back is marked ⚠️ or ❌."
        )
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation",
                        height=520,
                        buttons=["copy"],  # no "share" button: nothing leaves this machine
                        feedback_options=None,
                        allow_tags=False,  # answers quote untrusted documents
                        render_markdown=False,  # shown as written: a quoted "- " or "#" is not formatting
                        placeholder="Ask about the documents in the library. Follow-up questions are welcome.",
                    )
                    question = gr.Textbox(
                        show_label=False, placeholder="Ask a question…", submit_btn="Ask", autofocus=True
                    )
                    doc_filter = gr.Dropdown(
                        label="Search only these documents",
                        info="Leave empty to search the whole library.",
                        multiselect=True,
                    )
                    year_filter = gr.Dropdown(
                        label="Published in",
                        info="Leave empty for any year; documents without a known year are left out otherwise.",
                        multiselect=True,
                    )
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(EMPTY_SOURCES, css_template=SOURCES_CSS, js_on_load=None, max_height=640)

        with gr.Tab("Check text"):
            with gr.Row():
                with gr.Column(scale=2):
                    to_check = gr.Textbox(
                        label="Text to check",
                        info="A draft, or another system's answer: each sentence is looked for in the library.",
                        lines=10,
                        max_lines=30,
                        placeholder="Paste text here…",
                    )
                    check_filter = gr.Dropdown(
                        label="Check only against these documents",
                        info="Leave empty to use the whole library.",
                        multiselect=True,
                    )
                    check_button = gr.Button("Check", variant="primary")
                with gr.Column(scale=3):
                    checked = gr.HTML(EMPTY_CHECK, css_template=SOURCES_CSS, js_on_load=None, max_height=720)

        with gr.Tab("Draft"):
            with gr.Row():
                with gr.Column(scale=2):
                    topic = gr.Textbox(label="Summarize a topic", placeholder="e.g. UNODC support in refugee settings")
                    grouping = gr.Radio(GROUPINGS, value="auto", label="Headings")
                    draft_filter = gr.Dropdown(
                        label="Use only these documents",
                        info="Leave empty to use the whole library.",
                        multiselect=True,
                    )
                    summarize_button = gr.Button("Summarize", variant="primary")
                    own_text = gr.Textbox(
                        label="Or cite your own draft",
                        info="Sources are attached to each sentence the library supports; the others are marked "
                        f"{CITATION_NEEDED}.",
                        lines=8,
                        max_lines=30,
                    )
                    cite_button = gr.Button("Attach sources")
                with gr.Column(scale=3):
                    draft_view = gr.Markdown(EMPTY_DRAFT, max_height=720)
                    draft_files = gr.File(label="Download", file_count="multiple", interactive=False)

        with gr.Tab("Library"):
            with gr.Row():
                with gr.Column():
                    uploads = gr.File(
                        label="Add documents (PDF, .txt, .md)", file_count="multiple", file_types=UPLOAD_TYPES
                    )
                    add_button = gr.Button("Add to library", variant="primary")
                ingest_status = gr.Textbox(label="Ingest report", lines=8, interactive=False)
            table = gr.Dataframe(
                headers=TABLE_HEADERS,
                column_widths=["42%", "34%", "7%", "7%", "10%"],
                interactive=False,
                wrap=True,
                label="Documents",
            )
            with gr.Row():
                to_remove = gr.Dropdown(label="Document to remove", scale=3)
                remove_button = gr.Button("Remove", variant="stop", scale=1)
            remove_status = gr.Textbox(label="Removal", interactive=False)

        def library_updates(
            selected: list[str] | None, check_selected: list[str] | None, draft_selected: list[str] | None
        ) -> tuple:
            rows, choices, kept, years = library_state(assistant, selected)
            ids = {doc_id for _, doc_id in choices}
            return (
                rows,
                gr.update(choices=choices, value=kept),
                gr.update(choices=choices, value=None),
                gr.update(choices=years),
                gr.update(choices=choices, value=[i for i in check_selected or [] if i in ids]),
                gr.update(choices=choices, value=[i for i in draft_selected or [] if i in ids]),
            )

        def answer(text: str, messages: list, doc_ids: list[str] | None, years: list[int] | None) -> tuple:
            if not text or not text.strip():
                yield gr.skip(), gr.skip(), gr.skip()
                return
            for chat, panel in chat_turn_stream(assistant, text.strip(), messages, doc_ids, years):
                yield chat, panel, ""

        # Gradio recognises a progress tracker by its default value, hence the call in the signature.
        def check(text: str, doc_ids: list[str] | None, progress=gr.Progress()) -> str:  # noqa: B008
            return check_text(assistant, text, doc_ids, progress)

        def ingest(
            files: list[str] | None,
            selected: list[str] | None,
            check_selected: list[str] | None,
            draft_selected: list[str] | None,
            progress=gr.Progress(),  # noqa: B008
        ) -> tuple:
            report = add_uploads(assistant, files, progress)
            return report, None, *library_updates(selected, check_selected, draft_selected)

        def remove(doc_id: str | None, *selected: list[str] | None) -> tuple:
            return remove_document(assistant, doc_id), *library_updates(*selected)

        def summarize(topic_text: str, how: str, doc_ids: list[str] | None, progress=gr.Progress()) -> tuple:  # noqa: B008
            folder = Path(tempfile.mkdtemp(prefix="tip-draft-"))
            return summarize_tab(assistant, topic_text, how, folder, progress, doc_ids)

        def cite(text: str, doc_ids: list[str] | None, progress=gr.Progress()) -> tuple:  # noqa: B008
            return cite_tab(assistant, text, Path(tempfile.mkdtemp(prefix="tip-draft-")), progress, doc_ids)

        def ask(question: str, history_json: str = "") -> dict:
            """Answer a question with cited passages. history_json: a JSON list of {"role", "content"} turns."""
            try:
                return ask_api(assistant, question, history_json)
            except TipError as exc:  # the client gets the reason, not a bare "error"
                raise gr.Error(str(exc)) from None

        question.submit(answer, [question, chatbot, doc_filter, year_filter], [chatbot, sources, question], **private)
        chatbot.clear(lambda: EMPTY_SOURCES, None, sources, **private)  # the chat's own bin starts a new one
        check_button.click(check, [to_check, check_filter], checked, **private)
        summarize_button.click(summarize, [topic, grouping, draft_filter], [draft_view, draft_files], **private)
        cite_button.click(cite, [own_text, draft_filter], [draft_view, draft_files], **private)
        library_outputs = [table, doc_filter, to_remove, year_filter, check_filter, draft_filter]
        filters = [doc_filter, check_filter, draft_filter]
        add_button.click(ingest, [uploads, *filters], [ingest_status, uploads, *library_outputs], **private)
        remove_button.click(remove, [to_remove, *filters], [remove_status, *library_outputs], **private)
        demo.load(library_updates, filters, library_outputs, **private)  # a new page sees the current library
        gr.api(ask, api_name="ask")
    return demo


def ingest_paths(assistant: Assistant, paths: Sequence[str | Path]) -> IngestReport:
    """Ingest before serving, with the CLI's per-file status lines and final count on stderr."""

    def show(done: int, total: int, outcome: FileOutcome) -> None:
        print(f"[{done}/{total}] {format_outcome(outcome)}", file=sys.stderr, flush=True)

    report = assistant.ingest(paths, show)
    print(f"{report.summary()}; {len(assistant.documents())} documents in the library", file=sys.stderr)
    return report


def serve(assistant: Assistant, docs: Sequence[str | Path] = (), prevent_thread_lock: bool = False) -> "gr.Blocks":
    """Ingest ``docs``, then serve the UI on ``settings.host:settings.port``; returns the launched Blocks
    (with ``prevent_thread_lock`` the call returns at once, and ``.close()`` stops the server)."""
    if docs:
        ingest_paths(assistant, docs)
    assistant.warm_up()  # load the model now rather than on the first question
    demo = build_ui(assistant)
    demo.queue().launch(
        server_name=assistant.settings.host,
        server_port=assistant.settings.port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=prevent_thread_lock,
    )
    return demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Serve the library assistant's web UI.")
    parser.add_argument("--docs", nargs="*", type=Path, default=[], help="files or folders to ingest first")
    parser.add_argument("--data-dir", type=Path, help="where the library is stored (TIP_DATA_DIR, default ./data)")
    parser.add_argument("--host", help="address to bind (TIP_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (TIP_PORT, default 7860)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    use_offline_mode()
    try:
        settings = Settings.from_env(data_dir=args.data_dir, host=args.host, port=args.port)
        serve(Assistant(settings), docs=args.docs)
    except TipError as exc:  # every error a user can fix, in one line
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
