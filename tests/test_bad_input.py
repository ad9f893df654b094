"""Bad files beside good ones: the good ones become searchable, each bad one is reported by name with its
reason, and nothing of a bad file is stored."""

from __future__ import annotations

import pytest
from pypdf import PdfReader, PdfWriter

from assistant.service import Assistant
from assistant.settings import Settings
from ingest.pipeline import FileStatus
from tests.pdf_factory import make_text_pdf

pytestmark = pytest.mark.integration

GOOD_PDF_PAGES = [
    "Shelter report\nIn 2023 the Lilongwe shelter received 57 survivors of trafficking.\n"
    "Most of them were referred by labour inspectors.",
    "Funding\nThe shelter is funded by three donors until 2026.",
]


@pytest.fixture
def folder(tmp_path):
    docs = tmp_path / "incoming"
    docs.mkdir()
    make_text_pdf(docs / "shelter.pdf", GOOD_PDF_PAGES)
    (docs / "notes.txt").write_text(
        "Field notes. Border officials in Mwanza trained 23 volunteers to spot forced labour.", encoding="utf-8"
    )
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    writer = PdfWriter(clone_from=PdfReader(docs / "shelter.pdf"))
    writer.encrypt("secret", algorithm="RC4-128")
    with (docs / "locked.pdf").open("wb") as handle:
        writer.write(handle)
    (docs / "empty.txt").write_bytes(b"")
    (docs / "copy-of-notes.txt").write_bytes((docs / "notes.txt").read_bytes())
    return docs


def test_good_files_searchable_bad_ones_reported(folder, tmp_path, embedder):
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    report = assistant.ingest([folder])

    status = {o.source: o for o in report.outcomes}
    assert status["shelter.pdf"].status is FileStatus.ADDED and status["shelter.pdf"].pages == 2
    assert {status["notes.txt"].status, status["copy-of-notes.txt"].status} == {FileStatus.ADDED, FileStatus.DUPLICATE}
    assert "damaged or not a real PDF" in status["corrupt.pdf"].message
    assert "encrypted PDF" in status["locked.pdf"].message
    assert "empty file" in status["empty.txt"].message
    assert {o.source for o in report.failed} == {"corrupt.pdf", "locked.pdf", "empty.txt"}
    assert not report.ok

    stored = {d.source for d in assistant.documents()}
    assert stored == {"shelter.pdf", "notes.txt"} or stored == {"shelter.pdf", "copy-of-notes.txt"}

    answer = assistant.ask("How many survivors did the Lilongwe shelter receive in 2023?")
    assert not answer.refused and "57" in answer.text
    assert answer.citations[0].source == "shelter.pdf" and answer.citations[0].page == 1
    answer = assistant.ask("How many volunteers did border officials in Mwanza train?")
    assert "23" in answer.text
