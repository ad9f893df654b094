"""Reading a PDF: the text of each physical page (1-based), with what a reader sees beyond the text layer.

pypdf extracts each page's text layer; a table of figures in it is rewritten as rows with their headers
(``ingest.pdf_tables``). Added to it, as paragraphs at the end of the page: the values typed
into form fields, each with its printed label ("Number of victims referred: 14"; the label is the text just
left of the field on its line, else the field's tooltip or name), and the text of comment annotations
("Comment: …"). A page whose text layer is empty but shows an image, or whose text layer is not language,
is read by OCR when Tesseract is installed (``ingest.ocr``). Every problem a user can fix is an
``IngestError`` with what to do; no parser exception escapes.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, WrongPasswordError

from ingest import ocr
from ingest.errors import IngestError
from ingest.language import is_language
from ingest.pdf_tables import looks_like_a_table, with_table_rows

log = logging.getLogger(__name__)

NO_TEXT_LAYER = "scanned PDF with no text layer: " + ocr.INSTALL_HINT
NO_READABLE_TEXT = "no readable text: its text layer is not language and OCR found none either"
ENCRYPTED = "encrypted PDF: remove the password and add it again"
CORRUPT = "damaged or not a real PDF ({detail}): open it in a PDF reader, save or export it again, and add it again"
EMPTY_PDF = "empty file (a PDF with no pages): check that it is the right file"

_PDF_YEAR = re.compile(r"(?:D:)?((?:19|20)\d\d)")
MIN_LETTERS = 20  # a text layer with fewer letters than this is no text layer
_LABEL_SLACK = 4.0  # points: a label's baseline may sit this far outside its field's box
_COMMENT_TYPES = ("/Text", "/FreeText", "/Highlight", "/Underline", "/StrikeOut", "/Squiggly", "/Popup")


@dataclass(frozen=True)
class PdfText:
    """What a PDF holds for the library: raw page texts (index 0 is page 1), the metadata title and year,
    and the 1-based numbers of the pages read by OCR."""

    pages: list[str]
    title: str | None
    year: int | None
    ocr_pages: tuple[int, ...] = ()


def read_pdf(name: str, data: bytes) -> PdfText:
    """The pages of the PDF ``data`` (see the module docstring); raises ``IngestError`` naming ``name``."""
    with _quiet_pypdf():
        reader = _open(name, data)
        pages: list[str] = []
        failures = 0
        for number, page in enumerate(reader.pages, start=1):
            try:
                pages.append(_page_text(page))
            except Exception as exc:  # one unreadable page should not cost the rest of the document
                failures += 1
                log.warning("%s: page %d could not be read (%s); it is kept empty", name, number, _describe(exc))
                pages.append("")
        if failures == len(pages):
            raise IngestError(name, CORRUPT.format(detail="no page could be read"))
        title, year = _pdf_metadata(name, reader)
    pages, read = _with_ocr(name, data, pages)
    return PdfText(pages, title, year, read)


def _open(name: str, data: bytes) -> PdfReader:
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
        count = len(reader.pages)
    except Exception as exc:
        raise IngestError(name, ENCRYPTED if _is_encryption_problem(exc) else _corrupt(exc)) from exc
    if count == 0:
        raise IngestError(name, EMPTY_PDF)
    return reader


# --- what the text layer leaves out --------------------------------------------------------------------------
def _page_text(page: PageObject) -> str:
    """The page's text layer, then its filled-in form fields and its comments, one paragraph each."""
    annotations = _annotations(page)
    runs: list[tuple[float, float, str]] = []  # (x, y, text) of each text run, to find a field's label

    def collect(text: str, cm, tm, font, size) -> None:
        if text.strip():
            runs.append((cm[4] + tm[4] * cm[0], cm[5] + tm[5] * cm[3], text.strip()))

    has_fields = any(a.get("/Subtype") == "/Widget" for a in annotations)
    text = page.extract_text(visitor_text=collect if has_fields else None) or ""
    if looks_like_a_table(text):
        try:
            text = with_table_rows(text, page.extract_text(extraction_mode="layout"))
        except Exception as exc:  # the layout pass is an extra: without it the page keeps its plain text
            log.debug("layout extraction failed (%s); the page keeps its plain text", _describe(exc))
    try:
        extra = [*_field_values(annotations, runs), *_comments(annotations)]
    except Exception as exc:  # odd form or comment objects cost themselves, never the page's text
        log.warning("form fields or comments unreadable (%s); the page keeps its text", _describe(exc))
        extra = []
    return "\n\n".join([text, *extra]) if extra else text


def _annotations(page: PageObject) -> list:
    try:
        found = [a.get_object() for a in page.get("/Annots") or []]
    except Exception:  # a broken annotation array costs the annotations, not the page
        return []
    return [a for a in found if isinstance(a, dict)]


def _field_values(annotations: list, runs: list[tuple[float, float, str]]) -> list[str]:
    values = []
    for widget in annotations:
        if widget.get("/Subtype") != "/Widget":
            continue
        field = widget if "/V" in widget or "/Parent" not in widget else widget["/Parent"].get_object()
        value = _field_value(field)
        if value:
            label = _printed_label(widget, runs) or str(field.get("/TU") or field.get("/T") or "").strip()
            values.append(f"{label.rstrip(':').strip()}: {value}" if label else value)
    return values


def _field_value(field) -> str:
    value = field.get("/V")
    if value is None:
        return ""
    value = value.get_object() if hasattr(value, "get_object") else value
    if field.get("/FT") == "/Btn":  # a check box or radio button: its state name, "/Off" when not chosen
        return "" if str(value) in ("/Off", "") else "yes" if str(value) in ("/Yes", "/On") else str(value).lstrip("/")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return " ".join(str(value).split())


def _printed_label(widget, runs: list[tuple[float, float, str]]) -> str:
    """The text printed just left of the field, on its line."""
    try:
        x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
    except Exception:
        return ""
    x0, y0, y1 = min(x0, x1), min(y0, y1), max(y0, y1)
    middle = (y0 + y1) / 2
    left = [(abs(y - middle), -x, t) for x, y, t in runs if y0 - _LABEL_SLACK <= y <= y1 + _LABEL_SLACK and x < x0]
    return min(left)[2] if left else ""  # the line nearest the field's middle, the run nearest its left edge


def _comments(annotations: list) -> list[str]:
    found = []
    for note in annotations:
        if note.get("/Subtype") in _COMMENT_TYPES and note.get("/Contents"):
            text = " ".join(str(note["/Contents"]).split())
            if text and f"Comment: {text}" not in found:
                found.append(f"Comment: {text}")
    return found


# --- pages with no usable text layer ----------------------------------------------------------------------
def _with_ocr(name: str, data: bytes, pages: list[str]) -> tuple[list[str], tuple[int, ...]]:
    """``pages`` with scanned and garbled pages read by OCR (see ``ingest.ocr``), and the pages so read."""
    garbled = [i for i, text in enumerate(pages) if text.strip() and is_language(text) is False]
    # No text, or only a page number or a stamp: a scan, if the page shows an image
    empty = [i for i, text in enumerate(pages) if sum(c.isalpha() for c in text) < MIN_LETTERS]
    pages = [("" if i in garbled else text) for i, text in enumerate(pages)]  # gibberish is not stored
    to_read = sorted(garbled + (ocr.pages_with_images(data, empty) if empty else []))
    if not to_read:
        return pages, ()
    if ocr.tesseract_languages() is None:
        if not any(text.strip() for text in pages):
            raise IngestError(name, NO_TEXT_LAYER if not garbled else f"{NO_READABLE_TEXT}: {ocr.INSTALL_HINT}")
        log.warning("%s: %d pages need OCR and Tesseract is not installed; only the others are indexed",
                    name, len(to_read))  # fmt: skip
        return pages, ()
    read = {i: text for i, text in ocr.read_pages(data, to_read).items() if is_language(text) is not False}
    pages = [read.get(i, text) for i, text in enumerate(pages)]
    if not any(text.strip() for text in pages):
        raise IngestError(name, NO_READABLE_TEXT)
    return pages, tuple(i + 1 for i in sorted(read) if read[i].strip())


# --- metadata and errors -----------------------------------------------------------------------------------
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
