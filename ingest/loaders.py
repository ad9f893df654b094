"""Read one file into a :class:`LoadedDocument`: raw text page by page, cleaned, with title and year.

A file that cannot be read raises :class:`IngestError` with a reason the user can act on; no parser
exception escapes for a bad file. PDFs are read with pypdf, one page per physical page (1-based);
.txt and .md files are one page.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, WrongPasswordError

from ingest.cleaning import clean_pages
from ingest.errors import IngestError
from ingest.models import LoadedDocument, Page

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md")

NO_TEXT_LAYER = "scanned PDF with no text layer: needs OCR before it can be added"
ENCRYPTED = "encrypted PDF: remove the password and add it again"
CORRUPT = "damaged or not a real PDF ({detail}): open it in a PDF reader, save or export it again, and add it again"
EMPTY = "empty file ({detail}): check that it is the right file"

_TITLE_WORDS = (2, 20)
_FILE_NAME = re.compile(r"\.(?:pdf|docx?|odt|rtf|txt|md|indd|pptx?|xlsx?|qxd|pub)\b", re.IGNORECASE)
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:microsoft\s+\w+\s*-|untitled|document\d*$|title$|slide\s*\d*$|presentation\d*$|print$)",
    re.IGNORECASE,
)
_PAGE_NUMBER = re.compile(r"(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?", re.IGNORECASE)
_ALPHA_WORD = re.compile(r"[^\W\d_]{2,}")
_MARKDOWN_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
_PDF_YEAR = re.compile(r"(?:D:)?((?:19|20)\d\d)")


def load_file(path: Path) -> LoadedDocument:
    """Read, clean and describe ``path``; raise :class:`IngestError` if it cannot be ingested."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "without extension"
        raise IngestError(path.name, f"unsupported file type {shown}: convert to PDF, .txt or .md")
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
        raise IngestError(path.name, f"cannot read the file ({problem}): check its path and permissions") from exc
    if not data:
        raise IngestError(path.name, EMPTY.format(detail="0 bytes"))

    year: int | None = None
    metadata_title: str | None = None
    if suffix == ".pdf":
        raw_pages, metadata_title, year = _read_pdf(path.name, data)
    else:
        text = _decode(path.name, data)
        if suffix == ".md":
            # Headings lose their "#" and stand as paragraphs of their own.
            text = _MARKDOWN_HEADING.sub(lambda m: f"\n{m.group(1)}\n", text)
        raw_pages = [text]

    cleaned = clean_pages(raw_pages)
    if not any(page for page in cleaned):
        # A PDF whose only text is page numbers or stamps is a scan too.
        raise IngestError(path.name, NO_TEXT_LAYER if suffix == ".pdf" else EMPTY.format(detail="no text in it"))
    pages = tuple(Page(number=i, text=text) for i, text in enumerate(cleaned, start=1))
    title = _meaningful_title(metadata_title) or _title_from_text(cleaned) or path.stem
    return LoadedDocument(
        source=path.name,
        title=title,
        sha256=hashlib.sha256(data).hexdigest(),
        pages=pages,
        file_type=suffix.lstrip("."),
        year=year or _year_from_text(cleaned[0]),
    )


# A date near the top of the first page ("June 2024") dates a document that carries no metadata.
_YEAR_IN_HEAD = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
HEAD_CHARS = 400


def _year_from_text(first_page: str) -> int | None:
    match = _YEAR_IN_HEAD.search(first_page[:HEAD_CHARS])
    if match and int(match.group(1)) <= date.today().year + 1:
        return int(match.group(1))
    return None


# --- PDF ----------------------------------------------------------------------------------------------------


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every oddity of real-world files; keep only its errors meanwhile."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _read_pdf(name: str, data: bytes) -> tuple[list[str], str | None, int | None]:
    """Raw page texts, metadata title and year of a PDF."""
    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data))
            encrypted = reader.is_encrypted
        except Exception as exc:  # pypdf raises many types on broken files; all mean the same to the user
            raise IngestError(name, ENCRYPTED if _is_encryption_problem(exc) else _corrupt(exc)) from exc
        if encrypted:
            try:
                opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
            except Exception:  # an algorithm pypdf cannot handle is, to the user, a lock all the same
                opened = False
            if not opened:
                raise IngestError(name, ENCRYPTED)
        try:
            page_count = len(reader.pages)
        except Exception as exc:
            raise IngestError(name, ENCRYPTED if _is_encryption_problem(exc) else _corrupt(exc)) from exc
        if page_count == 0:
            raise IngestError(name, EMPTY.format(detail="a PDF with no pages"))

        pages: list[str] = []
        failures = 0
        for number in range(page_count):
            try:
                pages.append(reader.pages[number].extract_text() or "")
            except Exception as exc:  # one unreadable page should not cost the rest of the document
                failures += 1
                log.warning("%s: page %d could not be read (%s); it is kept empty", name, number + 1, _describe(exc))
                pages.append("")
        if failures == page_count:
            raise IngestError(name, CORRUPT.format(detail="no page could be read"))
        title, year = _pdf_metadata(name, reader)
    blank = sum(1 for page in pages if not page.strip())
    if blank and blank * 2 >= page_count:
        log.warning(
            "%s: %d of %d pages have no text layer (scanned?); only the others are indexed", name, blank, page_count
        )
    return pages, title, year


def _pdf_metadata(name: str, reader: PdfReader) -> tuple[str | None, int | None]:
    try:
        metadata = reader.metadata
        if metadata is None:
            return None, None
        title = metadata.title
        created = metadata.get("/CreationDate")
        created = created.get_object() if hasattr(created, "get_object") else created
    except Exception as exc:  # broken metadata must not cost the text
        log.warning("%s: metadata unreadable (%s)", name, _describe(exc))
        return None, None
    year = None
    match = _PDF_YEAR.match(str(created).strip()) if created else None
    if match and 1900 <= int(match.group(1)) <= date.today().year + 1:
        year = int(match.group(1))
    return (str(title) if title else None), year


def _is_encryption_problem(exc: Exception) -> bool:
    return isinstance(exc, FileNotDecryptedError | WrongPasswordError | DependencyError) or "crypt" in str(exc).lower()


def _corrupt(exc: Exception) -> str:
    return CORRUPT.format(detail=_describe(exc))


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- text files ---------------------------------------------------------------------------------------------


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        log.warning("%s is not valid UTF-8; read as %s (save it as UTF-8 to be sure)", name, encoding)
        return text
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


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
    )


def _title_from_text(pages: list[str], paragraphs: int = 5) -> str | None:
    """The first short paragraph among the first ones of the first page with text."""
    first = next((page for page in pages if page), "")
    for paragraph in first.split("\n\n")[:paragraphs]:
        if _looks_like_title(paragraph):
            return paragraph
    return None
