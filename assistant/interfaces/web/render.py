"""What the web UI shows, as HTML strings: answers with their support marks, the Sources panel, checked text,
the library table. Plain functions of the library's values, tested without a browser."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from assistant.grounding.support import CheckedSentence
from assistant.interfaces.payloads import outcome_dict
from assistant.interfaces.text import counted, format_outcome
from assistant.text.markers import MARKER_RUN
from assistant.types import Answer, AnswerSentence, Citation, SentenceSupport, SupportLabel
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.models import is_sectioned, location_of
from ingest.pdf_pages import Box, PageImage
from ingest.pipeline import IngestReport
from vectorstore import DocumentRecord

UPLOAD_TYPES = list(SUPPORTED_SUFFIXES)
TABLE_HEADERS = ["Title", "File", "Language", "Year", "Pages", "Chunks", "Added (UTC)"]
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
.tip-open {
  float: right; margin-left: 8px; padding: 1px 8px; font-size: 0.85em; font-weight: 400; cursor: pointer;
  border: 1px solid var(--border-color-primary); border-radius: 4px; background: var(--background-fill-secondary);
}
.tip-open:hover, .tip-open:focus-visible { border-color: var(--color-accent); }
"""

# The page viewer: a dialog over the page (the rules at the top style the viewer itself, as gr.HTML scopes them),
# its toolbar staying in view while the page scrolls, the quote's boxes over the page image.
VIEWER_CSS = """
position: fixed; top: 3vh; bottom: 3vh; left: 0; right: 0; margin: 0 auto; width: min(980px, 96vw); z-index: 1000;
overflow: auto; padding: 0 16px 16px; background: var(--background-fill-primary);
border: 1px solid var(--border-color-primary); border-radius: 8px; box-shadow: 0 0 0 100vmax rgba(0, 0, 0, 0.45);
.tip-viewer-head { padding-top: 12px; }
.tip-viewer-title { font-size: 1.15rem; font-weight: 600; margin: 0 0 2px; }
.tip-n { font-weight: 700; margin-right: 6px; }
.tip-meta { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 0 0 6px; }
.tip-note { border-left: 4px solid #d97706; padding: 4px 10px; margin: 6px 0; }
.tip-viewer-toolbar {
  position: sticky; top: 0; z-index: 2; padding: 6px 0; background: var(--background-fill-primary);
}
.tip-page { position: relative; width: 100%; margin: 6px auto 0; border: 1px solid var(--border-color-primary); }
.tip-page img { display: block; width: 100%; height: auto; }
.tip-page .tip-highlight {
  position: absolute; background: rgba(255, 208, 0, 0.4); mix-blend-mode: multiply; pointer-events: none;
  outline: 1px solid rgba(217, 119, 6, 0.9); border-radius: 2px;
}
.tip-page-text { white-space: pre-wrap; line-height: 1.5; margin-top: 8px; }
.tip-page-text mark.tip-highlight { background: #ffe066; color: #000; padding: 0 1px; }
"""


# ----- rendering (pure functions: answers and documents in, HTML or rows out) ---------------------------
# HTML comes from the templates next to this module, with every value escaped by Jinja2's autoescape: the
# passages quote untrusted documents.
@cache
def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("assistant.interfaces.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(quoted=_quoted, cited_numbers=lambda s: cited_numbers(s), sentence_case=_sentence_case,
                       where=lambda span: location_of(span.source, span.page, short=False),
                       located=lambda source, page: location_of(source, page, short=False), unit=_unit,
                       image_data=lambda image: base64.b64encode(image.png).decode("ascii"))  # fmt: skip
    return env


def _render(template: str, **values: Any) -> str:
    return _templates().get_template(template).render(**values).strip()


def highlight(context: str, start: int, end: int) -> Markup:
    """``context`` escaped, with ``context[start:end]`` wrapped in ``<mark>``."""
    start = max(0, min(start, len(context)))
    end = max(start, min(end, len(context)))
    return Markup("{}<mark>{}</mark>{}").format(context[:start], context[start:end], context[end:])


def _quoted(citation: Citation) -> Markup:
    """The citation's passage with its quoted span marked; a passage quoted whole (the "possibly related"
    ones) gains nothing from a highlight."""
    start, end = citation.start - citation.context_start, citation.end - citation.context_start
    if start <= 0 and end >= len(citation.context):
        return escape(citation.context)
    return highlight(citation.context, start, end)


def _unit(source: str) -> str:
    """What a document is cut into: "section" for Word files and web pages, "page" otherwise."""
    return "section" if is_sectioned(source) else "page"


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_passage(citation: Citation, label: str = "") -> str:
    """One source card: ``[n]``, title, file name, page, and the passage with the quoted span marked."""
    return str(_templates().get_template("cards.html").module.passage(citation, label))


def render_sources(answer: Answer) -> str:
    """The sources panel for an answer: its citations, or for a refusal the passages that came closest;
    first, anything the reader should know about how the answer was made (``Answer.notices``)."""
    return _render(
        "sources.html", answer=answer, flagged=flagged_sentences(answer), empty=Markup(EMPTY_SOURCES),
        marks=CHAT_MARKS, nothing_cited=NOTHING_CITED,
    )  # fmt: skip


@dataclass(frozen=True)
class PageView:
    """One page of a document as the viewer shows it, opened from ``citation``: the page (or section) ``page`` of
    ``page_count`` (0 when the document is gone); the page as printed (``image``, a PDF whose original is kept)
    with a box over each line of the quote (``boxes``, on the cited page only), and/or stored text (``text``)
    with the quote's span in it (``mark``, offsets into ``text``); ``notes`` for the reader, and the original
    file to download (``original``, None when none is kept)."""

    citation: Citation
    page: int
    page_count: int
    image: PageImage | None = None
    boxes: tuple[Box, ...] = ()
    text: str = ""
    mark: tuple[int, int] | None = None
    notes: tuple[str, ...] = ()
    original: Path | None = None


def render_viewer_heading(view: PageView) -> str:
    """The viewer's heading: ``[n]`` and the title, the file, "page N of M" and whether it is the cited page,
    then the notes."""
    return str(_templates().get_template("viewer.html").module.heading(view))


def render_viewer_page(view: PageView) -> str:
    """The page: its image with an absolutely placed ``div.tip-highlight`` over each line of the quote
    (positions in percent of the page), and/or its stored text with the quote in ``mark.tip-highlight``."""
    return str(_templates().get_template("viewer.html").module.page(view))


def flagged_sentences(answer: Answer) -> list[AnswerSentence]:
    """The answer's sentences that the support checker found partly supported or unsupported."""
    return [s for s in answer.sentences if s.support is not None and s.support.label is not SupportLabel.SUPPORTED]


def cited_numbers(sentence: AnswerSentence) -> str:
    return " ".join(f"[{n}]" for n in sentence.citations)


def render_support(
    text: str, support: SentenceSupport, label: str, detail: str = "", nothing: str = NOTHING_IN_LIBRARY
) -> str:
    """One checked sentence: its label, score and text, then the span that backs it or, for an unsupported
    sentence, the closest one, labelled as such (``nothing`` when there is none); and what the support
    checker found missing, if anything."""
    return str(_templates().get_template("cards.html").module.support(text, support, label, detail, nothing))


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
    return _render(
        "checked.html", checked=checked, summary=support_summary(checked), labels=CHECK_LABELS,
        nothing=NOTHING_IN_LIBRARY,
    )  # fmt: skip


def check_message(message: str) -> str:
    return _render("message.html", message=message)


def document_rows(docs: Sequence[DocumentRecord]) -> list[list[Any]]:
    return [
        [
            d.title,
            d.source,
            d.language or "",
            d.year or "",
            d.page_count,
            d.chunk_count,
            d.ingested_at[:16].replace("T", " "),
        ]
        for d in docs
    ]


def document_choices(docs: Sequence[DocumentRecord]) -> list[tuple[str, str]]:
    """Dropdown choices: a readable label, the document id as value."""
    return [(f"{d.title} ({d.source})", d.doc_id) for d in docs]


def format_report(report: IngestReport, documents_in_library: int) -> str:
    lines = [format_outcome(outcome_dict(o)) for o in report.outcomes]
    lines.append(f"{report.summary()}; {counted(documents_in_library, 'document')} in the library")
    return "\n".join(lines)


# ----- chat ---------------------------------------------------------------------------------------------
# The UI keeps the conversation as entries holding both what the assistant reads back (the question as typed,
# the answer as composed) and what the chat shows. The Chatbot renders HTML in messages even without
# Markdown, and answers quote untrusted documents: what it shows is escaped, so a quoted "<img src=…>" is
# shown as text and never loaded.
# An answer's entry also keeps the passages its Sources panel lists ("cited"), which its [n] markers and the
# panel's cards open in the page viewer.
ChatEntry = dict[str, Any]  # {"role": "user" | "assistant", "content": plain text, "shown": escaped display, "cited"?}


def chat_entry(role: str, content: str, shown: str | None = None, cited: Sequence[Citation] = ()) -> ChatEntry:
    """One turn: ``content`` for the assistant, ``shown`` (``content`` when not given) escaped for the chat, and
    for an answer the passages it cites, or offers as possibly related (``cited``)."""
    entry = {"role": role, "content": content, "shown": html.escape(content if shown is None else shown, quote=False)}
    return {**entry, "cited": tuple(cited)} if cited else entry


def shown_passages(answer: Answer) -> tuple[Citation, ...]:
    """The passages the Sources panel lists for ``answer``: its citations, or for a refusal the related ones."""
    return answer.related if answer.refused else answer.citations


def chat_messages(entries: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """The Chatbot's messages for a conversation."""
    return [{"role": e["role"], "content": e["shown"]} for e in entries]


def plain_turns(entries: Sequence[Mapping[str, str]] | None) -> list[dict[str, str]]:
    """The conversation as the assistant's ``{"role", "content"}`` history."""
    return [{"role": e["role"], "content": e["content"]} for e in entries or ()]


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
        end = MARKER_RUN.match(text, at + len(sentence.text)).end()
        pieces += [text[cursor:end], mark]
        cursor = end
    return "".join([*pieces, text[cursor:], *unplaced])
