"""Questions take turns: at most ``at_once`` answered at a time, the others let in in the order they came."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.answering.pipeline import AnswerPipeline, ArrivalOrder


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_at_most_limit_inside_and_the_rest_go_in_in_arrival_order():
    order = ArrivalOrder(2)
    leave = [threading.Event() for _ in range(6)]
    went_in: list[int] = []
    most_inside = 0
    lock = threading.Lock()

    def visitor(n: int) -> None:
        nonlocal most_inside
        with order.turn():
            with lock:
                went_in.append(n)
                most_inside = max(most_inside, order.inside)
            assert leave[n].wait(timeout=30)

    threads = []
    for n in range(6):  # started one by one, each in or waiting before the next comes
        threads.append(threading.Thread(target=visitor, args=(n,)))
        threads[-1].start()
        wait_until(lambda n=n: len(went_in) + order.waiting == n + 1)
    assert went_in == [0, 1] and order.waiting == 4
    for n in range(4):  # each leaving lets the longest waiter in
        leave[n].set()
        wait_until(lambda n=n: len(went_in) == n + 3)
        assert went_in[-1] == n + 2 and order.inside == 2
    leave[4].set()
    leave[5].set()
    for thread in threads:
        thread.join(timeout=30)
    assert most_inside == 2 and order.inside == 0 and order.waiting == 0


def test_a_turn_is_given_back_when_the_holder_fails():
    order = ArrivalOrder(1)
    with pytest.raises(RuntimeError), order.turn():
        raise RuntimeError("the answer failed")
    with order.turn():
        assert order.inside == 1


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        ArrivalOrder(0)


def test_answer_waits_for_its_turn():
    pipeline = AnswerPipeline(store=None, composer=None, top_k=1, checker=None, at_once=1)  # type: ignore[arg-type]
    release = threading.Event()
    preparing: list[str] = []

    def prepare(question, history=(), doc_ids=None):
        preparing.append(question)
        if question == "first":
            assert release.wait(timeout=30)
        return question

    pipeline.prepare = prepare  # type: ignore[method-assign]
    pipeline.compose = lambda prepared: f"answer to {prepared}"  # type: ignore[method-assign]
    answers: dict[str, str] = {}

    def ask(question: str) -> None:
        answers[question] = pipeline.answer(question)

    first = threading.Thread(target=ask, args=("first",))
    first.start()
    wait_until(lambda: preparing == ["first"])
    second = threading.Thread(target=ask, args=("second",))
    second.start()
    wait_until(lambda: pipeline.turns.waiting == 1)
    assert preparing == ["first"]  # the second question has not started
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert answers == {"first": "answer to first", "second": "answer to second"}


@pytest.mark.integration
def test_a_streamed_answer_takes_its_turn_with_the_others(tmp_path, embedder):
    # The web chat streams; its questions must queue with the API's for the same cores.
    from assistant.service import Assistant
    from assistant.settings import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shelters.txt").write_text("In 2023 the Arusha shelter network hosted 212 survivors.", encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    assistant.ingest([docs])
    turns = assistant.pipeline.turns
    pieces = assistant.ask_stream("How many survivors did the Arusha shelter network host in 2023?")
    first = next(pieces)
    assert turns.inside == 1  # held while the answer is being handed out
    assert [first, *pieces][-1].text.startswith("In 2023")
    assert turns.inside == 0  # and given back once it is done
