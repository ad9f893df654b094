"""What the web UI shows, as HTML strings: answers with their support marks, the Sources panel, checked text,
cited drafts with their notes, the library table, an evaluation's figures and failed items, and its
comparison with a previous run. Plain functions of the library's values, tested without a browser."""

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

from assistant.drafting.drafts import CITATION_NEEDED, CitedText, Reference
from assistant.drafting.export import format_pages
from assistant.evaluation.compare import (
    ITEM_CHECK_LABELS,
    ITEM_VERDICTS,
    FigureChange,
    GroupChange,
    ItemChange,
    RunComparison,
    format_delta,
    item_summary,
)
from assistant.evaluation.gold_set import FIGURE_KEYS, GoldItem
from assistant.evaluation.report import figure_rows, format_value, kind_rows, label
from assistant.grounding.support import CheckedSentence
from assistant.interfaces.payloads import outcome_dict
from assistant.interfaces.text import counted, format_outcome, support_totals
from assistant.text.markers import place_marks
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
.tip-where { white-space: nowrap; color: inherit; }  /* "page 12" stays on one line, in its line's colour */
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
.tip-open {
  float: right; margin-left: 8px; padding: 1px 8px; font-size: 0.85em; font-weight: 400; cursor: pointer;
  white-space: nowrap;
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
.tip-viewer-page-number { white-space: nowrap; color: inherit; }
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
    return support_totals([c.support.label.value for c in checked])


def render_checked(checked: Sequence[CheckedSentence]) -> str:
    """The "Check text" result: a one-line summary, then every sentence with its label and evidence, and for a
    sentence with a passage, a button opening its page (``data-n``: the sentence's position in ``checked``)."""
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
        ]  # fmt: skip
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
# conversation export writes) and the passages its Sources panel lists ("cited"), which its [n] markers and the
# panel's cards open in the page viewer. The Chatbot renders HTML in messages even without Markdown, and answers
# quote untrusted documents: what it shows is escaped, so a quoted "<img src=…>" is shown as text and never
# loaded. The HTML of an answer (answer.html) keeps to what the Chatbot's sanitiser keeps: common tags with their
# ``class``, ``title`` and ``style`` attributes; no ``<style>`` element survives, and the page's stylesheets do
# not reach the messages, hence inline styles.
ChatEntry = dict[str, Any]  # {"role", "content": plain text, "shown": HTML for the chat, "answer"?, "cited"?}


def chat_entry(role: str, content: str, shown: str | None = None) -> ChatEntry:
    """One turn: ``content`` for the assistant, ``shown`` (``content`` when not given) escaped for the chat."""
    return {"role": role, "content": content, "shown": html.escape(content if shown is None else shown, quote=False)}


def shown_passages(answer: Answer) -> tuple[Citation, ...]:
    """The passages the Sources panel lists for ``answer``: its citations, or for a refusal the related ones."""
    return answer.related if answer.refused else answer.citations


def answer_entry(answer: Answer) -> ChatEntry:
    """The assistant's turn for ``answer``: its text as composed, shown with a support badge after each
    sentence (or, for a refusal, as one), the answer itself, and the passages its markers open."""
    return {"role": "assistant", "content": answer.text, "shown": answer_html(answer), "answer": answer,
            "cited": shown_passages(answer)}  # fmt: skip


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


# ----- evaluation ---------------------------------------------------------------------------------------
EMPTY_EVALUATION = '<p class="tip-empty">Choose a gold set and run it: its figures appear here.</p>'
EMPTY_FAILURES = (
    '<p class="tip-empty">The items that failed appear here, each with what the gold file expects, what was '
    "answered and why it failed.</p>"
)
EMPTY_COMPARISON = (
    '<p class="tip-empty">Upload the results.json of a previous run (from <code>tip-assistant eval --report DIR</code> '
    "or from this tab) and compare: the figures before and now, and the items that got better or worse.</p>"
)
FIGURES_LEGEND = (
    "Shares are over the items a figure applies to (answerable items for retrieval, answer and citation figures; "
    "unanswerable items for refusal recall); n/a where no item applies or, for refusal precision, where nothing "
    "was refused. Latency is measured on this server, alongside whatever else it is doing."
)
EVALUATION_CSS = (
    SOURCES_CSS
    + """
.tip-table { overflow-x: auto; margin: 0 0 12px; }
.tip-eval table { border-collapse: collapse; font-size: 0.9rem; }
.tip-eval caption { text-align: left; font-weight: 600; padding: 4px 0; }
.tip-eval th, .tip-eval td { border: 1px solid var(--border-color-primary); padding: 3px 8px; }
.tip-eval td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tip-eval tbody th { text-align: left; font-weight: 400; }
.tip-eval dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 6px 0 0; }
.tip-eval dt { font-weight: 600; }
.tip-eval dd { margin: 0; white-space: pre-wrap; }
.tip-eval ol, .tip-eval ul { list-style: none; padding: 0; margin: 0; }
.tip-eval h4 { margin: 14px 0 6px; }
.tip-better { color: #15803d; }
.tip-worse, .tip-why { color: #dc2626; }
.tip-change-better { border-color: #15803d; }
.tip-change-worse { border-color: #dc2626; }
.tip-change-mixed, .tip-change-changed { border-color: #d97706; }
"""
)
# Titles of the comparison's item sections, in ``ITEM_VERDICTS`` order; unchanged items are only counted.
CHANGE_TITLES = {
    "better": "Better",
    "worse": "Worse",
    "mixed": "Better on some checks, worse on others",
    "changed": "Same checks, another failure or refusal",
    "new": "New in this gold file",
    "dropped": "No longer in the gold file",
}


def evaluation_facts(data: Mapping) -> str:
    """What was run: "gold set qa-dev.jsonl · 30 items (24 answerable, 6 unanswerable) · k = 8 · 10 documents"."""
    facts = [f"gold set {data['gold']}"] if data.get("gold") else []
    facts.append(f"{counted(data['items'], 'item')} ({data['answerable']} answerable, {data['unanswerable']} "
                 "unanswerable)")  # fmt: skip
    facts.append(f"k = {data.get('k')}")
    if data.get("documents") is not None:
        facts.append(f"{counted(data['documents'], 'document')} in the library")
    return " · ".join(facts)


def render_evaluation(data: Mapping, notices: Sequence[str] = ()) -> str:
    """The figures of an evaluation (``evaluation_report``'s dict): what was run, ``notices``, the table of
    figures overall and by question type (the one ``tip-assistant eval`` prints) and, when the gold file tags
    kinds, the table by kind."""
    return _render(
        "evaluation.html", facts=evaluation_facts(data), notices=notices, by_type=figure_rows(data),
        by_kind=kind_rows(data), legend=FIGURES_LEGEND,
    )  # fmt: skip


def render_failures(data: Mapping, gold: Mapping[str, GoldItem]) -> str:
    """The failed items of an evaluation, in gold-file order: id, type, kind, question, the turn it follows,
    what the gold item (``gold``, by id) expects, the answer or refusal, what it cited, where its top-k
    passages came from, and the failure reason."""
    records = [record for record in data.get("per_item", ()) if record.get("failure")]
    failed = [_failed_item(record, gold.get(record["id"])) for record in records]
    return _render("failures.html", failed=failed, total=data.get("items", 0), k=data.get("k"))


def _failed_item(record: Mapping, item: GoldItem | None) -> dict[str, Any]:
    asked_after = ""
    if item is not None and item.history:
        asked_after = next((t["content"] for t in reversed(item.history) if t["role"] == "user"), "")
    return {
        "id": record["id"],
        "type": record.get("type", ""),
        "kind": record.get("kind"),
        "question": record.get("question", ""),
        "asked_after": asked_after,
        "expected": expected_text(item) if item is not None else "",
        "refused": bool(record.get("refused")),
        "answer": record.get("answer", ""),
        "cited": "; ".join(_pages(source, pages) for source, pages in (record.get("cited_pages") or {}).items()),
        "retrieved": ", ".join(
            f"{source} ({n})" if n > 1 else source for source, n in _counts(record.get("retrieved_sources") or [])
        ),
        "failure": record["failure"],
    }


def expected_text(item: GoldItem) -> str:
    """What a gold item expects, in one line: 'a refusal …' for an unanswerable item, else the strings the answer
    must contain and the gold documents with their pages."""
    if not item.answerable:
        return "a refusal: the library does not hold the answer"
    strings = ", ".join(f"“{s}”" for s in item.must_contain)
    sources = "; ".join(_pages(source, pages) for source, pages in zip(item.sources, item.pages, strict=True))
    return f"the answer contains {strings}, citing {sources}"


def _pages(source: str, pages: Sequence[int] | None) -> str:
    if not pages:
        return source
    return f"{source} p. {', '.join(map(str, pages))}"


def _counts(values: Sequence[str]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return list(counts.items())


def render_comparison(comparison: RunComparison, name: str) -> str:
    """A comparison with the previous run read from the file ``name``: notes, a table of figures before → now
    with each change marked better or worse (overall and by type, then by kind), the count of items by verdict,
    and the items that are not unchanged, grouped by verdict, each with the checks it gained and lost, its
    refusal and its failure before and now; items no longer in the gold file by id only."""
    before = comparison.before
    intro = f"Compared with {name}"
    if before.get("gold") or before.get("items") is not None:
        intro += f" (gold set {before.get('gold') or 'not named'}, {before.get('items')} items, k = {before.get('k')})"
    k = comparison.after.get("k")
    tables = [_delta_table("Figures overall and by type: before → now, and the change",
                           [comparison.overall, *comparison.by_type], k)]  # fmt: skip
    if comparison.by_kind:
        tables.append(_delta_table("Figures by kind: before → now, and the change", comparison.by_kind, k))
    sections = [
        {"title": CHANGE_TITLES[verdict], "changes": [_change_item(i) for i in comparison.with_verdict(verdict)]}
        for verdict in ITEM_VERDICTS
        if verdict not in ("unchanged", "dropped") and comparison.with_verdict(verdict)
    ]
    dropped = [i.id for i in comparison.with_verdict("dropped")]  # only their ids: nothing to show of them now
    return _render("comparison.html", intro=intro + ".", notes=comparison.notes, tables=tables,
                   counts=item_summary(comparison), sections=sections, dropped=dropped,
                   dropped_title=CHANGE_TITLES["dropped"])  # fmt: skip


def _delta_table(caption: str, groups: Sequence[GroupChange], k: int | None) -> dict[str, Any]:
    items_row = {
        "label": "items",
        "cells": [{"shown": _before_now("items", g.items_before, g.items_after), "change": "", "verdict": ""}
                  for g in groups],
    }  # fmt: skip
    rows = [{"label": label(key, k), "cells": [_delta_cell(g.figure(key)) for g in groups]} for key in FIGURE_KEYS]
    return {"caption": caption, "groups": [g.name for g in groups], "rows": [items_row, *rows]}


def _before_now(key: str, before, after) -> str:
    """ "0.50 → 0.67", or the one value when it did not change."""
    if before == after:
        return format_value(key, after)
    return f"{format_value(key, before)} → {format_value(key, after)}"


def _delta_cell(change: FigureChange) -> dict[str, str]:
    """A figure's cell: before → now and, when it moved, the signed change marked better or worse."""
    moved = change.verdict in ("better", "worse")
    text = f"{format_delta(change.key, change.delta)} {change.verdict}" if moved else ""
    return {"shown": _before_now(change.key, change.before, change.after), "change": text, "verdict": change.verdict}


def _change_item(change: ItemChange) -> dict[str, Any]:
    refusal = ""
    if None not in (change.refused_before, change.refused_after) and change.refused_before != change.refused_after:
        refusal = "refused now, answered before" if change.refused_after else "answered now, refused before"
    return {
        "id": change.id,
        "type": change.type,
        "kind": change.kind,
        "question": change.question,
        "verdict": change.verdict,
        "gained": ", ".join(ITEM_CHECK_LABELS[c] for c in change.gained),
        "lost": ", ".join(ITEM_CHECK_LABELS[c] for c in change.lost),
        "refusal": refusal,
        "before": "" if change.verdict == "new" else (change.failure_before or "no failure"),
        "now": "" if change.verdict == "dropped" else (change.failure_after or "no failure"),
    }
