"""The original files kept beside the library, through ``Assistant.ingest`` and ``Assistant.remove`` on real
temporary libraries: a copy per stored version, replaced on update, deleted on removal, and never a reason
for an ingest or a removal to fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import Settings
from tests.pdf_factory import make_text_pdf
from vectorstore.originals import ORIGINALS_DIR

NOTES = "Field notes. The shelter in the northern district hosted twelve survivors of labour exploitation.\n"
REVISED = "Field notes, revised. The shelter hosted fourteen survivors of labour exploitation in the year.\n"


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    (folder / "2023").mkdir(parents=True)
    (folder / "2023" / "notes.txt").write_text(NOTES, encoding="utf-8")
    make_text_pdf(folder / "report.pdf", ["The field office received 96 referrals of trafficking victims."])
    return folder


@pytest.fixture
def library(tmp_path, embedder) -> Assistant:
    return Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)


def original(library: Assistant, source: str) -> Path | None:
    doc = library.find_document(source)
    return library.originals.find(doc.doc_id, doc.sha256)


@pytest.mark.integration
def test_each_added_document_keeps_a_copy_under_its_id_with_its_file_name(library, docs, tmp_path):
    assert library.ingest([docs]).ok
    notes, report = original(library, "2023/notes.txt"), original(library, "report.pdf")

    assert notes is not None and notes.read_bytes() == (docs / "2023" / "notes.txt").read_bytes()
    assert report is not None and report.read_bytes() == (docs / "report.pdf").read_bytes()
    doc_id = library.find_document("report.pdf").doc_id
    assert report == tmp_path / "data" / ORIGINALS_DIR / doc_id / "report.pdf"
    assert notes.name == "notes.txt"  # the file name, without the folder it was found in


@pytest.mark.integration
def test_an_updated_document_replaces_its_copy(library, docs):
    library.ingest([docs])
    before = library.find_document("2023/notes.txt")
    (docs / "2023" / "notes.txt").write_text(REVISED, encoding="utf-8")
    library.ingest([docs])

    kept = original(library, "2023/notes.txt")
    assert kept is not None and kept.read_text(encoding="utf-8") == REVISED
    assert library.originals.find(before.doc_id, before.sha256) is None  # the old version is gone
    assert [p.name for p in kept.parent.iterdir()] == ["notes.txt"]  # one copy, nothing half-written


@pytest.mark.integration
def test_a_removed_document_loses_its_copy(library, docs, tmp_path):
    library.ingest([docs])
    doc = library.find_document("report.pdf")
    library.remove("report.pdf")

    assert library.originals.find(doc.doc_id, doc.sha256) is None
    assert not (tmp_path / "data" / ORIGINALS_DIR / doc.doc_id).exists()
    assert original(library, "2023/notes.txt") is not None  # the other document keeps its own


@pytest.mark.integration
def test_a_library_ingested_before_copies_were_kept_has_none_until_its_files_are_ingested_again(
    library, docs, tmp_path
):
    library.ingest([docs])
    shutil.rmtree(tmp_path / "data" / ORIGINALS_DIR)  # as a library written before this folder existed

    assert original(library, "report.pdf") is None and original(library, "2023/notes.txt") is None
    report = library.ingest([docs])
    assert {o.status.value for o in report.outcomes} == {"unchanged"}
    assert original(library, "report.pdf").read_bytes() == (docs / "report.pdf").read_bytes()


@pytest.mark.integration
def test_a_copy_that_is_not_the_stored_version_counts_as_absent_and_is_mended(library, docs):
    library.ingest([docs])
    kept = original(library, "2023/notes.txt")
    kept.write_text(REVISED, encoding="utf-8")  # e.g. killed after storing a version, before copying it

    assert original(library, "2023/notes.txt") is None
    library.ingest([docs])  # unchanged: the copy is written again
    assert original(library, "2023/notes.txt").read_text(encoding="utf-8") == NOTES


@pytest.mark.integration
def test_a_copy_that_cannot_be_written_costs_nothing_but_the_copy(library, docs, tmp_path, caplog):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / ORIGINALS_DIR).write_text("not a folder", encoding="utf-8")

    report = library.ingest([docs])
    assert report.ok and {o.status.value for o in report.outcomes} == {"added"}
    assert original(library, "report.pdf") is None
    assert "could not be kept" in caplog.text
    assert library.remove("report.pdf").source == "report.pdf"  # and removal goes on
