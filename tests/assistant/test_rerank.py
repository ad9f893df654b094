"""Re-ranking through the real chain and store; the cross-encoder, which no package here ships, is
replaced by a stand-in scorer that prefers passages naming a word the test chooses."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.extractive import ExtractiveComposer
from assistant.answering.pipeline import AnswerPipeline
from assistant.answering.rerank import CrossEncoderScorer
from assistant.errors import ModelNotFound
from assistant.grounding.support import SupportChecker
from ingest.models import Chunk, LoadedDocument, Page
from vectorstore import open_store

PASSAGES = [
    "Police in Lilongwe identified 12 victims of forced labour on tobacco farms in 2022.",
    "Police in Mzuzu identified 30 victims of forced labour on tea estates in 2023.",
    "Police in Zomba identified 7 victims of forced labour in domestic work in 2021.",
]


class PrefersWord:
    """Stand-in for a cross-encoder: 1.0 for a passage containing ``word``, else 0.0."""

    def __init__(self, word: str):
        self.word = word
        self.seen: list[int] = []

    def score(self, question, passages):
        self.seen.append(len(passages))
        return [1.0 if self.word in p else 0.0 for p in passages]


@pytest.fixture
def store(tmp_path, embedder):
    store = open_store(tmp_path / "data", embedder)
    pages = tuple(Page(i + 1, t) for i, t in enumerate(PASSAGES))
    doc = LoadedDocument("police.txt", "Police notes", "a" * 64, pages, "txt")
    store.add_document(doc, [
        Chunk(f"c{i}", doc.doc_id, doc.source, doc.title, i + 1, i + 1, 0, len(t), t, i) for i, t in enumerate(PASSAGES)
    ])
    return store


def test_reranker_orders_a_larger_pool_and_keeps_k(store, embedder):
    scorer = PrefersWord("Zomba")
    pipeline = AnswerPipeline(store, ExtractiveComposer(embedder), top_k=1, checker=SupportChecker(embedder),
                              reranker=scorer)  # fmt: skip
    answer = pipeline.answer("How many victims of forced labour did police identify?")

    assert scorer.seen == [3]  # the whole pool (3 x k, capped by the library) was scored
    assert [p.source for p in answer.retrieved] == ["police.txt"] and answer.retrieved[0].page == 3
    assert "Zomba" in answer.text


def test_without_reranker_the_store_order_stands(store, embedder):
    pipeline = AnswerPipeline(store, ExtractiveComposer(embedder), top_k=1, checker=SupportChecker(embedder))
    answer = pipeline.answer("How many victims on tea estates in Mzuzu?")
    assert answer.retrieved[0].page == 2


def test_reranker_folder_without_a_model_is_named(tmp_path):
    with pytest.raises(ModelNotFound, match="TIP_RERANKER_MODEL=.*no config.json"):
        CrossEncoderScorer(Path(tmp_path))


def test_the_langchain_runnable_gives_the_pipelines_answer(store, embedder):
    pipeline = AnswerPipeline(store, ExtractiveComposer(embedder), top_k=1, checker=SupportChecker(embedder))
    question = "How many victims of forced labour did police identify?"
    through_langchain = pipeline.as_runnable().invoke({"question": question})
    direct = pipeline.answer(question)
    assert through_langchain.text == direct.text and through_langchain.citations == direct.citations
    assert direct.sentences and direct.sentences[0].support is not None  # checked, whichever way it ran
