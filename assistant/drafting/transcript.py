"""Writing a conversation out with its citations: Markdown or Word.

Each exchange is the question as a heading, then the answer with its citation markers (``[1]``) and, after a
sentence the support checker did not find fully backed, its label and the reason in bold; then the sources
under the answer, each with its number, document, file, page and the quoted passage, whole. A refusal says
"Not in the library" with its reason, and lists the possibly related passages as such, never as sources::

    # Conversation with the library assistant

    ## 1. How many victims were identified?

    87 victims were identified. \\[1\\] Most were women. \\[1\\] **\\[partly supported\\]**

    **Sources**

    - \\[1\\] Annual report (report.pdf), p. 12: “87 victims were identified, most of them women.”

Text is escaped as ``assistant.drafting.export`` escapes it, and the Word file has the same note paragraphs as
a cited draft's (``export.add_docx_note``), with the quote in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from assistant.drafting.export import FORMATS, add_docx_note, clean, md_escape, md_heading
from assistant.text.markers import place_marks
from assistant.types import Answer, AnswerSentence, Citation, SupportLabel

TITLE = "Conversation with the library assistant"
NOT_IN_LIBRARY = "Not in the library."
RELATED = "Possibly related passages (not an answer)"
# After a sentence that its cited passage does not fully back; a supported sentence gets no mark.
MARKS = {SupportLabel.PARTIAL: "partly supported", SupportLabel.UNSUPPORTED: "not supported by its source"}


@dataclass(frozen=True)
class Exchange:
    """One question and the answer it got."""

    question: str
    answer: Answer


def sentence_mark(sentence: AnswerSentence) -> str:
    """The mark after a sentence the support checker did not find fully backed, with the failed checks it
    recorded if any ("[partly supported: numbers not in the passage: 87]"); "" for a supported or unchecked
    sentence."""
    support = sentence.support
    if support is None or support.label not in MARKS:
        return ""
    why = f": {'; '.join(support.reasons)}" if support.reasons else ""
    return f"[{MARKS[support.label]}{why}]"


def _answer_pieces(answer: Answer) -> list[tuple[str, str]]:
    """The answer's text in pieces, each with the mark that follows it ("" for none)."""
    marks = [sentence_mark(s) for s in answer.sentences]
    placed = place_marks(answer.text, [s.text for s in answer.sentences], marks)
    return [(piece, mark or "") for piece, mark in placed if piece.strip() or mark]


def _why(answer: Answer) -> str:
    return f" Why: {clean(answer.refusal_reason)}." if answer.refusal_reason else ""


def _dateline(exchanges: Sequence[Exchange], when: datetime) -> str:
    count = "1 question" if len(exchanges) == 1 else f"{len(exchanges)} questions"
    return f"Exported on {when:%Y-%m-%d %H:%M} UTC · {count}"


# --- Markdown --------------------------------------------------------------------------------------------------


def _md_source(label: str, note: Citation) -> str:
    """``- \\[1\\] Title (file.pdf), p. 12: “quote”``, the quote whole."""
    lead = f"{md_escape(label)} " if label else ""
    source = f"{md_escape(note.title)} ({md_escape(note.source)}), {note.location}"
    return f"- {lead}{source}: “{md_escape(note.quote)}”"


def _md_answer(answer: Answer) -> list[str]:
    if answer.refused:
        blocks = [f"**{NOT_IN_LIBRARY}** {md_escape(answer.text + _why(answer))}"]
        if answer.related:
            blocks += [f"**{RELATED}**", "\n".join(_md_source("", c) for c in answer.related)]
        return blocks
    parts = []
    for piece, mark in _answer_pieces(answer):
        if piece.strip():
            parts.append(md_escape(piece))
        if mark:
            parts.append(f"**{md_escape(mark)}**")
    blocks = [" ".join(parts)]
    blocks += [f"> ⚠️ {md_escape(notice)}" for notice in answer.notices]
    if answer.citations:
        blocks += ["**Sources**", "\n".join(_md_source(f"[{c.n}]", c) for c in answer.citations)]
    return blocks


def to_markdown(exchanges: Sequence[Exchange], when: datetime | None = None) -> str:
    """The conversation as Markdown: a heading per question, the answer, and its sources under it."""
    when = when or datetime.now(UTC)
    blocks = [f"# {TITLE}", md_escape(_dateline(exchanges, when))]
    for i, exchange in enumerate(exchanges, 1):
        blocks.append(f"## {i}. {md_heading(exchange.question)}")
        blocks += _md_answer(exchange.answer)
    return "\n\n".join(blocks) + "\n"


# --- Word ------------------------------------------------------------------------------------------------------


def to_docx(exchanges: Sequence[Exchange], path: Path, when: datetime | None = None) -> Path:
    """The conversation as a Word document at ``path`` (folders created); returns ``path``."""
    from docx import Document  # imported here: only a Word export needs python-docx
    from docx.enum.text import WD_COLOR_INDEX

    when = when or datetime.now(UTC)
    path = Path(path)
    document = Document()
    document.core_properties.title = TITLE
    document.add_heading(TITLE, 0)
    document.add_paragraph(_dateline(exchanges, when))
    for i, exchange in enumerate(exchanges, 1):
        answer = exchange.answer
        document.add_heading(f"{i}. {clean(exchange.question)}", 1)
        if answer.refused:
            para = document.add_paragraph()
            para.add_run(NOT_IN_LIBRARY).bold = True
            para.add_run(f" {clean(answer.text)}{_why(answer)}")
            if answer.related:
                document.add_heading(RELATED, 2)
                for c in answer.related:
                    add_docx_note(document, "", c, None)
            continue
        para = document.add_paragraph()
        for piece, mark in _answer_pieces(answer):
            if piece.strip():
                para.add_run(("" if not para.runs else " ") + clean(piece))
            if mark:
                flag = para.add_run(" " + mark)
                flag.bold = True
                flag.font.highlight_color = WD_COLOR_INDEX.YELLOW
        for notice in answer.notices:
            document.add_paragraph(f"⚠️ {clean(notice)}")
        if answer.citations:
            document.add_heading("Sources", 2)
            for c in answer.citations:
                add_docx_note(document, f"[{c.n}]", c, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def write(exchanges: Sequence[Exchange], path: Path, fmt: str | None = None, when: datetime | None = None) -> Path:
    """Write the conversation to ``path`` as ``fmt`` ("md" or "docx"; by default taken from the suffix)."""
    path = Path(path)
    chosen = (fmt if fmt is not None else path.suffix).lower().lstrip(".")
    if chosen not in FORMATS:
        raise ValueError(f"unknown export format {chosen!r}: choose one of {', '.join(FORMATS)}")
    if chosen == "docx":
        return to_docx(exchanges, path, when)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(exchanges, when), encoding="utf-8")
    return path
