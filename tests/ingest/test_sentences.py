"""Sentence spans: exact offsets into the original text, whole coverage, no paragraph crossing."""

from __future__ import annotations

import random

import pytest

from ingest.sentences import split_sentences


def assert_exact_partition(text: str, spans: list[tuple[int, int]]) -> None:
    """Spans are sorted, disjoint, stripped, within one paragraph, and cover every visible character."""
    covered = bytearray(len(text))
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        sentence = text[start:end]
        assert sentence == sentence.strip()
        assert "\n\n" not in sentence
        covered[start:end] = b"\x01" * (end - start)
        previous_end = end
    uncovered = [text[i] for i in range(len(text)) if not covered[i]]
    assert all(ch.isspace() for ch in uncovered)


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_splits_plain_sentences_at_their_ends():
    text = "Victims were identified in 2022. Most were children!  Were they trafficked abroad? Yes."
    assert sentences(text) == [
        "Victims were identified in 2022.",
        "Most were children!",
        "Were they trafficked abroad?",
        "Yes.",
    ]


def test_a_sentence_that_starts_with_a_number_is_a_sentence_of_its_own():
    text = "UNODC trained 900 judges in 2023. 87 victims were identified in 2024. 30 of them were women."
    assert sentences(text) == [
        "UNODC trained 900 judges in 2023.",
        "87 victims were identified in 2024.",
        "30 of them were women.",
    ]
    assert_exact_partition(text, split_sentences(text))
    # an abbreviation before a number is not a sentence end, nor is a decimal point
    for kept in ("See Fig. 3 and p. 12 for the figures.", "In the U.S. 3 states report it.", "It rose 2.5 times."):
        assert sentences(kept) == [kept]


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\n \n"])
def test_empty_or_blank_text_has_no_sentences(text):
    assert split_sentences(text) == []


def test_spans_index_the_original_text_with_non_ascii_characters():
    text = "  Café “owners” were charged.\u00a0Naïve résumé – fine. 日本語の文です。 Next one?  "
    spans = split_sentences(text)
    assert_exact_partition(text, spans)
    assert text[spans[0][0] : spans[0][1]] == "Café “owners” were charged."
    assert text[spans[-1][0] : spans[-1][1]].endswith("Next one?")


def test_never_crosses_a_paragraph_break():
    text = "A heading without a full stop\n\nThe body starts here. It goes on\n   \nafter a blank line."
    found = sentences(text)
    assert found[0] == "A heading without a full stop"
    assert "The body starts here." in found
    assert "It goes on" in found
    assert found[-1] == "after a blank line."
    assert_exact_partition(text, split_sentences(text))


def test_single_line_break_inside_a_sentence_is_kept_in_the_span():
    text = "This sentence is broken\nacross two lines. Then another."
    assert sentences(text) == ["This sentence is broken\nacross two lines.", "Then another."]


def test_text_without_final_punctuation_is_one_sentence():
    assert sentences("no punctuation at all") == ["no punctuation at all"]


def test_invalid_unicode_degrades_to_paragraphs_instead_of_failing():
    text = "Broken \ud800 text. Still here.\n\nNext paragraph."
    spans = split_sentences(text)
    assert_exact_partition(text, spans)
    assert text[spans[-1][0] : spans[-1][1]] == "Next paragraph."


def test_long_text_of_many_paragraphs_keeps_every_guarantee():
    rng = random.Random(7)
    words = ["trafficking", "victims", "Africa", "per cent", "forced labour", "é", "“quoted”", "U.S.", "2,000"]
    paragraphs = []
    for _ in range(2_000):
        sentences_ = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 25))) + "." for _ in range(4)]
        paragraphs.append(" ".join(sentences_))
    text = "\n\n".join(paragraphs)  # several hundred thousand characters: processed in blocks
    spans = split_sentences(text)
    assert_exact_partition(text, spans)
    assert len(spans) >= len(paragraphs)
