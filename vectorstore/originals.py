"""The original file of each document, kept in the data folder so that a cited page can be shown as printed and
the file downloaded: ``originals/<doc_id>/<file name>``.

A copy is written when a document is added or updated, and when an unchanged file is ingested again into a
library that holds no good copy of it (a library ingested before copies were kept gains them so); it is
deleted with its document. A copy is a convenience, never a condition: one that cannot be written or deleted
is logged and passed over, and one that is missing, or holds other bytes than the stored version (its SHA-256
against the catalogue's), counts as absent, so a process killed between storing a document and copying it
leaves nothing wrong behind. Copies are written under a temporary name and renamed into place, so a reader
never sees half a file.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path, PurePosixPath

from ingest.pipeline import FileOutcome, FileStatus, file_sha256

log = logging.getLogger(__name__)

ORIGINALS_DIR = "originals"  # in the data folder
_PARTIAL = ".partial-"  # the prefix of a copy being written


class Originals:
    """The kept original files under ``folder`` (``DATA_DIR/originals``), one folder per document id."""

    def __init__(self, folder: Path):
        self.folder = folder

    def keep(self, outcomes: Iterable[FileOutcome]) -> None:
        """Copy the file of each outcome that stored a document (added or updated), and of each unchanged one
        that has no good copy yet; other outcomes are left alone. Never raises: a copy that fails is logged."""
        for outcome in outcomes:
            if outcome.status in (FileStatus.ADDED, FileStatus.UPDATED):
                self._copy(outcome)
            elif outcome.status is FileStatus.UNCHANGED and not self._holds_copy_of(outcome):
                self._copy(outcome)

    def find(self, doc_id: str, sha256: str) -> Path | None:
        """The kept copy of document ``doc_id`` when it holds the version whose bytes hash to ``sha256``, else
        None (none kept, unreadable, or another version)."""
        try:
            copies = [p for p in (self.folder / doc_id).iterdir() if not p.name.startswith(_PARTIAL)]
            if len(copies) == 1 and _sha256(copies[0]) == sha256:
                return copies[0]
        except OSError:
            pass
        return None

    def discard(self, doc_id: str) -> None:
        """Delete the copy of document ``doc_id``, if any. Never raises: a deletion that fails is logged."""
        try:
            shutil.rmtree(self.folder / doc_id)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("the original file of %s could not be deleted (%s)", doc_id, exc)

    def _holds_copy_of(self, outcome: FileOutcome) -> bool:
        try:
            return self.find(outcome.doc_id, _sha256(outcome.path)) is not None
        except OSError:
            return False

    def _copy(self, outcome: FileOutcome) -> None:
        folder = self.folder / outcome.doc_id
        name = PurePosixPath(outcome.source).name  # the name the download offers
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(prefix=_PARTIAL, dir=folder)
            os.close(handle)
            try:
                shutil.copyfile(outcome.path, partial)
                os.replace(partial, folder / name)
            finally:
                Path(partial).unlink(missing_ok=True)
            for other in folder.iterdir():  # an older copy under another name, a copy left half-written
                if other.name != name:
                    other.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("%s: the original file could not be kept for viewing (%s)", outcome.source, exc)


def _sha256(path: Path) -> str:
    stat = path.stat()
    return _cached_sha256(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(Path(path))
