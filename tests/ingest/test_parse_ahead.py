"""Files read in a parsing process while the one before is stored: the same chunks as reading them here, a
file's error as it would be here, and reading here again whenever the process cannot do it."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time

import pytest

import ingest.pipeline
from assistant.worker_start import cores_taken_by_workers
from ingest.chunking import Chunker
from ingest.errors import IngestError
from ingest.parse_ahead import ParseAhead, read_chunks
from ingest.pipeline import FileStatus, SourceFile, ingest_files
from tests.ingest.test_pipeline import MemorySink, words, write_report
from tests.pdf_factory import make_text_pdf

CHUNKER = Chunker(words, target_words=20, min_words=5)


def reports(tmp_path, count: int) -> list[tuple]:
    """``count`` text files of different lengths, as (path, source) pairs."""
    pairs = []
    for n in range(count):
        path = tmp_path / f"report-{n}.txt"
        write_report(path, 3 + 4 * n)
        pairs.append((path, path.name))
    return pairs


def same_chunks(read, expected) -> None:
    assert list(read) == list(expected)
    assert read.document == expected.document


def test_files_read_ahead_give_the_chunks_reading_them_here_gives(tmp_path):
    pairs = reports(tmp_path, 3)
    pages = ["Page one of the brief names 12 shelters.", "Page two counts 40 survivors."]
    pdf = make_text_pdf(tmp_path / "brief.pdf", pages)
    pairs.append((pdf, pdf.name))
    with ParseAhead(pairs, CHUNKER) as ahead:
        workers = {p.pid for p in multiprocessing.active_children()}
        assert workers  # the files are read in another process
        for path, source in pairs:
            same_chunks(ahead.read(path, source), read_chunks(path, source, CHUNKER))


def slow_words(text: str) -> int:
    """A token counter slow enough that the parsing process is seen reading."""
    time.sleep(0.05)
    return words(text)


def test_a_reading_process_counts_as_a_core_taken_until_its_files_are_read(tmp_path):
    """While the process reads, it counts as a core taken (the embedding leaves it that core), and no longer
    once the files are read or the reading is closed."""
    pairs = reports(tmp_path, 3)
    chunker = Chunker(slow_words, target_words=20, min_words=5)
    assert cores_taken_by_workers() == 0
    with ParseAhead(pairs, chunker) as ahead:
        assert cores_taken_by_workers() == 1
        for path, source in pairs:
            same_chunks(ahead.read(path, source), read_chunks(path, source, chunker))
        assert cores_taken_by_workers() == 0
    with ParseAhead(pairs, chunker):  # closed with files still being read
        assert cores_taken_by_workers() == 1
    assert cores_taken_by_workers() == 0


def test_a_file_that_cannot_be_read_raises_its_own_reason(tmp_path):
    pairs = reports(tmp_path, 1)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is no PDF at all")
    pairs.insert(0, (broken, "reports/broken.pdf"))
    with pytest.raises(IngestError) as here:
        read_chunks(broken, "reports/broken.pdf", CHUNKER)
    with ParseAhead(pairs, CHUNKER) as ahead:
        with pytest.raises(IngestError) as there:
            ahead.read(broken, "reports/broken.pdf")
        assert str(there.value) == str(here.value) and there.value.reason == here.value.reason
        same_chunks(ahead.read(*pairs[1]), read_chunks(*pairs[1], CHUNKER))


def test_files_not_asked_for_are_passed_over(tmp_path):
    pairs = reports(tmp_path, 5)
    with ParseAhead(pairs, CHUNKER) as ahead:
        for path, source in (pairs[2], pairs[4]):  # 0, 1 and 3 turned out unchanged or duplicates
            same_chunks(ahead.read(path, source), read_chunks(path, source, CHUNKER))


def test_a_parsing_process_that_dies_leaves_the_files_to_this_one(tmp_path):
    pairs = reports(tmp_path, 4)
    with ParseAhead(pairs, CHUNKER) as ahead:
        same_chunks(ahead.read(*pairs[0]), read_chunks(*pairs[0], CHUNKER))
        children = multiprocessing.active_children()
        assert children
        for child in children:
            os.kill(child.pid, signal.SIGKILL)
            child.join(10)
        for path, source in pairs[1:]:
            same_chunks(ahead.read(path, source), read_chunks(path, source, CHUNKER))


def test_a_chunker_that_cannot_be_sent_is_used_here(tmp_path):
    pairs = reports(tmp_path, 2)
    local = Chunker(lambda text: len(text.split()), target_words=20, min_words=5)  # a lambda does not pickle
    with ParseAhead(pairs, local) as ahead:
        assert not multiprocessing.active_children()
        for path, source in pairs:
            same_chunks(ahead.read(path, source), read_chunks(path, source, CHUNKER))


def test_an_ingest_reads_ahead_only_files_it_will_store(tmp_path, monkeypatch):
    pairs = reports(tmp_path, 3)
    twin = tmp_path / "copy-of-report-0.txt"
    twin.write_bytes(pairs[0][0].read_bytes())
    files = [SourceFile.named(path) for path, _ in pairs] + [SourceFile.named(twin)]
    asked: list[list[str]] = []

    class Spy(ParseAhead):
        def __init__(self, paths, chunker):
            asked.append([source for _, source in paths])
            super().__init__(paths, chunker)

    monkeypatch.setattr(ingest.pipeline, "ParseAhead", Spy)
    sink = StoringSink()
    first = ingest_files(files, sink, CHUNKER)
    assert [o.status for o in first.outcomes] == [FileStatus.ADDED] * 3 + [FileStatus.DUPLICATE]
    # the copy was read ahead in vain: its twin is stored by the same run
    assert asked == [["report-0.txt", "report-1.txt", "report-2.txt", "copy-of-report-0.txt"]]
    for path, source in pairs:
        assert sink.chunks[source] == list(read_chunks(path, source, CHUNKER))

    write_report(pairs[1][0], 2)  # one file changed: nothing to overlap, no process
    again = ingest_files(files, sink, CHUNKER)
    assert [o.status for o in again.outcomes] == [
        FileStatus.UNCHANGED, FileStatus.UPDATED, FileStatus.UNCHANGED, FileStatus.DUPLICATE,
    ]  # fmt: skip
    assert len(asked) == 1


class StoringSink(MemorySink):
    """A ``MemorySink`` that remembers what it stored, so that unchanged files and duplicates are found."""

    def __init__(self):
        super().__init__()
        self.versions: dict[str, object] = {}
        self.chunks: dict[str, list] = {}

    def document_by_source(self, source):
        return self.versions.get(source)

    def document_by_sha(self, sha256):
        return next((v for v in self.versions.values() if v.sha256 == sha256), None)

    def add_document(self, document, chunks, progress=None):
        super().add_document(document, chunks, progress)
        self.versions[document.source] = document
        self.chunks[document.source] = list(chunks)


def count_and_warn(text: str) -> int:
    logging.getLogger("ingest.pdf").warning("page 3 could not be read")
    return words(text)


def test_the_parsing_process_warns_in_the_format_of_the_command(tmp_path, capfd):
    pairs = reports(tmp_path, 2)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    root.handlers, root.level = [handler], logging.WARNING
    try:
        with ParseAhead(pairs, Chunker(count_and_warn, target_words=20, min_words=5)) as ahead:
            ahead.read(*pairs[0])
    finally:
        root.handlers, root.level = kept
    assert "WARNING ingest.pdf: page 3 could not be read" in capfd.readouterr().err
