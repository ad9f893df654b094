"""Read one file into a :class:`LoadedDocument`: raw text page by page, cleaned, with title and year.

A file that cannot be read raises :class:`IngestError` with a reason the user can act on; no parser
exception escapes for a bad file. PDFs are read with pypdf, one page per physical page (1-based);
.txt and .md files are one page; Word files and web pages are cut into sections at their headings, a
section standing for a page (``ingest.structured``).
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from ingest.cleaning import clean_pages
from ingest.errors import IngestError
from ingest.language import detect_language, is_language, known_word_share
from ingest.models import LoadedDocument, Page
from ingest.ocr import tesseract_languages
from ingest.pdf import NO_TEXT_LAYER, read_pdf
from ingest.structured import ROW_SEPARATOR, TABLE_ROW, markdown_tables_as_rows, read_docx, read_html

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md", ".docx", ".html", ".htm")

EMPTY = "empty file ({detail}): check that it is the right file"
NOT_TEXT = "not a text file ({detail}): save it as UTF-8 text, or as PDF, and add it again"

_TITLE_WORDS = (2, 20)
_FILE_NAME = re.compile(r"\.(?:pdf|docx?|odt|rtf|txt|md|indd|pptx?|xlsx?|qxd|pub)\b", re.IGNORECASE)
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:microsoft\s+\w+\s*-|untitled|document\d*$|title$|slide\s*\d*$|presentation\d*$|print$)",
    re.IGNORECASE,
)
_PAGE_NUMBER = re.compile(r"(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?", re.IGNORECASE)
_ALPHA_WORD = re.compile(r"[^\W\d_]{2,}")
_MARKDOWN_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)


# What to do with a file of a kind no loader reads, by its suffix.
_UNSUPPORTED = {
    (".ppt", ".pptx", ".odp", ".key"): "slides are not supported: save them as PDF",
    (".xls", ".xlsx", ".ods", ".csv", ".tsv"): "spreadsheets are not supported: save the sheet as PDF",
    (".doc", ".rtf", ".odt", ".pages", ".wpd"): "this word-processor format is not supported: save it as .docx or PDF",
    (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp", ".webp"): "images are not supported: save as PDF",
    (".zip", ".7z", ".rar", ".gz", ".tar"): "archives are not opened: unpack it and add the folder",
}


def unsupported_reason(path: Path) -> str:
    """Why ``path`` is not read and what to do instead, for a file whose type no loader reads."""
    suffix = path.suffix.lower()
    for suffixes, reason in _UNSUPPORTED.items():
        if suffix in suffixes:
            return reason
    shown = f"{suffix} files are" if suffix else "files without an extension are"
    return f"{shown} not supported: save it as PDF, .txt or .md"


def load_file(path: Path, source: str | None = None) -> LoadedDocument:
    """Read, clean and describe ``path``, known in the library as ``source`` (its file name by default);
    raise :class:`IngestError` naming ``source`` if it cannot be ingested."""
    path = Path(path)
    name = source or path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(name, unsupported_reason(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
        raise IngestError(name, f"cannot read the file ({problem}): check its path and permissions") from exc
    if not data:
        raise IngestError(name, EMPTY.format(detail="0 bytes"))
    sha256 = hashlib.sha256(data).hexdigest()

    year: int | None = None
    metadata_title: str | None = None
    ocr_pages: tuple[int, ...] = ()
    if suffix == ".docx":
        cleaned, metadata_title = read_docx(name, data)
    elif suffix in (".html", ".htm"):
        cleaned, metadata_title = read_html(name, data)
    elif suffix == ".pdf":
        pdf = read_pdf(name, data)
        cleaned, metadata_title, year, ocr_pages = clean_pages(pdf.pages), pdf.title, pdf.year, pdf.ocr_pages
    else:
        raw_pages = _text_pages(name, data, markdown=suffix == ".md")
        del data  # ``raw_pages`` alone holds the bytes, then the raw text, each only while it is needed
        cleaned = clean_pages(raw_pages)
    if not any(page for page in cleaned):
        if suffix == ".pdf" and tesseract_languages() is None:  # only page numbers or stamps: a scan
            raise IngestError(name, NO_TEXT_LAYER)
        raise IngestError(name, EMPTY.format(detail="no text in it"))
    pages = tuple(Page(number=i, text=text) for i, text in enumerate(cleaned, start=1))
    title = _meaningful_title(metadata_title) or _title_from_text(cleaned) or path.stem
    return LoadedDocument(
        source=name,
        title=title,
        sha256=sha256,
        pages=pages,
        file_type="html" if suffix == ".htm" else suffix.lstrip("."),
        year=year or _year_from_text(cleaned[0]),
        ocr_pages=ocr_pages,
        language=detect_language(cleaned),
    )


# A date near the top of the first page ("June 2024") dates a document that carries no metadata.
_YEAR_IN_HEAD = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
HEAD_CHARS = 400


def _year_from_text(first_page: str) -> int | None:
    match = _YEAR_IN_HEAD.search(first_page[:HEAD_CHARS])
    if match and int(match.group(1)) <= date.today().year + 1:
        return int(match.group(1))
    return None


# --- text files ---------------------------------------------------------------------------------------------


def _text_pages(name: str, data: bytes, markdown: bool) -> Iterator[str]:
    """The one page of a text file, decoded when cleaning asks for it. The bytes are let go once decoded and
    the raw text once cleaning has normalised it (``clean_pages`` reads its pages one by one), so a large
    file is not held as bytes, raw text and cleaned text all at once."""
    text = _decode(name, data)
    del data
    if markdown:
        # Headings lose their "#" and stand as paragraphs of their own; tables become rows with headers.
        text = markdown_tables_as_rows(_MARKDOWN_HEADING.sub(lambda m: f"\n{m.group(1)}\n", text))
    yield text


# A byte-order mark decides the encoding; UTF-32's marks start with UTF-16's, so they are tried first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Decodings the detector finds as clean as its best (its "chaos" within this much) are told apart by words.
_CHAOS_TIE = 0.01
_CONTROL_SHARE = 0.05  # more control characters than this: binary data, not text
# Control characters (Unicode category Cc) other than the layout ones "\t\n\v\f\r".
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _decode(name: str, data: bytes) -> str:
    """The text of a text file: by its byte-order mark, else UTF-8, else the decoding charset-normalizer
    finds cleanest whose words are most often real words. Raises ``IngestError`` (``NOT_TEXT``) for binary
    data or bytes that decode only to nonsense."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise IngestError(name, NOT_TEXT.format(detail=f"starts like {encoding} but is not")) from None
    if b"\x00" in data:
        raise IngestError(name, NOT_TEXT.format(detail="binary data"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _detected(name, data)
    controls = sum(1 for _ in _CONTROL_CHARACTER.finditer(text))
    if controls > _CONTROL_SHARE * len(text) or is_language(text) is False:
        raise IngestError(name, NOT_TEXT.format(detail="its characters do not read as text"))
    return text


def _detected(name: str, data: bytes) -> str:
    import charset_normalizer

    found = list(charset_normalizer.from_bytes(data))
    if not found:
        raise IngestError(name, NOT_TEXT.format(detail="no text encoding fits its bytes"))
    cleanest = min(m.chaos for m in found)
    tied = [m for m in found if m.chaos <= cleanest + _CHAOS_TIE]
    # More real words wins; on a tie Windows-1252, the commonest legacy encoding of English, French and Spanish.
    best = max(tied, key=lambda m: (known_word_share(str(m)) or 0.0, m.encoding == "cp1252"))
    log.warning("%s is not UTF-8; read as %s (save it as UTF-8 to be sure)", name, best.encoding)
    return str(best)


# --- title --------------------------------------------------------------------------------------------------


def _meaningful_title(title: str | None) -> str | None:
    """The metadata title if it names the document, not the tool or file that produced it."""
    if not title:
        return None
    title = " ".join(unicodedata.normalize("NFKC", title).split())
    if _FILE_NAME.search(title) or _PLACEHOLDER_TITLE.match(title):
        return None
    return title if _looks_like_title(title) else None


def _looks_like_title(text: str) -> bool:
    words = text.split()
    return (
        _TITLE_WORDS[0] <= len(words) <= _TITLE_WORDS[1]
        and len(_ALPHA_WORD.findall(text)) >= 2
        and not _PAGE_NUMBER.fullmatch(text)
        and not text.endswith((",", ";", "."))  # a sentence, not a heading
        and not TABLE_ROW.fullmatch(text)  # a table row, not a heading
    )


def _title_from_text(pages: list[str], paragraphs: int = 5) -> str | None:
    """The first short paragraph among the first ones of the first page with text."""
    first = next((page for page in pages if page), "")
    for paragraph in _first_paragraphs(first, paragraphs):
        if _looks_like_title(paragraph) and ROW_SEPARATOR not in paragraph:  # not a table's header row
            return paragraph
    return None


def _first_paragraphs(text: str, count: int) -> list[str]:
    """``text.split("\n\n")[:count]`` without splitting (and so copying) the rest of a large page."""
    paragraphs: list[str] = []
    start = 0
    while len(paragraphs) < count:
        end = text.find("\n\n", start)
        if end < 0:
            paragraphs.append(text[start:])
            break
        paragraphs.append(text[start:end])
        start = end + 2
    return paragraphs
