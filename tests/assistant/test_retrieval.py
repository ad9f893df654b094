"""Retrieval for compound questions, on a real store in a temp folder."""

from __future__ import annotations

import pytest

from assistant.answering.conversation import RetrievalQuery, condense
from assistant.answering.retrieval import retrieve
from ingest.models import Chunk, LoadedDocument, Page
from vectorstore import open_store

CAMP = [
    "UNODC mentored police officers at the Dzaleka Refugee Camp in Malawi in 2024.",
    "At the Dzaleka Refugee Camp, 87 victims of trafficking were identified and rescued.",
    "Refugees at the Dzaleka camp in Malawi received information on trafficking risks.",
    "The Dzaleka Refugee Camp hosts people who fled conflict in the Great Lakes region.",
    "Police in Malawi screened new arrivals at the Dzaleka camp for signs of trafficking.",
]
MINES = "In Mali, between April 2020 and April 2022, 21 different armed groups recruited children."


def add(store, source: str, texts: list[str]) -> None:
    doc = LoadedDocument(source, source, (source * 64)[:64], tuple(Page(i + 1, t) for i, t in enumerate(texts)), "txt")
    chunks = [
        Chunk(f"{source}-{i}", doc.doc_id, source, source, i + 1, i + 1, 0, len(t), t, i) for i, t in enumerate(texts)
    ]
    store.add_document(doc, chunks)


@pytest.fixture
def store(tmp_path, embedder):
    store = open_store(tmp_path / "data", embedder)
    add(store, "camp.txt", CAMP)
    add(store, "mali.txt", [MINES])
    return store


QUESTION = (
    "How many victims of trafficking did police identify at the Dzaleka Refugee Camp in Malawi, "
    "and how many groups recruited children?"
)


def test_each_part_of_a_compound_question_reaches_its_passages(store):
    query = condense(QUESTION, [])
    assert query.parts == (
        "How many victims of trafficking did police identify at the Dzaleka Refugee Camp in Malawi",
        "how many groups recruited children?",
    )
    whole_only = [r.chunk.text for r in store.search(query.text, k=3)]
    assert MINES not in whole_only  # the camp passages fill the first three
    found = [r.chunk.text for r in retrieve(store, query, k=3)]
    assert len(found) == 3 and MINES in found
    assert found[0] == whole_only[0]  # the whole question's best passage stays first


def test_a_one_part_question_is_one_search(store):
    query = condense("How many victims were identified at the Dzaleka camp?", [])
    assert query.parts == ()
    assert [r.chunk.chunk_id for r in retrieve(store, query, k=3)] == [
        r.chunk.chunk_id for r in store.search(query.text, k=3)
    ]


def test_a_follow_up_is_not_split(store):
    history = [{"role": "user", "content": "What happened at Dzaleka?"}, {"role": "assistant", "content": "87."}]
    query = condense("And how many were women, and how many were children?", history)
    assert query.is_followup and query.parts == ()


def test_parts_never_repeat_a_passage(store):
    query = RetrievalQuery("Dzaleka camp trafficking", False, ("Dzaleka camp", "trafficking at Dzaleka"))
    found = retrieve(store, query, k=6)
    assert len({r.chunk.chunk_id for r in found}) == len(found) == 6
