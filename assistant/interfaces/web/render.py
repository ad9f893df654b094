"""What the web UI shows, as HTML strings: answers with their support marks, the Sources panel, checked text,
cited drafts with their notes, the library table. Plain functions of the library's values, tested without a
browser."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from assistant.drafting.drafts import CITATION_NEEDED, CitedText, Reference
from assistant.drafting.export import format_pages
from assistant.grounding.support import CheckedSentence
from assistant.interfaces.payloads import outcome_dict
from assistant.interfaces.text import counted, format_outcome
from assistant.text.markers import place_marks
from assistant.types import Answer, AnswerSentence, Citation, SentenceSupport, SupportLabel
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.models import is_sectioned, location_of
from ingest.pipeline import IngestReport
from vectorstore import DocumentRecord

UPLOAD_TYPES = list(SUPPORTED_SUFFIXES)
TABLE_HEADERS = ["Title", "File", "Language", "Pages", "Chunks", "Ingested (UTC)"]
EMPTY_SOURCES = '<p class="tip-empty">The sources of the latest answer appear here.</p>'
CHECKING = '<p class="tip-empty">Generating… each sentence is checked against its sources when done.</p>'
EMPTY_CHECK = '<p class="tip-empty">Each sentence of the text appears here with the passage that backs it.</p>'
EMPTY_DRAFT = (
    '<p class="tip-empty">A cited summary, or your draft with its sources, appears here; download it as Markdown '
    "or Word.</p>"
)

# The Sources panel's label of an answer sentence that its cited passage does not fully back.
CHAT_MARKS = {SupportLabel.PARTIAL: "⚠️ partly supported", SupportLabel.UNSUPPORTED: "❌ not supported by its source"}
# The badge after each checked sentence of an answer in the chat, and the words its tooltip opens with.
BADGES = {SupportLabel.SUPPORTED: "✅", SupportLabel.PARTIAL: "⚠️", SupportLabel.UNSUPPORTED: "❌"}
BADGE_WORDS = {
    SupportLabel.SUPPORTED: "Supported",
    SupportLabel.PARTIAL: "Partly supported",
    SupportLabel.UNSUPPORTED: "Not supported by its source",
}
# Why a sentence got its label when the support checker recorded no failed check (``SentenceSupport.reasons``).
NO_REASON = {
    SupportLabel.SUPPORTED: "the passage it cites says this",
    SupportLabel.PARTIAL: "the closest span of the passage it cites carries only part of it",
    SupportLabel.UNSUPPORTED: "no span of the passage it cites says this",
}
NOT_IN_LIBRARY = "Not in the library"
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
.tip-draft { font-size: 0.95rem; line-height: 1.5; }
.tip-draft h1 { font-size: 1.3rem; margin: 0 0 10px; }
.tip-draft h2 { font-size: 1.1rem; margin: 16px 0 6px; }
.tip-draft p { margin: 0 0 10px; }
.tip-draft a { padding: 0; text-decoration: none; }  /* Gradio pads links in an HTML block like buttons */
.tip-ref { margin-left: 1px; }
.tip-needed { background: #ffe066; color: #000; font-weight: 700; padding: 0 3px; border-radius: 3px; }
.tip-notes { padding-left: 2em; margin: 0 0 10px; }
.tip-notes li { margin: 0 0 6px; }
.tip-notes li:target { background: var(--color-accent-soft); }
.tip-quote { font-style: italic; }
.tip-references { padding-left: 1.2em; margin: 0; }
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
                       where=lambda span: location_of(span.source, span.page, short=False))  # fmt: skip
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
        [d.title, d.source, d.language or "", d.page_count, d.chunk_count, d.ingested_at[:16].replace("T", " ")]
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
# the answer as composed) and what the chat shows, and for an answer the ``Answer`` itself (what the
# conversation export writes). The Chatbot renders HTML in messages even without Markdown, and answers quote
# untrusted documents: what it shows is escaped, so a quoted "<img src=…>" is shown as text and never loaded.
# The HTML of an answer (answer.html) keeps to what the Chatbot's sanitiser keeps: common tags with their
# ``class``, ``title`` and ``style`` attributes; no ``<style>`` element survives, and the page's stylesheets do
# not reach the messages, hence inline styles.
ChatEntry = dict[str, Any]  # {"role", "content": plain text, "shown": HTML for the chat, "answer": Answer}


def chat_entry(role: str, content: str, shown: str | None = None) -> ChatEntry:
    """One turn: ``content`` for the assistant, ``shown`` (``content`` when not given) escaped for the chat."""
    return {"role": role, "content": content, "shown": html.escape(content if shown is None else shown, quote=False)}


def answer_entry(answer: Answer) -> ChatEntry:
    """The assistant's turn for ``answer``: its text as composed, shown with a support badge after each
    sentence (or, for a refusal, as one), and the answer itself."""
    return {"role": "assistant", "content": answer.text, "shown": answer_html(answer), "answer": answer}


def chat_messages(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The Chatbot's messages for a conversation."""
    return [{"role": e["role"], "content": e["shown"]} for e in entries]


def plain_turns(entries: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """The conversation as the assistant's ``{"role", "content"}`` history."""
    return [{"role": e["role"], "content": e["content"]} for e in entries or ()]


def support_reason(sentence: AnswerSentence) -> str:
    """Why the support checker labelled ``sentence`` as it did, in one line for its badge's tooltip: the label,
    the failed checks it recorded (or what the label means when there are none), the span it compared the
    sentence with, and the score."""
    support = sentence.support
    if support is None:
        return ""
    words = BADGE_WORDS[support.label]
    if not support.quote:
        return f"{words}: {NOTHING_CITED[:1].lower()}{NOTHING_CITED[1:]}"
    why = "; ".join(support.reasons) if support.reasons else NO_REASON[support.label]
    found = "Source" if support.label is SupportLabel.SUPPORTED else "Closest span"
    cites = f" · cites {cited_numbers(sentence)}" if sentence.citations else ""
    span = f"{support.title}, {location_of(support.source, support.page, short=False)}"
    return f"{words}: {why}. {found}: {span}{cites} · score {support.score:.2f}"


def answer_html(answer: Answer) -> str:
    """An answer as the chat shows it. A refusal says so under the label "Not in the library", with its
    reason and the titles of the possibly related passages (which the Sources panel shows). Otherwise the
    text, each checked sentence followed (after its citation markers) by a ✅, ⚠️ or ❌ badge whose tooltip
    gives the reason (``support_reason``); and when a sentence is not fully supported, a "Why" list that opens
    with a click, for screens without hover. A sentence that cannot be found in the text has its badge at
    the end. Everything from the answer is escaped."""
    sentences = answer.sentences
    pieces = place_marks(answer.text, [s.text for s in sentences], list(sentences))
    flagged = flagged_sentences(answer)
    return _render(
        "answer.html", answer=answer, pieces=pieces, flagged=flagged, badges=BADGES, reason=support_reason,
        not_in_library=NOT_IN_LIBRARY,
    )  # fmt: skip


# ----- drafts -------------------------------------------------------------------------------------------
def draft_summary(cited: CitedText) -> str:
    """The line above a cited text: "5 sentences, 2 documents cited, 1 marked [citation needed]"."""
    needed = sum(s.needs_citation for s in cited.sentences())
    line = f"{counted(len(cited.sentences()), 'sentence')}, {counted(len(cited.references()), 'document')} cited"
    return f"{line}, {needed} marked {CITATION_NEEDED}" if needed else line


def reference_pages(ref: Reference) -> str:
    return format_pages(ref.pages, sections=is_sectioned(ref.source))


def render_draft(cited: CitedText) -> str:
    """A cited summary or draft as a reader sees it: notices, a one-line count, the title and sections, each
    sentence followed by its note numbers in superscript (links to its notes) or by a highlighted
    [citation needed]; then the Notes (document, file, page and the quoted passage, each linking back to where
    it is first cited) and the References (each document once, with its pages)."""
    first_cited: set[int] = set()
    anchors: dict[int, list[tuple[int, bool]]] = {}  # per sentence: its notes, and whether it cites each first
    for i, sentence in enumerate(cited.sentences()):
        anchors[i] = [(n, n not in first_cited) for n in sorted(set(sentence.notes))]
        first_cited.update(sentence.notes)
    numbered = iter(range(len(anchors)))
    sections = [
        (section.heading, [[(s, anchors[next(numbered)]) for s in paragraph] for paragraph in section.paragraphs])
        for section in cited.sections
    ]
    return _render(
        "draft.html", cited=cited, sections=sections, notes=sorted(cited.notes, key=lambda note: note.n),
        references=cited.references(), summary=draft_summary(cited), needed=CITATION_NEEDED,
        pages=reference_pages, cited_notes=first_cited,
    )  # fmt: skip


def draft_message(message: str) -> str:
    """A message in place of a draft (what to do first, or why nothing was drafted)."""
    return _render("message.html", message=message)
