"""The whole product on the shared corpus: ingest every file, answer the dev questions, check the floors."""

from __future__ import annotations

import pytest

from assistant.evaluation.gold_set import load_gold, run_items, summarize, summarize_by_kind
from assistant.service import Assistant
from assistant.settings import Settings
from ingest.pipeline import FileStatus
from tests.shared_paths import CORPUS, GOLD_DEV, GOLD_DEV_2, require

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def library(corpus_ingest):
    return corpus_ingest


@pytest.fixture(scope="module")
def dev_results(library):
    assistant, _ = library
    return run_items(assistant, load_gold(require(GOLD_DEV)))


def test_every_corpus_file_is_ingested_with_pages(library):
    assistant, report = library
    assert report.ok, [f"{o.source}: {o.message}" for o in report.failed]
    files = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".pdf", ".txt"))
    assert sorted(d.source for d in assistant.documents()) == files
    glotip = assistant.find_document("GLOTIP2024_Chapter_2.pdf")
    assert glotip.page_count > 20 and glotip.chunk_count > glotip.page_count


def test_unchanged_files_are_skipped(library):
    assistant, _ = library
    again = assistant.ingest([CORPUS])
    assert {o.status for o in again.outcomes} == {FileStatus.UNCHANGED}
    assert max(o.seconds for o in again.outcomes) < 1.0  # hashing only, no parsing


def test_an_ingest_of_unchanged_files_opens_neither_the_vector_store_nor_the_model(library):
    assistant, _ = library
    fresh = Assistant(assistant.settings)  # as a new `tip-assistant ingest` run would open the library
    hook_calls = []
    again = fresh.ingest([CORPUS], before_first_embedding=lambda: hook_calls.append(1))
    assert {o.status for o in again.outcomes} == {FileStatus.UNCHANGED}
    assert hook_calls == []  # nothing to embed: nor is the model exported
    assert "store" not in vars(fresh)  # a cached property never computed: Chroma was not opened
    assert not fresh.embedder.loaded


def test_the_hook_before_the_first_embedding_runs_once_before_anything_is_stored(tmp_path, embedder):
    folder = tmp_path / "briefs"
    folder.mkdir()
    for n, place in enumerate(("Mwanza", "Kigoma", "Tanga")):
        (folder / f"{place}.txt").write_text(f"The {place} shelter hosted {n + 40} survivors in 2023.")
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    stored_when_called = []
    report = assistant.ingest([folder], before_first_embedding=lambda: stored_when_called.append(assistant.documents()))
    assert report.ok and len(assistant.documents()) == 3
    assert stored_when_called == [[]]


def test_dev_set_floors(dev_results):
    figures = summarize(dev_results)
    print(f"\ndev set: {figures}")
    # Regression floors. Measured 0.92, 0.77 and 1.00; the answer target is 0.80.
    assert figures["retrieval_hit_at_k"] >= 0.88
    assert figures["answer_correct"] >= 0.75
    assert figures["citation_hit"] >= 0.85
    assert figures["false_refusal_rate"] <= 0.10
    assert figures["sentences_supported"] == 1.0  # every extractive sentence is backed by what it cites
    followups = summarize([r for r in dev_results if r.item.type == "followup"])
    assert followups["retrieval_hit_at_k"] >= 0.75


def test_questions_the_library_does_not_answer_are_refused_and_the_others_are_not(library, dev_results):
    assistant, _ = library
    second = run_items(assistant, load_gold(require(GOLD_DEV_2)))
    both = summarize([*dev_results, *second])
    by_kind = summarize_by_kind(second)
    print(f"\nrefusal recall {both['refusal_recall']}, false refusals {both['false_refusal_rate']}, "
          f"by kind {[(k, f['refusal_recall']) for k, f in by_kind.items()]}")
    # Measured 0.92 and 0.00 over both dev sets; every unanswerable kind of qa-dev-2 at 0.75 or more.
    assert both["refusal_recall"] >= 0.85
    assert both["false_refusal_rate"] <= 0.05
    for kind, figures in by_kind.items():
        if figures["unanswerable"]:
            assert figures["refusal_recall"] >= 0.75, kind
    assert by_kind["typo"]["answer_correct"] == 1.0  # a typo is corrected, never refused
    # A question about two named documents is answered from each (measured 0.67 on qa-dev-2's multi items).
    assert by_kind["multi"]["answer_correct"] >= 0.6 and by_kind["multi"]["citation_hit"] == 1.0


def test_every_citation_quotes_the_stored_page_exactly(library, dev_results):
    assistant, _ = library
    for result in dev_results:
        answer = result.answer
        for citation in (*answer.citations, *answer.related):
            page = assistant.page_text(citation.doc_id, citation.page)
            assert page is not None and page[citation.start : citation.end] == citation.quote, result.item.id
        for sentence in answer.sentences:
            assert sentence.citations, f"{result.item.id}: uncited sentence {sentence.text!r}"
            assert any(sentence.text in answer.citation(n).quote for n in sentence.citations), result.item.id


def test_refusal_offers_related_passages_and_an_answer_cites(dev_results):
    figures = summarize(dev_results)
    print(f"\nrefusal recall {figures['refusal_recall']}, precision {figures['refusal_precision']}, "
          f"false refusal rate {figures['false_refusal_rate']}")
    for r in dev_results:
        if r.answer.refused:  # closest passages offered, never as an answer
            assert not r.answer.citations and not r.answer.sentences and r.answer.related, r.item.id
        else:
            assert r.answer.citations and not r.answer.related, r.item.id


def test_off_topic_question_is_refused_and_a_plain_one_answered(library):
    assistant, _ = library
    off_topic = assistant.ask("Who won the football world cup in 1998?")
    assert off_topic.refused
    plain = assistant.ask("How many practitioners were trained in Cox's Bazar?")
    assert not plain.refused and "160" in plain.text


def test_question_about_something_the_library_never_mentions_is_refused_with_the_reason(library):
    assistant, _ = library
    answer = assistant.ask("What does the Africa chapter say about the kafala sponsorship system?")
    assert answer.refused and "kafala" in answer.refusal_reason
    assert answer.related  # the closest passages are still offered, as related only


# ----- answer what was asked, or say what the library lacks -------------------------------------------------
def test_a_place_the_library_never_mentions_is_refused_by_name(library):
    assistant, _ = library
    answer = assistant.ask("What does the library say about trafficking in Antarctica?")
    assert answer.refused and "Antarctica" in answer.refusal_reason


def test_a_figure_for_another_place_does_not_answer(library):
    assistant, _ = library
    answer = assistant.ask("How many victims were identified in Togo in 2022?")
    assert answer.refused, answer.text
    assert "Togo" in answer.refusal_reason


def test_a_figure_of_something_else_or_another_year_does_not_answer(library):
    assistant, _ = library
    answer = assistant.ask("How many calls did the hotline answer in 2021?")
    # Whatever is quoted must count calls and be dated 2021; the library holds no such figure.
    assert answer.refused, answer.text
    assert "calls" in answer.refusal_reason or "2021" in answer.refusal_reason


def test_a_breakdown_the_library_does_not_give_is_refused_for_the_follow_up(library):
    assistant, _ = library
    first = assistant.ask("How many victims of trafficking were identified in the Dzaleka refugee camp?")
    assert not first.refused and "87" in first.text
    history = [
        {"role": "user", "content": first.question},
        {"role": "assistant", "content": first.text},
    ]
    follow_up = assistant.ask("How many of them were women?", history)
    assert follow_up.refused, follow_up.text  # not the "40 women" of a training in Cox's Bazar
    assert "no breakdown by sex" in follow_up.refusal_reason and "Dzaleka" in follow_up.refusal_reason


def test_a_typo_is_corrected_against_the_library_and_said(library):
    assistant, _ = library
    answer = assistant.ask("How many victms were identifed in the Dzaleka refugee camp?")
    assert not answer.refused and "87" in answer.text
    assert any("victims were identified" in n for n in answer.notices)
