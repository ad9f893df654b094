"""Documents that know their own structure: Word files (.docx) and web pages (.html), and the tables of
Markdown files.

A Word file or a web page has no fixed pages. It is read as blocks (headings, paragraphs, list items, table
rows, notes) and cut into *sections* at its level-1 and level-2 headings; a section plays the part a page
plays in a PDF ("section 3" is the third in reading order). Each section opens with its heading path
("Annual report › Shelters"), so a passage keeps the heading it stands under.

A table becomes one paragraph per row, each cell with its column header ("Town: Mwanza | Referrals 2023:
96"): a row never needs a header from another chunk, and an answer from a table quotes the header and the
row together. Word files are read with python-docx (footnotes from the file's footnotes part), web pages'
main content with trafilatura (navigation, footers and cookie banners left out).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from ingest.cleaning import normalize_characters
from ingest.errors import IngestError

DAMAGED_DOCX = "damaged or not a real Word file ({detail}): open it in Word, save it again and add it again"
SAVE_AS_PDF = "save the page as PDF in a browser and add that"
SECTION_LEVELS = 2  # headings of this level or above start a new section
PATH_SEPARATOR = " › "
ROW_SEPARATOR = " | "
# A table row as ``table_rows`` (and ``ingest.pdf_tables``) write it: "header: value" cells joined by " | ",
# the first (the row's label) possibly without a header.
TABLE_ROW = re.compile(r"(?:[^|\n:]{1,80}: )?[^|\n]+(?: \| [^|\n:]{1,80}: [^|\n]+)+")

_HEADED_CELL = re.compile(r"([^|\n:]{1,80}): ([^|\n]+)")


def searchable_text(text: str) -> str:
    """``text`` as it is searched and embedded: a table row without the column names it carries for the
    reader ("Town: Dodoma | Referrals in 2023: 12" is searched as "Dodoma | 12"). The names stand once in
    the table's header; repeated in every row they would make any passage of rows look like the question."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if TABLE_ROW.fullmatch(line):
            lines[i] = ROW_SEPARATOR.join(_HEADED_CELL.sub(r"\2", c, count=1) for c in line.split(ROW_SEPARATOR))
    return "\n".join(lines)


@dataclass(frozen=True)
class Block:
    """One unit of a structured document, in reading order. ``level`` is a heading's level (1 = top)."""

    kind: Literal["heading", "paragraph", "item", "row"]
    text: str
    level: int = 0


def table_rows(rows: Sequence[Sequence[str]]) -> list[Block]:
    """A table as its header row as printed, then one row block per body row, each cell prefixed with its
    column's header (the first row): a row read alone, in an answer or a chunk without the header, still
    says what its figures are. A table of one row, or one without a header, gives its rows with cells joined
    by " | "."""
    cleaned = [[" ".join(cell.split()) for cell in row] for row in rows if any(c.strip() for c in row)]
    if not cleaned:
        return []
    header, body = cleaned[0], cleaned[1:]
    if not body or not any(header):
        return [Block("row", ROW_SEPARATOR.join(c for c in row if c)) for row in cleaned]
    blocks = [Block("row", ROW_SEPARATOR.join(c for c in header if c))]
    for row in body:
        pairs = zip(header, row, strict=False)
        cells = [f"{head}: {value}" if head and head != value else value for head, value in pairs if value]
        if cells:
            blocks.append(Block("row", ROW_SEPARATOR.join(cells)))
    return blocks


def sections(blocks: Iterable[Block]) -> list[str]:
    """The cleaned text of each section (see the module docstring): paragraphs separated by a blank line,
    list items marked "•"."""
    found: list[list[str]] = []
    path: list[str] = []
    current: list[str] = []
    for block in blocks:
        text = " ".join(normalize_characters(block.text).split())
        if not text:
            continue
        if block.kind == "heading" and block.level <= SECTION_LEVELS:
            if current:
                found.append(current)
            path = [*path[: block.level - 1], text]
            current = [PATH_SEPARATOR.join(path)]
        elif block.kind == "item":
            current.append(f"• {text}")
        else:
            current.append(text)
    if current:
        found.append(current)
    return ["\n\n".join(paragraphs) for paragraphs in found]


# --- Word ---------------------------------------------------------------------------------------------------
_HEADING_STYLE = re.compile(r"^(?:heading|titre|título|encabezado)\s*(\d)$", re.I)


def read_docx(name: str, data: bytes) -> tuple[list[str], str | None]:
    """Sections and core-properties title of a Word file; ``IngestError`` for a file Word would not open."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except PackageNotFoundError as exc:
        raise IngestError(name, DAMAGED_DOCX.format(detail="not a Word package")) from exc
    except Exception as exc:  # python-docx, zipfile and lxml raise many types on broken packages
        raise IngestError(name, DAMAGED_DOCX.format(detail=type(exc).__name__)) from exc
    blocks = [*_docx_blocks(document), *_docx_notes(document)]
    return sections(blocks), (document.core_properties.title or _first_heading(blocks))


def _first_heading(blocks: Sequence[Block]) -> str | None:
    """The first heading's text: a Word file's title when its properties give none."""
    return next((" ".join(b.text.split()) for b in blocks if b.kind == "heading" and b.text.strip()), None)


def _docx_blocks(document) -> Iterator[Block]:
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            yield from table_rows([[cell.text for cell in _unique_cells(row)] for row in item.rows])
            continue
        style = item.style.name if item.style is not None else ""
        heading = _HEADING_STYLE.match(style)
        if heading or style == "Title":
            yield Block("heading", item.text, int(heading.group(1)) if heading else 1)
        elif style.lower().startswith("list") or item._p.pPr is not None and item._p.pPr.numPr is not None:
            yield Block("item", item.text)
        else:
            yield Block("paragraph", item.text)


def _unique_cells(row) -> list:
    """A row's cells, a merged cell once (python-docx repeats it for every grid column it spans)."""
    cells: list = []
    for cell in row.cells:
        if not cells or cell._tc is not cells[-1]._tc:
            cells.append(cell)
    return cells


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_notes(document) -> list[Block]:
    """Footnotes and endnotes, in a last section "Notes", each as "Note n: text"."""
    notes: list[Block] = []
    for part in document.part.package.iter_parts():
        kind = part.partname.rsplit("/", 1)[-1]
        if kind not in ("footnotes.xml", "endnotes.xml"):
            continue
        from lxml import etree

        root = etree.fromstring(part.blob)
        for note in root.iter(f"{_W}footnote", f"{_W}endnote"):
            if note.get(f"{_W}type") not in (None, "normal"):
                continue  # separators
            text = "".join(t.text or "" for t in note.iter(f"{_W}t"))
            if text.strip():
                notes.append(Block("paragraph", f"Note {note.get(f'{_W}id')}: {text}"))
    return [Block("heading", "Notes", 1), *notes] if notes else []


# --- web pages ----------------------------------------------------------------------------------------------
def read_html(name: str, data: bytes) -> tuple[list[str], str | None]:
    """Sections and title of a web page's main content; ``IngestError`` when it has none."""
    import trafilatura
    from lxml import etree

    try:  # trafilatura decodes the bytes itself, by the page's declared charset or by detection
        extracted = trafilatura.extract(data, output_format="xml", include_tables=True, favor_recall=True)
        root = etree.fromstring(extracted.encode("utf-8")) if extracted else None
        metadata = trafilatura.extract_metadata(trafilatura.load_html(data)) if root is not None else None
    except Exception as exc:  # a page the parsers choke on is, to the user, a page with no text to read
        raise IngestError(name, f"this web page could not be read ({type(exc).__name__}): {SAVE_AS_PDF}") from exc
    found = sections(_html_blocks(root)) if root is not None else []
    if not found:
        raise IngestError(name, f"no main text found in this web page: {SAVE_AS_PDF}")
    return found, (metadata.title if metadata is not None else None)


def _html_blocks(root) -> Iterator[Block]:
    main = root.find("main")
    for element in main if main is not None else root:
        text = " ".join("".join(element.itertext()).split())
        if element.tag == "head":
            level = int((element.get("rend") or "h2").lstrip("h") or 2)
            yield Block("heading", text, level)
        elif element.tag == "list":
            for item in element.iter("item"):
                yield Block("item", "".join(item.itertext()))
        elif element.tag == "table":
            rows = [["".join(c.itertext()) for c in row.iter("cell")] for row in element.iter("row")]
            yield from table_rows(rows)
        elif text:
            yield Block("paragraph", text)


# --- Markdown tables ----------------------------------------------------------------------------------------
_MD_TABLE = re.compile(r"(?m)^(?:[ \t]*\|.*\|[ \t]*\n?){2,}")
_MD_RULE = re.compile(r"^\s*\|?(?:\s*:?-{2,}:?\s*\|)+\s*:?-{0,}:?\s*\|?\s*$")


def markdown_tables_as_rows(text: str) -> str:
    """Markdown pipe tables rewritten as one paragraph per row with its headers (see ``table_rows``)."""

    def rewrite(match: re.Match[str]) -> str:
        lines = [line for line in match.group().splitlines() if line.strip()]
        if len(lines) < 2 or not _MD_RULE.match(lines[1]):
            return match.group()
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[:1] + lines[2:]]
        return "\n\n" + "\n\n".join(block.text for block in table_rows(rows)) + "\n\n"

    return _MD_TABLE.sub(rewrite, text)
