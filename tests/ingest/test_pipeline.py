"""The ingest pipeline against an in-memory sink: the size limit and progress within a file."""

from __future__ import annotations

import pytest

import ingest.pipeline
from ingest.chunking import Chunker
from ingest.pipeline import MEGABYTE, FileSizeLimit, FileStatus, SourceFile, ingest_files


class MemorySink:
    """Keeps documents in a dict; reports progress in batches of ``batch_size`` chunks like the real store."""

    def __init__(self, batch_size: int = 2):
        self.batch_size = batch_size
        self.documents: dict[str, tuple] = {}

    def document_by_source(self, source):
        return None

    def document_by_sha(self, sha256):
        return None

    def add_document(self, document, chunks, progress=None):
        for start in range(0, len(chunks), self.batch_size):
            if progress:
                progress(min(start + self.batch_size, len(chunks)), len(chunks))
        self.documents[document.source] = (document, list(chunks))


def words(text: str) -> int:
    return len(text.split())


PARAGRAPH = "Inspectors visited {n} fishing camps and found {m} children working on the boats in {year}."


def write_report(path, paragraphs: int) -> None:
    text = "\n\n".join(PARAGRAPH.format(n=n, m=3 * n + 1, year=2000 + n) for n in range(paragraphs))
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("megabytes", "size", "shown"), [(100, 120 * MEGABYTE, "120"), (1, 3 * MEGABYTE // 2, "1.5")])
def test_a_size_over_the_limit_is_refused_with_the_size_the_limit_and_what_to_do(megabytes, size, shown):
    limit = FileSizeLimit(megabytes, "TIP_MAX_UPLOAD_MB")
    assert limit.refusal(size) == (
        f"the file is {shown} MB, over the {megabytes} MB limit (TIP_MAX_UPLOAD_MB): split it, or raise the limit"
    )
    assert limit.refusal(megabytes * MEGABYTE) is None  # the limit itself is allowed
    over = limit.refusal(megabytes * MEGABYTE + 1)
    assert over is not None and f"is {megabytes} MB" not in over  # never shown as equal to the limit
    unnamed = FileSizeLimit(megabytes).refusal(size)
    assert unnamed.endswith(f"over the {megabytes} MB limit: split it, or raise the limit")


def test_a_file_over_the_limit_fails_unread_and_the_batch_goes_on(tmp_path, monkeypatch):
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    big.write_bytes(b"x" * (MEGABYTE + 1))
    write_report(small, 3)
    read = []
    real_sha256 = ingest.pipeline.file_sha256
    monkeypatch.setattr(ingest.pipeline, "file_sha256", lambda path: read.append(path.name) or real_sha256(path))
    sink = MemorySink()

    report = ingest_files(
        [SourceFile.named(big), SourceFile.named(small)], sink, Chunker(words), size_limit=FileSizeLimit(1)
    )

    assert [o.status for o in report.outcomes] == [FileStatus.FAILED, FileStatus.ADDED]
    assert "over the 1 MB limit" in report.outcomes[0].message
    assert read == ["small.txt"] and list(sink.documents) == ["small.txt"]


def test_without_a_limit_a_large_file_is_read(tmp_path):
    big = tmp_path / "big.txt"
    write_report(big, 3)
    report = ingest_files([SourceFile.named(big)], MemorySink(), Chunker(words))
    assert report.outcomes[0].status is FileStatus.ADDED


def test_chunk_progress_names_the_file_starts_at_zero_and_ends_at_its_chunk_count(tmp_path):
    files = []
    for name, paragraphs in (("a.txt", 9), ("b.txt", 2)):
        write_report(tmp_path / name, paragraphs)
        files.append(SourceFile.named(tmp_path / name))
    calls: list[tuple[str, int, int]] = []
    sink = MemorySink(batch_size=2)

    report = ingest_files(
        files, sink, Chunker(words, target_words=20, min_words=5), chunk_progress=lambda *call: calls.append(call)
    )

    for outcome in report.outcomes:
        total = len(sink.documents[outcome.source][1])
        assert outcome.chunks == total
        mine = [(done, all_) for source, done, all_ in calls if source == outcome.source]
        expected = [0, *(min(start + 2, total) for start in range(0, total, 2))]
        assert mine == [(done, total) for done in expected]
    assert report.outcomes[0].chunks > 2 * sink.batch_size  # several batches
