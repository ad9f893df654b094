"""The support checker on hand-made passages (real embedding model), and on the labelled pairs (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation.support_eval import confusion_table, label_pairs, load_pairs, summarize_pairs
from assistant.grounding.support import (
    SupportChecker,
    entities_in,
    failed_checks,
    missing_numbers,
    with_support,
)
from assistant.types import Answer, AnswerSentence, Citation, PageSpan, SupportLabel

PAGE_OFFSET = 1200
def evidence(doc_id: str, source: str, title: str, page: int, start: int, text: str) -> PageSpan:
    return PageSpan(doc_id, source, title, page, start, start + len(text), text)


CAMP = evidence(
    "sub", "submission.txt", "UNODC submission", 1, PAGE_OFFSET,
    "UNODC supported Malawi's Ministry of Homeland Security at the Dzaleka Refugee Camp. As a result of this, 87 "
    "victims of trafficking were identified and rescued by law enforcement in January and February 2024. "
    "A total of 160 practitioners, including 40 women, benefited from these training sessions.",
)  # fmt: skip
MINES = evidence(
    "glotip", "glotip.pdf", "Global Report", 15, 0,
    "In Mali, between April 2020 and April 2022, 21 different armed groups were involved in systematic child "
    "recruitment. It is estimated that 36.7 per cent of the workers were children.",
)  # fmt: skip


@pytest.fixture(scope="module")
def checker(embedder):
    return SupportChecker(embedder)


def label(checker, sentence, passages=(CAMP, MINES)):
    return checker.check(sentence, list(passages))


def test_a_quoted_sentence_is_supported_at_its_page_offsets(checker):
    sentence = "A total of 160 practitioners, including 40 women, benefited from these training sessions."
    support = label(checker, sentence)
    assert support.label is SupportLabel.SUPPORTED and support.score == 1.0
    assert (support.source, support.page, support.quote) == ("submission.txt", 1, sentence)
    assert support.start == PAGE_OFFSET + CAMP.quote.index(sentence) and support.end == support.start + len(sentence)


def test_a_paraphrase_with_the_same_facts_is_supported(checker):
    support = label(checker, "Police identified and rescued 87 trafficking victims in January and February 2024.")
    assert support.label is SupportLabel.SUPPORTED
    assert "87" in support.quote and support.source == "submission.txt"


@pytest.mark.parametrize(
    ("sentence", "why"),
    [
        ("Police identified and rescued 78 trafficking victims in January and February 2024.", "numbers"),
        ("From April 2020 to April 2022, 21 armed groups systematically recruited children in Niger.", "names"),
        ("Police did not identify any trafficking victims at the Dzaleka Refugee Camp in 2024.", "negation"),
        ("It is estimated that 46.7 per cent of the workers were children.", "numbers"),
    ],
)
def test_changed_facts_are_unsupported_whatever_the_similarity(checker, sentence, why):
    support = label(checker, sentence)
    assert support.label is SupportLabel.UNSUPPORTED
    assert support.quote  # the closest span is still shown, so the reader sees what the library says
    assert any(why in reason for reason in support.reasons)  # the label says why, for the UI and reports
    assert list(support.reasons) == failed_checks(sentence, support.quote)


def test_an_unrelated_passage_supports_nothing(checker):
    support = label(checker, "Honey bees pollinate most of the world's crops.")
    assert support.label is SupportLabel.UNSUPPORTED and support.score < 0.5


def test_no_passages_means_unsupported(checker):
    assert checker.check("87 victims were identified.", []).label is SupportLabel.UNSUPPORTED


def test_numbers_are_compared_as_values():
    assert missing_numbers("36.7% of victims", "36.7 per cent of victims") == []
    assert missing_numbers("between 60000 and 100,000 children", "between 60,000 and 100,000 children") == []
    assert missing_numbers("twelve states had fewer arrests", "12 states had fewer arrests") == []
    assert missing_numbers("in one month", "during a one-month period") == []
    assert missing_numbers("87 victims in 2024", "78 victims in 2024") == ["87"]


def test_names_include_countries_anywhere_and_capitalised_words_inside():
    names = entities_in("Mali and Burkina Faso reported cases to UNODC, the Office said.")
    assert {"mali", "burkina faso", "unodc", "office"} <= set(names)
    assert "the" not in names


def test_check_text_splits_sentences_and_finds_each_ones_passage(checker):
    text = (
        "In Mali, 21 different armed groups were involved in systematic child recruitment. "
        "UNODC trained 500 judges in Brazil."
    )
    checked = checker.check_text(text, [CAMP, MINES])
    assert [c.text for c in checked] == [
        "In Mali, 21 different armed groups were involved in systematic child recruitment.",
        "UNODC trained 500 judges in Brazil.",
    ]
    assert text[checked[1].start : checked[1].end] == checked[1].text
    assert checked[0].support.label is SupportLabel.SUPPORTED and checked[0].support.source == "glotip.pdf"
    assert checked[1].support.label is SupportLabel.UNSUPPORTED


def test_answer_sentences_are_checked_against_the_passages_they_cite(checker):
    def cite(n, ev):
        return Citation(ev.doc_id, ev.source, ev.title, ev.page, ev.start, ev.start + 10, ev.quote[:10], n=n,
                        chunk_id="c", context=ev.quote, context_start=ev.start)  # fmt: skip

    sentences = (
        AnswerSentence("In Mali, 21 different armed groups were involved in systematic child recruitment.", (2,)),
        AnswerSentence("87 victims of trafficking were identified in Mali.", (2,)),  # cites the wrong passage
        AnswerSentence("A total of 160 practitioners benefited.", (7,)),  # a citation that does not exist
    )
    answer = Answer("q", "text", sentences, (cite(1, CAMP), cite(2, MINES)), False, "q")
    labels = [s.support.label for s in with_support(answer, checker).sentences]
    assert labels == [SupportLabel.SUPPORTED, SupportLabel.UNSUPPORTED, SupportLabel.UNSUPPORTED]


@pytest.mark.slow
def test_labelled_pairs_meet_the_calibration_targets(corpus_library):
    pairs = load_pairs(Path(__file__).parent.parent / "data" / "support_pairs.jsonl")
    assistant = corpus_library
    results = label_pairs(SupportChecker(assistant.embedder), pairs, assistant.page_evidence)
    summary = summarize_pairs(results)
    print("\n" + confusion_table(summary))
    print({k: v for k, v in summary.items() if k != "confusion"})
    assert {p.kind for p in pairs} == {"as_written", "number", "entity", "negation", "unrelated", "paraphrase"}
    assert summary["accuracy"] >= 0.90
    assert summary["changed_number_unsupported"] >= 0.95
    assert summary["as_written_unsupported"] <= 0.05
