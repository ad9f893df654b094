"""Writing a ``CitedText`` out: Markdown with footnotes, or a Word document with numbered notes.

Markdown (``to_markdown``)::

    # Title

    ## Section heading

    First sentence.[^1][^3] A sentence nothing supports. **[citation needed]**

    [^1]: Document title (file.pdf), p. 12: “the cited passage”

    ## References

    - Document title — file.pdf, pp. 3, 12

Document text is escaped so that it reads as text: it cannot open a heading, a list, a link, a footnote, a
code span or an HTML tag. Word (``to_docx``) has no footnote API in python-docx, so a sentence is followed by
its note numbers in superscript (``[1,3]``) and the notes are listed under a "Notes" heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from assistant.drafting.drafts import CITATION_NEEDED, CitedText, DraftSentence, Reference
from assistant.text.shorten import shorten as shorten_line
from assistant.types import Citation
from ingest.models import is_sectioned

QUOTE_LIMIT = 300  # characters of a quote kept in a note; longer quotes are cut at a word and end in "…"
FORMATS = ("md", "docx")

# Characters XML 1.0 does not allow (PDF text can carry form feeds and other control characters).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Backslash escapes (CommonMark allows one before any ASCII punctuation): link/footnote brackets, HTML,
# code spans and emphasis markers.
_MD_INLINE = re.compile(r"([\\`*\[\]<>])")
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # "_" that could open or close emphasis
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")  # "&amp;" would render as "&"
_MD_BLOCK_START = re.compile(r"^(?:([#>+=|~-])|(\d+)([.)]))")  # heading, quote, list, setext, table, fence


def clean(text: str) -> str:
    """One line of text: control characters dropped, runs of whitespace (newlines too) made one space."""
    return " ".join(_XML_INVALID.sub(" ", str(text)).split())


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cleaned (``clean``) and shortened to ``limit`` characters at a word (``text.shorten``)."""
    return shorten_line(clean(text), limit)


def md_escape(text: str) -> str:
    """``text`` as one line of literal Markdown text, safe anywhere in a line."""
    text = _MD_INLINE.sub(r"\\\1", clean(text))
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_ENTITY.sub(r"\\&", text)
    return _MD_BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)


def md_heading(text: str) -> str:
    """``text`` as the text of a Markdown heading (after "## ")."""
    # A trailing run of "#" would be read as the heading's closing sequence and dropped.
    return re.sub(r"#(?=#*$)", r"\\#", md_escape(text))


def format_pages(pages: Iterable[int], sections: bool = False) -> str:
    """``p. 3`` for one page, ``pp. 3, 12, 15`` for several (ascending, each once); ``section 3`` and
    ``sections 3, 12`` for a document cut into sections (a Word file or a web page)."""
    pages = sorted(set(pages))
    if sections:
        return f"section {pages[0]}" if len(pages) == 1 else "sections " + ", ".join(str(p) for p in pages)
    return f"p. {pages[0]}" if len(pages) == 1 else "pp. " + ", ".join(str(p) for p in pages)


def _reference_pages(ref: Reference) -> str:
    return format_pages(ref.pages, sections=is_sectioned(ref.source))


def _note_numbers(sentence: DraftSentence) -> list[int]:
    return sorted(set(sentence.notes))


def _checked_notes(cited: CitedText) -> list[Citation]:
    """The notes in number order, after checking that numbers are unique and every cited number exists."""
    notes = sorted(cited.notes, key=lambda note: note.n)
    numbers = [note.n for note in notes]
    if len(set(numbers)) != len(numbers):
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        raise ValueError(f"note numbers must be unique; repeated: {duplicates}")
    missing = sorted({n for s in cited.sentences() for n in s.notes} - set(numbers))
    if missing:
        raise ValueError(f"sentences cite notes that do not exist: {missing}")
    return notes


# --- Markdown --------------------------------------------------------------------------------------------------


def _md_sentence(sentence: DraftSentence) -> str:
    text = md_escape(sentence.text)
    if sentence.needs_citation:
        return f"{text} **{CITATION_NEEDED}**"
    return text + "".join(f"[^{n}]" for n in _note_numbers(sentence))


def md_footnote(note: Citation, quote_limit: int = QUOTE_LIMIT) -> str:
    """``[^n]: Title (file.pdf), p. 12: “quote”`` on one line."""
    source = f"{md_escape(note.title)} ({md_escape(note.source)}), {note.location}"
    return f"[^{note.n}]: {source}: “{md_escape(shorten(note.quote, quote_limit))}”"


def md_reference(ref: Reference) -> str:
    """``- Title — file.pdf, pp. 3, 12``."""
    return f"- {md_escape(ref.title)} — {md_escape(ref.source)}, {_reference_pages(ref)}"


def to_markdown(cited: CitedText, quote_limit: int = QUOTE_LIMIT) -> str:
    """The cited text as Markdown: headings, paragraphs with footnote references, footnotes, references."""
    notes = _checked_notes(cited)
    blocks = [f"# {md_heading(cited.title)}"]
    for section in cited.sections:
        if section.heading is not None:
            blocks.append(f"## {md_heading(section.heading)}")
        for paragraph in section.paragraphs:
            if paragraph:
                blocks.append(" ".join(_md_sentence(s) for s in paragraph))
    if notes:
        blocks.append("\n".join(md_footnote(note, quote_limit) for note in notes))
    references = cited.references()
    if references:
        blocks.append("## References")
        blocks.append("\n".join(md_reference(ref) for ref in references))
    return "\n\n".join(blocks) + "\n"


# --- Word ------------------------------------------------------------------------------------------------------


def note_marker(numbers: Iterable[int]) -> str:
    """``[1]`` or ``[1,3]``: the superscript that follows a sentence in Word."""
    return "[" + ",".join(str(n) for n in numbers) + "]"


def to_docx(cited: CitedText, path: Path, quote_limit: int = QUOTE_LIMIT) -> Path:
    """The cited text as a Word document at ``path`` (folders created); returns ``path``."""
    from docx import Document  # imported here: only a Word export needs python-docx
    from docx.enum.text import WD_COLOR_INDEX

    notes = _checked_notes(cited)
    path = Path(path)
    document = Document()
    document.core_properties.title = clean(cited.title)
    document.add_heading(clean(cited.title), 0)
    for section in cited.sections:
        if section.heading is not None:
            document.add_heading(clean(section.heading), 1)
        for paragraph in section.paragraphs:
            if not paragraph:
                continue
            para = document.add_paragraph()
            for i, sentence in enumerate(paragraph):
                para.add_run(("" if i == 0 else " ") + clean(sentence.text))
                if sentence.needs_citation:
                    para.add_run(" ")
                    flag = para.add_run(CITATION_NEEDED)
                    flag.bold = True
                    flag.font.highlight_color = WD_COLOR_INDEX.YELLOW
                else:
                    para.add_run(note_marker(_note_numbers(sentence))).font.superscript = True
    if notes:
        document.add_heading("Notes", 1)
        for note in notes:
            add_docx_note(document, f"{note.n}.", note, quote_limit)
    references = cited.references()
    if references:
        document.add_heading("References", 1)
        for ref in references:
            document.add_paragraph(f"{clean(ref.title)} — {clean(ref.source)}, {_reference_pages(ref)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def add_docx_note(document, label: str, note: Citation, quote_limit: int | None = QUOTE_LIMIT) -> None:
    """A paragraph of ``document`` for ``note``: ``label`` ("3." or "[3]", or none), the document's title, file
    and location, and the quote in italics, shortened to ``quote_limit`` characters (whole when None)."""
    lead = f"{label} " if label else ""
    para = document.add_paragraph(f"{lead}{clean(note.title)} ({clean(note.source)}), {note.location}: ")
    quote = clean(note.quote) if quote_limit is None else shorten(note.quote, quote_limit)
    para.add_run(f"“{quote}”").italic = True


# --- Either ----------------------------------------------------------------------------------------------------


def write(cited: CitedText, path: Path, fmt: str | None = None) -> Path:
    """Write ``cited`` to ``path`` as ``fmt`` ("md" or "docx"; by default taken from the file's suffix)."""
    path = Path(path)
    chosen = (fmt if fmt is not None else path.suffix).lower().lstrip(".")
    chosen = {"markdown": "md"}.get(chosen, chosen)
    if chosen not in FORMATS:
        given = repr(fmt) if fmt is not None else f"suffix {path.suffix!r}"
        raise ValueError(f"unknown export format {given}: choose one of {', '.join(FORMATS)}")
    if chosen == "docx":
        return to_docx(cited, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(cited), encoding="utf-8")
    return path
