"""What the front ends hand out and take in the same way: the JSON shapes of a checked sentence, a cited
text, a document and an ingest outcome, and uploaded files staged for ingest under safe names."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from assistant.types import citation_dict
from ingest.pipeline import FileOutcome, FileStatus
from vectorstore.catalog import DocumentRecord

if TYPE_CHECKING:  # the drafting stack loads when a cited text is made, not for every command
    from assistant.drafting.drafts import CitedText
    from assistant.grounding.support import CheckedSentence

SAME_NAME = "another file in this upload has the same name: rename one and add it again"
NO_NAME = "the upload has no usable file name: give the file a name such as report.pdf"


def checked_dict(checked: CheckedSentence) -> dict:
    """A sentence checked against the library (``verify --json``, ``POST /api/v1/verify``)."""
    s = checked.support
    return {
        "text": checked.text,
        "label": s.label.value,
        "score": s.score,
        "source": s.source or None,
        "page": s.page or None,
        "start": s.start if s.quote else None,
        "end": s.end if s.quote else None,
        "quote": s.quote or None,
    }


def cited_dict(cited: CitedText) -> dict:
    """A cited summary or draft: its Markdown, and the same as data (sections of sentences with the numbers
    of their notes, the notes with their quotes, the documents cited)."""
    from assistant.drafting.export import to_markdown

    return {
        "title": cited.title,
        "markdown": to_markdown(cited),
        "sections": [
            {
                "heading": section.heading,
                "paragraphs": [
                    [{"text": s.text, "notes": list(s.notes), "label": s.label} for s in paragraph]
                    for paragraph in section.paragraphs
                ],
            }
            for section in cited.sections
        ],
        "notes": [citation_dict(note) for note in cited.notes],
        "references": [asdict(r) for r in cited.references()],
        "notices": list(cited.notices),
    }


def document_dict(document: DocumentRecord) -> dict:
    """A library document (``docs --json``, ``GET /api/v1/documents``)."""
    return asdict(document)


def outcome_dict(outcome: FileOutcome) -> dict:
    """What became of one file of an ingest."""
    return {
        "source": outcome.source or outcome.path.name,
        "status": outcome.status.value,
        "message": outcome.message or None,
        "pages": outcome.pages,
        "chunks": outcome.chunks,
    }


def safe_name(name: str | None) -> str | None:
    """A file name reduced to its base name, whichever separators it was written with ("../../x.pdf" and
    "C:\\\\docs\\\\x.pdf" give "x.pdf"); None when nothing usable is left."""
    if not name:
        return None
    base = PureWindowsPath(PurePosixPath(name).name).name.strip()
    return None if base in ("", ".", "..") or base.startswith(".") else base


def stage_uploads(uploads: Iterable[tuple[str | None, Path]], folder: Path) -> tuple[list[Path], list[FileOutcome]]:
    """Copy each upload (its name as sent, where it was saved) into ``folder`` under its safe base name (the
    library knows a document by its file name); a second upload with a name already taken in this batch,
    or one without a usable name, is reported instead."""
    staged: list[Path] = []
    refused: list[FileOutcome] = []
    for name, saved in uploads:
        base = safe_name(name)
        if base is None:
            refused.append(FileOutcome(Path(name or "upload"), FileStatus.FAILED, NO_NAME))
            continue
        target = folder / base
        if target.exists():
            refused.append(FileOutcome(Path(base), FileStatus.FAILED, SAME_NAME))
            continue
        shutil.copyfile(saved, target)
        staged.append(target)
    return staged, refused
