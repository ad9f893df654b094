"""Question vectors: kept for the texts one answer asks for again, embedded together for a compound question."""

from __future__ import annotations

import numpy as np

from vectorstore.embeddings import QUERY_CACHE_SIZE, Embedder


def test_the_texts_of_a_compound_question_are_embedded_in_one_pass_and_kept(embedder, monkeypatch):
    fresh = Embedder(embedder.model_dir, graph_dir=embedder.graph_dir)
    fresh._graph = embedder._graph  # the loaded model, shared (a second compile would take a second)
    passes: list[list[str]] = []
    real_encode = fresh.encode
    monkeypatch.setattr(fresh, "encode", lambda texts: passes.append(list(texts)) or real_encode(texts))

    texts = ["Where were victims recruited?", "Which sectors?", "Where were victims recruited?"]
    vectors = fresh.encode_queries(texts)

    assert passes == [["Where were victims recruited?", "Which sectors?"]]  # one pass, each text once
    assert vectors[0] is vectors[2] and not vectors[0].flags.writeable
    again = fresh.encode_query("Which sectors?")
    assert again is vectors[1] and len(passes) == 1  # kept: not embedded again
    np.testing.assert_allclose(again, embedder.encode(["Which sectors?"])[0], atol=1e-2)


def test_only_the_last_texts_are_kept(embedder):
    fresh = Embedder(embedder.model_dir, graph_dir=embedder.graph_dir)
    fresh._graph = embedder._graph
    fresh.encode_queries([f"question {n}" for n in range(QUERY_CACHE_SIZE + 5)])
    assert len(fresh._query_vectors) == QUERY_CACHE_SIZE
    assert "question 0" not in fresh._query_vectors and f"question {QUERY_CACHE_SIZE + 4}" in fresh._query_vectors
