"""Incremental ingest of files into any store that follows ``DocumentSink``.

A document is identified by its path relative to the folder it was found in ("2022/report.txt"), or by its
file name when the file was named directly, and versioned by the hash of its bytes: unchanged files are
skipped after hashing (no parsing), a changed file replaces its old version, and the same bytes under
another path are reported as a duplicate. Files of a kind no loader reads, found in a folder, are listed as
skipped with what to do; hidden files (".DS_Store", ".git/…") and Office lock files ("~$draft.docx") are
passed over without a word. A file larger than the size limit (``FileSizeLimit``) fails before it is read. A
file that fails is reported with its reason and the batch goes on; nothing of a failed file is stored,
because the sink stores a document whole or not at all.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from ingest.chunking import Chunker, DocumentChunks
from ingest.errors import IngestError
from ingest.loaders import SUPPORTED_SUFFIXES, unsupported_reason
from ingest.models import Chunk, LoadedDocument, doc_id_for
from ingest.parse_ahead import ParseAhead, ReadFailed, read_chunks

log = logging.getLogger(__name__)


class FileStatus(Enum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the name the library knows it by (``source``): its path relative to the folder
    it was found in, with "/" separators, or its file name when it was named directly. ``skipped`` says why
    it is not read, for a file of a kind no loader reads that was found in a folder."""

    path: Path
    source: str
    skipped: str = ""

    @classmethod
    def named(cls, path: str | Path) -> SourceFile:
        """A file named directly: known by its file name."""
        return cls(Path(path), Path(path).name)


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file; ``source`` is the name the library knows it by (the file name by default)."""

    path: Path
    status: FileStatus
    message: str = ""
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        if not self.source:
            object.__setattr__(self, "source", self.path.name)

    @property
    def doc_id(self) -> str:
        return doc_id_for(self.source)


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)

    def count(self, status: FileStatus) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status is FileStatus.FAILED]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s.value}" for s in FileStatus if self.count(s)]
        return ", ".join(parts) if parts else "no files"


class StoredVersion(Protocol):
    source: str
    sha256: str


class DocumentSink(Protocol):
    def document_by_source(self, source: str) -> StoredVersion | None: ...

    def document_by_sha(self, sha256: str) -> StoredVersion | None: ...

    def add_document(
        self,
        document: LoadedDocument,
        chunks: Sequence[Chunk],
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Store ``document`` whole or not at all, calling ``progress(done_chunks, total_chunks)`` as its
        chunks are embedded and stored."""
        ...


MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class FileSizeLimit:
    """The largest file ingest reads, in megabytes of 1,048,576 bytes, and the setting that sets it (named in
    the refusal, e.g. "TIP_MAX_UPLOAD_MB")."""

    megabytes: int
    setting: str = ""

    def refusal(self, size: int) -> str | None:
        """Why a file of ``size`` bytes is refused and what to do, or None when it is within the limit."""
        if size <= self.megabytes * MEGABYTE:
            return None
        where = f" ({self.setting})" if self.setting else ""
        return (
            f"the file is {_megabytes(size, self.megabytes)} MB, over the {self.megabytes} MB limit{where}: "
            "split it, or raise the limit"
        )


def _megabytes(size: int, limit: int) -> str:
    """``size`` bytes in megabytes, with as many decimals as it takes to show it above ``limit``."""
    for decimals in range(1, 7):
        shown = f"{size / MEGABYTE:.{decimals}f}"
        if float(shown) > limit:
            break
    return shown.rstrip("0").rstrip(".")


def collect_files(paths: Iterable[str | Path]) -> list[SourceFile]:
    """Files named directly (whatever their type, so an unsupported one gets its error) and, for folders,
    every file inside them, recursively, in a stable order: the ones no loader reads marked ``skipped``."""
    files: dict[Path, SourceFile] = {}
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            files.setdefault(path, SourceFile.named(path))
            continue
        for found in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = found.relative_to(path)
            if any(part.startswith((".", "~$")) for part in relative.parts):
                continue
            reason = "" if found.suffix.lower() in SUPPORTED_SUFFIXES else unsupported_reason(found)
            files.setdefault(found, SourceFile(found, relative.as_posix(), reason))
    return list(files.values())


def _page_list(pages: Sequence[int]) -> str:
    """ "page 3", or "pages 1-3, 7": runs of consecutive pages joined."""
    runs: list[list[int]] = []
    for page in sorted(pages):
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    shown = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
    return f"page {shown}" if len(pages) == 1 else f"pages {shown}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


ProgressCallback = Callable[[int, int, FileOutcome], None]
# ``chunk_progress(source, done_chunks, total_chunks)``: progress within one file (see ``ingest_one``).
ChunkProgress = Callable[[str, int, int], None]


def ingest_files(
    files: Sequence[SourceFile],
    sink: DocumentSink,
    chunker: Chunker,
    progress: ProgressCallback | None = None,
    *,
    size_limit: FileSizeLimit | None = None,
    chunk_progress: ChunkProgress | None = None,
) -> IngestReport:
    """Ingest ``files`` one by one; ``progress(done, total, outcome)`` is called after each, and
    ``chunk_progress`` within each (see ``ingest_one``). When two files or more are to be read, they are read
    in a parsing process while the one before is embedded and stored (``ingest.parse_ahead``)."""
    hashes: dict[Path, str] = {}
    to_read = [(f.path, f.source) for f in files if _to_be_read(f, sink, size_limit, hashes)]
    ahead = ParseAhead(to_read, chunker) if len(to_read) > 1 else None
    report = IngestReport()
    try:
        for done, file in enumerate(files, start=1):
            outcome = ingest_one(
                file, sink, chunker, size_limit=size_limit, chunk_progress=chunk_progress,
                read=ahead.read if ahead else None, sha=hashes.get(file.path),
            )  # fmt: skip
            log.info("%s: %s %s", outcome.source, outcome.status.value, outcome.message)
            report.outcomes.append(outcome)
            if progress:
                progress(done, len(files), outcome)
    finally:
        if ahead is not None:
            ahead.close()
    return report


def _to_be_read(
    file: SourceFile, sink: DocumentSink, size_limit: FileSizeLimit | None, hashes: dict[Path, str]
) -> bool:
    """Whether ``ingest_one`` will read ``file``, as far as the library can tell before the run stores anything
    (``hashes`` gets its content hash). A file found a duplicate of one stored earlier in the run is read in
    vain; the parsing process then drops it."""
    path = file.path
    try:
        if file.skipped or not path.is_file() or (size_limit and size_limit.refusal(path.stat().st_size)):
            return False
        hashes[path] = file_sha256(path)
    except OSError:
        return False
    return _known(file.source, hashes[path], sink) is None


def _known(source: str, sha: str, sink: DocumentSink) -> tuple[FileStatus, str] | None:
    """(UNCHANGED or DUPLICATE, message) when the library holds these bytes already, else None."""
    stored = sink.document_by_source(source)
    if stored is not None and stored.sha256 == sha:
        return FileStatus.UNCHANGED, "already in the library"
    twin = sink.document_by_sha(sha)
    if twin is not None and twin.source != source:
        return FileStatus.DUPLICATE, f"same content as {twin.source}: not stored twice"
    return None


def ingest_one(
    file: SourceFile,
    sink: DocumentSink,
    chunker: Chunker,
    *,
    size_limit: FileSizeLimit | None = None,
    chunk_progress: ChunkProgress | None = None,
    read: Callable[[Path, str], DocumentChunks] | None = None,
    sha: str | None = None,
) -> FileOutcome:
    """Store ``file`` as a new document or a new version, or say why not (see the module docstring).
    ``read(path, source)`` gives its chunks (``ingest.parse_ahead.read_chunks`` with ``chunker`` by default);
    ``sha``, its content hash when the caller has it already.

    A file larger than ``size_limit`` fails before it is read. ``chunk_progress(source, done_chunks,
    total_chunks)`` is called with 0 done once the file is cut into chunks, then after each batch of chunks is
    embedded and stored, ending with ``done_chunks == total_chunks`` (the document is committed just after);
    it is not called for a file that is skipped, unchanged, a duplicate or unreadable.
    """
    started = time.perf_counter()
    path, source = file.path, file.source

    def outcome(status: FileStatus, message: str = "", pages: int = 0, chunks: int = 0) -> FileOutcome:
        return FileOutcome(path, status, message, pages, chunks, time.perf_counter() - started, source)

    if file.skipped:
        return outcome(FileStatus.SKIPPED, file.skipped)
    if not path.is_file():
        return outcome(FileStatus.FAILED, "no such file: check the path")
    try:
        too_large = size_limit.refusal(path.stat().st_size) if size_limit else None
        if too_large:
            return outcome(FileStatus.FAILED, too_large)
        sha = sha or file_sha256(path)
    except OSError as exc:
        return outcome(FileStatus.FAILED, f"cannot read the file ({exc.strerror}): check its permissions")
    known = _known(source, sha, sink)
    if known is not None:
        return outcome(*known)
    stored = sink.document_by_source(source)

    try:
        # a large file's chunk texts are made batch by batch, as they are stored
        chunks = read(path, source) if read else read_chunks(path, source, chunker)
        document = chunks.document
        if not chunks:
            raise IngestError(source, "no text to index after cleaning")
        if chunk_progress is None:
            sink.add_document(document, chunks)
        else:
            chunk_progress(source, 0, len(chunks))
            sink.add_document(document, chunks, lambda done, total: chunk_progress(source, done, total))
    except IngestError as exc:
        return outcome(FileStatus.FAILED, exc.reason)
    except Exception as exc:  # the batch goes on; the store keeps what it had before this file
        log.exception("storing %s failed", source)
        detail = str(exc) if isinstance(exc, ReadFailed) else f"{type(exc).__name__}: {exc}"
        return outcome(FileStatus.FAILED, f"could not be stored ({detail})")
    status = FileStatus.UPDATED if stored is not None else FileStatus.ADDED
    notes = ["new version replaced the old one"] if stored is not None else []
    if document.ocr_pages:
        notes.append(f"read by OCR: {_page_list(document.ocr_pages)}")
    message = "; ".join(notes)
    return outcome(status, message, document.page_count, len(chunks))
