"""A PDF page as printed: rendered to PNG, and where a quote of its stored text lies on it (pypdfium2).

The stored text of a page is not the PDF's own: pypdf read it, in its reading order, and cleaning
(``ingest.cleaning``) applied NFKC, joined words hyphenated at line ends, removed running headers, footers and
note markers, and collapsed spaces. A quote is therefore found among PDFium's characters of the page by
letters and digits alone, casefolded and without accents, on both sides (``folded``): an exact match first
(the occurrence nearest where the quote stands in the stored text, when it occurs more than once), else the
runs the two share (``difflib``) around the longest one, which steps over a note number, a hyphen or a
header standing between two lines. The characters found give rectangles (PDFium's loose character boxes,
joined per line), as percentages of the rendered page, whose origin is its top-left corner (PDF's is
bottom-left; page rotation and crop box are PDFium's to apply).

PDFium is not thread-safe: every call into it here holds ``PDFIUM_LOCK``, which ``ingest.ocr`` takes too.
Rendered pages and located quotes are cached by file (path, size and modification time).
"""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

PDFIUM_LOCK = threading.RLock()

RENDER_SCALE = 1.5  # pixels per point: 108 dpi, a US Letter page 918 pixels wide, readable at its own size
MIN_RUN = 4  # folded characters a shared run needs to count when the quote is not found whole
MIN_SHARE = 0.6  # share of the quote's folded characters the runs must cover, else the quote is not on the page
MAX_GAP = 4  # folded characters (a note number, a stray letter) bridged between two runs on the page
_PRECISION = 10  # device units per point when converting page coordinates to percentages


@dataclass(frozen=True)
class Box:
    """A rectangle on the rendered page, in percent of the page's width and height, from its top-left corner."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class PageImage:
    """A rendered page: PNG bytes and the image's size in pixels."""

    png: bytes
    width: int
    height: int


class PageOutOfRange(ValueError):
    """A 1-based page number the PDF does not have."""


@contextmanager
def _opened(path: Path) -> Iterator[object]:
    """The PDF at ``path`` as a ``pypdfium2.PdfDocument``, with ``PDFIUM_LOCK`` held until it is closed."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(str(path))
        try:
            yield document
        finally:
            document.close()


def _page(document, number: int):
    if not 1 <= number <= len(document):
        raise PageOutOfRange(f"page {number} of a PDF of {len(document)} pages")
    return document[number - 1]


def _version(path: Path) -> tuple[str, int, int]:
    """What the caches key a file by: a file replaced in place gets new entries."""
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def page_count(path: Path) -> int:
    """The number of pages of the PDF at ``path``. Raises ``OSError`` or ``pypdfium2.PdfiumError`` for a file
    that cannot be read."""
    return _page_count(*_version(path))


@lru_cache(maxsize=64)
def _page_count(path: str, size: int, mtime_ns: int) -> int:
    with _opened(Path(path)) as document:
        return len(document)


def render_page(path: Path, number: int, scale: float = RENDER_SCALE) -> PageImage:
    """Page ``number`` (1-based) of the PDF at ``path`` as a PNG, at ``scale`` pixels per point (crop box and
    rotation applied). Raises ``PageOutOfRange``, and ``OSError`` or ``pypdfium2.PdfiumError`` for a file that
    cannot be read."""
    return _render_page(*_version(path), number, scale)


@lru_cache(maxsize=24)  # 300-700 KB of PNG each: the pages a reader goes back and forth between
def _render_page(path: str, size: int, mtime_ns: int, number: int, scale: float) -> PageImage:
    with _opened(Path(path)) as document:
        image = _page(document, number).render(scale=scale).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return PageImage(buffer.getvalue(), image.width, image.height)


def quote_boxes(path: Path, number: int, quote: str, near: float | None = None) -> list[Box]:
    """Where ``quote`` (stored text of page ``number``, 1-based) stands on that page of the PDF at ``path``:
    one box per line it covers, in reading order; empty when it cannot be found there (a scanned page read by
    OCR has no characters to find). ``near`` (0 to 1: where the quote starts in the stored page text, as a
    share of its length) picks among several exact occurrences. Raises ``PageOutOfRange``, and ``OSError`` or
    ``pypdfium2.PdfiumError`` for a file that cannot be read."""
    return list(_quote_boxes(*_version(path), number, quote, near))


@lru_cache(maxsize=256)
def _quote_boxes(path: str, size: int, mtime_ns: int, number: int, quote: str, near: float | None) -> tuple[Box, ...]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with _opened(Path(path)) as document:
        page = _page(document, number)
        text = page.get_textpage()
        chars = "".join(chr(pdfium_c.FPDFText_GetUnicode(text, i)) for i in range(text.count_chars()))
        ranges = locate(chars, quote, near)
        lines = _line_boxes(text, ranges, chars)
        width, height = page.get_width() * _PRECISION, page.get_height() * _PRECISION
        to_device = pdfium.PdfPosConv(page, (0, 0, round(width), round(height), 0))
        return tuple(_percent(to_device, line, width, height) for line in lines)


# ----- finding the quote among the page's characters --------------------------------------------------------
def folded(text: str) -> tuple[str, list[int]]:
    """``text``'s letters and digits, compatibility-decomposed, without accents and casefolded ("ﬁ" → "fi",
    "É" → "e"), and for each of them the index in ``text`` of the character it comes from."""
    kept: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        for part in unicodedata.normalize("NFKD", char).casefold():
            if part.isalnum():
                kept.append(part)
                where.append(i)
    return "".join(kept), where


def locate(chars: str, quote: str, near: float | None = None) -> list[tuple[int, int]]:
    """The ranges ``[start, end)`` of ``chars`` (a page's characters) that hold ``quote``, in order: one range
    when the quote's letters and digits are found whole, several when only runs of them are; empty when the
    runs cover less than ``MIN_SHARE`` of the quote. ``near`` as for ``quote_boxes``."""
    page, where = folded(chars)
    wanted, _ = folded(quote)
    if not page or not wanted:
        return []
    exact = _occurrences(page, wanted)
    if exact:
        at = min(exact, key=lambda i: abs(i / len(page) - near)) if near is not None else exact[0]
        return [(where[at], where[at + len(wanted) - 1] + 1)]
    matcher = SequenceMatcher(None, wanted, page, autojunk=False)
    anchor = matcher.find_longest_match(0, len(wanted), 0, len(page))
    if anchor.size < min(MIN_RUN, len(wanted)):
        return []
    slack = len(wanted) // 2 + 40  # room for what the stored text left out (headers, notes) within the quote
    low = max(0, anchor.b - anchor.a - slack)
    high = min(len(page), anchor.b + len(wanted) - anchor.a + slack)
    matcher.set_seq2(page[low:high])
    runs = [(low + b.b, low + b.b + b.size) for b in matcher.get_matching_blocks() if b.size >= MIN_RUN]
    if sum(end - start for start, end in runs) < MIN_SHARE * len(wanted):
        return []
    joined: list[list[int]] = []
    for start, end in runs:
        if joined and start - joined[-1][1] <= MAX_GAP:
            joined[-1][1] = end
        else:
            joined.append([start, end])
    return [(where[start], where[end - 1] + 1) for start, end in joined]


def _occurrences(text: str, wanted: str) -> list[int]:
    found, at = [], text.find(wanted)
    while at >= 0:
        found.append(at)
        at = text.find(wanted, at + 1)
    return found


# ----- rectangles ----------------------------------------------------------------------------------------------
def _line_boxes(text, ranges: Sequence[tuple[int, int]], chars: str) -> list[tuple[float, float, float, float]]:
    """The loose boxes of the characters in ``ranges`` (spaces and characters PDFium made up left out), joined
    into one box per line: ``(left, bottom, right, top)`` in page coordinates."""
    import pypdfium2.raw as pdfium_c

    lines: list[list[float]] = []
    for start, end in ranges:
        for i in range(start, end):
            if chars[i].isspace() or pdfium_c.FPDFText_IsGenerated(text, i) == 1:
                continue
            left, bottom, right, top = text.get_charbox(i, loose=True)
            if right <= left or top <= bottom:
                continue
            if lines and _same_line(lines[-1], left, bottom, right, top):
                line = lines[-1]
                line[:] = [min(line[0], left), min(line[1], bottom), max(line[2], right), max(line[3], top)]
            else:
                lines.append([left, bottom, right, top])
    return [(line[0], line[1], line[2], line[3]) for line in lines]


def _same_line(line: list[float], left: float, bottom: float, right: float, top: float) -> bool:
    """Whether a character continues ``line``: it overlaps it by half its height, and follows it closely (a
    character far to the right is in another column; one to the left of the line's start begins a line)."""
    height = min(line[3] - line[1], top - bottom)
    overlap = min(line[3], top) - max(line[1], bottom)
    return overlap >= 0.5 * height and line[0] - height <= left <= line[2] + 2 * height


def _percent(to_device, line: tuple[float, float, float, float], width: float, height: float) -> Box:
    left, bottom, right, top = line
    corners = [to_device.to_bitmap(x, y) for x, y in ((left, bottom), (right, top))]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return Box(
        round(100 * min(xs) / width, 3),
        round(100 * min(ys) / height, 3),
        round(100 * (max(xs) - min(xs)) / width, 3),
        round(100 * (max(ys) - min(ys)) / height, 3),
    )
