"""Values that flow out of ingest: a loaded document, its cleaned pages, and chunks that point into them.

Character offsets always refer to the *cleaned* page text (``Page.text``), which is what the store keeps
and what citations quote, so ``page.text[chunk.char_start:chunk.char_end] == chunk.text`` holds everywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Page:
    """One physical page: 1-based page number and its cleaned text."""

    number: int
    text: str


@dataclass(frozen=True)
class LoadedDocument:
    """A file read and cleaned, not yet chunked or stored."""

    source: str  # path relative to the folder ingested ("2022/report.txt"), or the file name: the identity
    title: str
    sha256: str  # hash of the file's bytes: the document's version
    pages: tuple[Page, ...]
    file_type: str  # "pdf", "txt", "md", "docx" or "html"
    year: int | None = None  # publication year when the file says so (PDF metadata or the text)
    ocr_pages: tuple[int, ...] = ()  # pages whose text was read by OCR (scans, unreadable text layers)
    language: str | None = None  # ISO 639-1 code ("en", "fr", "es"), detected from the text

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def doc_id(self) -> str:
        return doc_id_for(self.source)


@dataclass(frozen=True)
class Chunk:
    """A passage of one page, sized for the embedding model, with its exact position."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    page_start: int
    page_end: int
    char_start: int  # offset into the cleaned text of page_start
    char_end: int  # offset into the cleaned text of page_end
    text: str
    index: int  # position of the chunk within its document
    text_hash: str = field(default="")

    def __post_init__(self) -> None:
        if not self.text_hash:
            object.__setattr__(self, "text_hash", text_hash(self.text))


# Files with no fixed pages, cut into sections at their headings: their "page" is a section number.
SECTIONED_SUFFIXES = (".docx", ".html", ".htm")


def is_sectioned(source: str) -> bool:
    """Whether ``source`` is cut into sections (a Word file or a web page) rather than pages."""
    return source.lower().endswith(SECTIONED_SUFFIXES)


def location_of(source: str, page: int, short: bool = True) -> str:
    """Where page ``page`` of ``source`` is, for a reader: "p. 12" ("page 12" unless ``short``: a PDF's
    physical page; a text file is one page) or "section 3" (Word files and web pages, cut at their headings)."""
    if is_sectioned(source):
        return f"section {page}"
    return f"p. {page}" if short else f"page {page}"


def doc_id_for(source: str) -> str:
    """Stable id of a document: derived from its ``source`` (relative path or file name), so a new version
    keeps the same id."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
