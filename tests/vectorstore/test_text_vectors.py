"""Passage sentences embedded once and kept: the same vectors as fresh ones, nothing embedded twice, kept
across processes' openings, emptied for another model, and never in the way of an answer."""

from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest

from vectorstore.text_vectors import TEXT_VECTORS_FILE, TextVectors

SENTENCES = [
    "In 2022, 120 victims were referred to shelters in Dodoma.",
    "Most of them were women recruited with false offers of work abroad.",
    "The hotline received 4,200 calls, a quarter of them from survivors.",
]


class Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.embedded: list[str] = []

    def encode(self, texts):
        self.embedded.extend(texts)
        return self.embedder.encode(texts)


def test_kept_vectors_match_fresh_ones_and_are_not_embedded_again(embedder, tmp_path):
    counting = Counting(embedder)
    vectors = TextVectors(counting, tmp_path / TEXT_VECTORS_FILE, embedder.identity)
    first = vectors.encode([SENTENCES[0], SENTENCES[1], SENTENCES[0]])
    assert counting.embedded == SENTENCES[:2]  # a repeated text is embedded once
    again = vectors.encode(SENTENCES)
    assert counting.embedded == [*SENTENCES[:2], SENTENCES[2]]  # only the new one
    fresh = embedder.encode(SENTENCES)
    assert again.dtype == np.float32 and again.shape == fresh.shape
    cosines = np.sum(again * fresh, axis=1) / np.linalg.norm(again, axis=1)
    assert cosines.min() > 0.9999
    np.testing.assert_allclose(first[0], first[2])
    assert vectors.count() == 3


def test_vectors_outlive_the_process_and_belong_to_one_model(embedder, tmp_path):
    path = tmp_path / TEXT_VECTORS_FILE
    TextVectors(embedder, path, embedder.identity).encode(SENTENCES)
    reopened = Counting(embedder)
    kept = TextVectors(reopened, path, embedder.identity)
    kept.encode(SENTENCES)
    assert reopened.embedded == []  # a new opening (another process) finds them
    other = Counting(embedder)
    assert TextVectors(other, path, "another-model").count() == 0  # another model's vectors are dropped
    TextVectors(other, path, "another-model").encode(SENTENCES[:1])
    assert other.embedded == SENTENCES[:1]


def test_a_folder_that_cannot_keep_them_still_gets_vectors(embedder, tmp_path, caplog):
    if os.geteuid() == 0:
        missing = tmp_path / "no-such-folder" / TEXT_VECTORS_FILE  # root writes anywhere: an absent folder
    else:
        tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
        missing = tmp_path / TEXT_VECTORS_FILE
    try:
        vectors = TextVectors(embedder, missing, embedder.identity)
        out = vectors.encode(SENTENCES)
    finally:
        tmp_path.chmod(stat.S_IRWXU)
    np.testing.assert_allclose(out, embedder.encode(SENTENCES), atol=1e-2)
    assert vectors.count() == 0
    assert "not kept" in caplog.text


def test_a_locked_file_skips_keeping_without_failing(embedder, tmp_path, monkeypatch):
    import vectorstore.text_vectors as module

    monkeypatch.setattr(module, "BUSY_TIMEOUT_MS", 50)
    path = tmp_path / TEXT_VECTORS_FILE
    vectors = TextVectors(embedder, path, embedder.identity)
    vectors.encode(SENTENCES[:1])
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        out = vectors.encode(SENTENCES)
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    assert out.shape == (3, 384)


@pytest.mark.parametrize("texts", [[], ["one sentence"]])
def test_empty_and_single_inputs_keep_their_shape(embedder, tmp_path, texts):
    out = TextVectors(embedder, tmp_path / TEXT_VECTORS_FILE, embedder.identity).encode(texts)
    assert out.shape == (len(texts), 384)
