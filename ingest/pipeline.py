"""Incremental ingest of files into any store that follows ``DocumentSink``.

A document is identified by its file name and versioned by the hash of its bytes: unchanged files are
skipped after hashing (no parsing), a changed file replaces its old version, and the same bytes under
another name are reported as a duplicate. A file that fails is reported with its reason and the batch goes on;
nothing of a failed file is stored, because the sink stores a document whole or not at all.
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

from ingest.chunking import Chunker
from ingest.errors import IngestError
from ingest.loaders import SUPPORTED_SUFFIXES, load_file
from ingest.models import Chunk, LoadedDocument, doc_id_for

log = logging.getLogger(__name__)


class FileStatus(Enum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    status: FileStatus
    message: str = ""
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0

    @property
    def source(self) -> str:
        return self.path.name

    @property
    def doc_id(self) -> str:
        return doc_id_for(self.path.name)


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

    def add_document(self, document: LoadedDocument, chunks: Sequence[Chunk]) -> None: ...


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly (whatever their type, so an unsupported one gets reported) and, for folders,
    the supported files inside them, recursively, in a stable order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


ProgressCallback = Callable[[int, int, FileOutcome], None]


def ingest_files(
    files: Sequence[Path], sink: DocumentSink, chunker: Chunker, progress: ProgressCallback | None = None
) -> IngestReport:
    """Ingest ``files`` one by one; ``progress(done, total, outcome)`` is called after each."""
    report = IngestReport()
    for done, path in enumerate(files, start=1):
        outcome = ingest_one(path, sink, chunker)
        log.info("%s: %s %s", outcome.source, outcome.status.value, outcome.message)
        report.outcomes.append(outcome)
        if progress:
            progress(done, len(files), outcome)
    return report


def ingest_one(path: Path, sink: DocumentSink, chunker: Chunker) -> FileOutcome:
    started = time.perf_counter()

    def outcome(status: FileStatus, message: str = "", pages: int = 0, chunks: int = 0) -> FileOutcome:
        return FileOutcome(path, status, message, pages, chunks, time.perf_counter() - started)

    if not path.is_file():
        return outcome(FileStatus.FAILED, "no such file: check the path")
    try:
        sha = file_sha256(path)
    except OSError as exc:
        return outcome(FileStatus.FAILED, f"cannot read the file ({exc.strerror}): check its permissions")

    stored = sink.document_by_source(path.name)
    if stored is not None and stored.sha256 == sha:
        return outcome(FileStatus.UNCHANGED, "already in the library")
    twin = sink.document_by_sha(sha)
    if twin is not None and twin.source != path.name:
        return outcome(FileStatus.DUPLICATE, f"same content as {twin.source}: not stored twice")

    try:
        document = load_file(path)
        chunks = chunker.chunk(document)
        if not chunks:
            raise IngestError(path.name, "no text to index after cleaning")
        sink.add_document(document, chunks)
    except IngestError as exc:
        return outcome(FileStatus.FAILED, exc.reason)
    except Exception as exc:  # the batch goes on; the store keeps what it had before this file
        log.exception("storing %s failed", path.name)
        return outcome(FileStatus.FAILED, f"could not be stored ({type(exc).__name__}: {exc})")
    status = FileStatus.UPDATED if stored is not None else FileStatus.ADDED
    message = "new version replaced the old one" if stored is not None else ""
    return outcome(status, message, document.page_count, len(chunks))
