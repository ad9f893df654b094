"""The embedder shared by threads: a lone encoding spreads its texts over helper threads and keeps their
order; encodings that run at the same time each keep to their own thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vectorstore.embeddings import SPLIT_MIN_TEXTS, SPREAD_ROUND_TEXTS, Embedder

TEXTS = [f"Passage {n}: " + "the shelter referred survivors to legal aid " * (1 + n % 5) for n in range(40)]


class RecordingModel:
    """Stands in for the loaded model: a text's vector is its length, and each call notes its thread."""

    def __init__(self, hold: threading.Event | None = None, entered: threading.Event | None = None):
        self.calls: list[tuple[int, int]] = []  # (thread id, number of texts)
        self.hold, self.entered = hold, entered
        self._lock = threading.Lock()

    def encode(self, texts, **_options) -> np.ndarray:
        with self._lock:
            self.calls.append((threading.get_ident(), len(texts)))
        if self.entered is not None:
            self.entered.set()
        if self.hold is not None:
            assert self.hold.wait(timeout=30)
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)


def embedder_with(model: RecordingModel, threads: int) -> Embedder:
    embedder = Embedder(threads=threads)
    embedder._model = model  # as loaded: warm_up has nothing left to do
    return embedder


def test_a_lone_encoding_spreads_over_the_threads_and_keeps_the_order():
    model = RecordingModel()
    vectors = embedder_with(model, threads=2).encode(TEXTS)
    assert vectors[:, 0].tolist() == [float(len(t)) for t in TEXTS]
    assert len({thread for thread, _ in model.calls}) == 2
    assert sorted(n for _, n in model.calls) == [20, 20]


def test_a_small_batch_or_a_single_thread_is_not_spread():
    model = RecordingModel()
    embedder_with(model, threads=2).encode(TEXTS[: 2 * SPLIT_MIN_TEXTS - 1])
    embedder_with(model, threads=1).encode(TEXTS)
    assert [n for _, n in model.calls] == [2 * SPLIT_MIN_TEXTS - 1, len(TEXTS)]
    assert {thread for thread, _ in model.calls} == {threading.get_ident()}


def test_encodings_at_the_same_time_each_keep_their_own_thread():
    hold, entered = threading.Event(), threading.Event()
    model = RecordingModel(hold, entered)
    embedder = embedder_with(model, threads=2)
    first = threading.Thread(target=embedder.encode, args=(["What did the Arusha network do?"],))
    first.start()
    assert entered.wait(timeout=30)  # the first encoding is running
    model.hold = None
    vectors = embedder.encode(TEXTS)  # arrives while it runs: not spread over the helpers
    hold.set()
    first.join(timeout=30)
    assert vectors[:, 0].tolist() == [float(len(t)) for t in TEXTS]
    assert (threading.get_ident(), len(TEXTS)) in model.calls and len(model.calls) == 2


@pytest.mark.integration
def test_spread_vectors_equal_those_of_one_batch(embedder):
    spread = embedder.encode(TEXTS)  # alone: spread over the helpers when the machine has several cores
    whole = embedder._encoding()(TEXTS)  # one call, on this thread
    np.testing.assert_allclose(spread, whole, atol=1e-5)


def test_a_core_an_ingest_parsing_process_uses_is_left_to_it(monkeypatch):
    """While the parsing process reads (an ingest's slower step), a lone encoding keeps to the cores left; once
    it is done, the next round of texts spreads over every core again."""
    import vectorstore.embeddings

    taken = iter([1, 0, 0, 0])
    monkeypatch.setattr(vectorstore.embeddings, "cores_taken_by_workers", lambda: next(taken))
    model = RecordingModel()
    texts = [
        f"Chunk {n}: " + "the task force rescued 19 children " * (1 + n % 7) for n in range(2 * SPREAD_ROUND_TEXTS)
    ]
    vectors = embedder_with(model, threads=2).encode(texts)
    assert vectors[:, 0].tolist() == [float(len(t)) for t in texts]
    first_round, *spread = model.calls
    assert first_round == (threading.get_ident(), SPREAD_ROUND_TEXTS)  # one thread: the parser had the other core
    assert len(spread) == 2 and {thread for thread, _ in spread} != {threading.get_ident()}
