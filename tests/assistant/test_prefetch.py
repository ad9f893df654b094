"""Sentence vectors computed ahead: once the background pass is through, a question embeds no sentence of a
passage (only itself), its answer is the one computed without them, and the pass waits while the cores are
busy and takes up documents added later."""

from __future__ import annotations

import threading

import pytest

from assistant.answering.extractive import sentence_contexts
from assistant.answering.prefetch import SentenceVectorPrefetch
from assistant.service import Assistant
from assistant.settings import Settings
from vectorstore.text_vectors import TEXT_VECTORS_FILE, TextVectors

SHELTER_REPORT = """Shelter report, Dodoma region

In 2022, the Dodoma shelter received 120 survivors of trafficking. Most of them were women recruited with
false offers of domestic work abroad. They were referred by labour inspectors and by the police.

The shelter offers legal aid, medical care and vocational training. In 2023, it trained 45 survivors.
"""

HOTLINE_NOTE = """Hotline note

The national hotline received 4,200 calls in 2023. A quarter of the calls came from survivors themselves.
Calls about forced labour in agriculture doubled between 2021 and 2023.
"""


class Counting:
    """The real embedder, noting every text it is asked to embed."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.embedded: list[str] = []
        self._lock = threading.Lock()

    def encode(self, texts):
        with self._lock:
            self.embedded.extend(texts)
        return self.embedder.encode(texts)


@pytest.fixture
def library(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shelter-report.txt").write_text(SHELTER_REPORT, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    assistant.ingest([docs / "shelter-report.txt"])
    return assistant, docs


def contexts_of(assistant: Assistant) -> set[str]:
    chunks = assistant.catalog.chunks(assistant.catalog.chunk_ids())
    return {text for chunk in chunks.values() for text in sentence_contexts(chunk)}


def test_after_the_pass_a_question_embeds_only_itself_and_answers_as_before(library, embedder, tmp_path):
    assistant, _ = library
    question = "How many survivors did the Dodoma shelter receive in 2022?"
    before = assistant.ask(question)
    # a library opened afresh, its passage vectors counted
    fresh = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    counting = Counting(embedder)
    fresh.passage_vectors = TextVectors(counting, tmp_path / "data" / TEXT_VECTORS_FILE, embedder.identity)
    prefetch = fresh.prefetch_sentence_vectors()
    assert prefetch.done.wait(timeout=60)
    assert set(counting.embedded) <= contexts_of(fresh)
    counting.embedded.clear()
    after = fresh.ask(question)
    assert counting.embedded == []  # every passage sentence was kept ahead, or by the first answer
    assert [s.text for s in after.sentences] == [s.text for s in before.sentences]
    assert "120 survivors" in after.text
    prefetch.stop()


def test_the_pass_waits_while_the_cores_are_busy_and_takes_up_new_documents(library, embedder, tmp_path):
    assistant, docs = library
    counting = Counting(embedder)
    vectors = TextVectors(counting, tmp_path / "kept.sqlite3", embedder.identity)
    free = threading.Event()
    prefetch = SentenceVectorPrefetch(assistant.catalog, vectors, free.is_set).start()
    try:
        assert not prefetch.done.wait(timeout=1.0)  # a question is being answered: nothing is embedded
        assert counting.embedded == []
        free.set()
        assert prefetch.done.wait(timeout=60)
        first = contexts_of(assistant)
        assert set(counting.embedded) == first
        (docs / "hotline-note.txt").write_text(HOTLINE_NOTE, encoding="utf-8")
        assistant.ingest([docs / "hotline-note.txt"])
        prefetch.library_changed()
        assert prefetch.done.wait(timeout=60)
        assert set(counting.embedded) == contexts_of(assistant)
        assert any("4,200 calls" in text for text in counting.embedded)
    finally:
        prefetch.stop()
