"""A large text cleaned block by block comes out exactly as it would in one pass."""

from __future__ import annotations

import random
from collections import Counter

import pytest

import ingest.blocks
from ingest import cleaning, language
from ingest.blocks import WHITESPACE, block_spans, substitute

# Pieces that exercise every cleaning step near a block boundary: soft hyphens before line ends, Windows and
# old Mac line ends, glyph bullets, dot leaders, characters NFKC changes (ligatures, maths letters,
# combining accents), words broken at line ends, note markers glued to words.
PIECES = [
    "The",
    "trafficking",
    "victims",
    "were",
    "identified",
    "in",
    "2023.",
    "bondage.q",
    "crews8",
    "art.225",
    "self-",
    "traf-",
    "ficking",
    "employed",
    "ﬁnance",
    "𝑝olice",
    "e\u0301te\u0301",
    "\u00ad",
    "\ue000",
    "\x07",
    ".....",
    ". . . .",
    "•",
    "COVID-19",
    "Table2",
    "U.S.",
    "(abuse43),",
    "victims.ad",
    "études",
    "ß",
]
SEPARATORS = [" ", " ", " ", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", "\t", "  \n", "\n \n", "\n\n\n"]


def random_text(seed: int, words: int = 3000) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(PIECES) + rng.choice(SEPARATORS) for _ in range(words))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 200 characters, so that a test text is cut hundreds of times."""
    monkeypatch.setattr(ingest.blocks, "BLOCK_CHARS", 200)


def test_spans_cover_the_text_and_end_at_the_boundary(small_blocks):
    text = random_text(0)
    spans = block_spans(text, WHITESPACE)
    assert len(spans) > 10
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(end == next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))
    assert all(WHITESPACE.match(text, end) for _, end in spans[:-1])
    assert block_spans("short text", WHITESPACE) == [(0, len("short text"))]


@pytest.mark.parametrize("seed", range(8))
def test_cleaning_a_text_in_blocks_gives_what_one_pass_gives(seed, monkeypatch):
    text = random_text(seed)
    whole = cleaning.clean_pages([text])
    whole_sample = language._sample(text)
    monkeypatch.setattr(ingest.blocks, "BLOCK_CHARS", 50 + 37 * seed)
    assert len(block_spans(text, WHITESPACE)) > 10
    assert cleaning.clean_pages([text]) == whole
    assert language._sample(text) == whole_sample


@pytest.mark.parametrize("seed", range(4))
def test_each_step_in_blocks_matches_its_single_pass(seed, small_blocks):
    text = random_text(seed, words=5000)
    pages = [text[:9000], text[9000:]]  # two pages: the vocabulary joins them
    step = max(1, len(language._WORD.findall(text)) // language.SAMPLE_WORDS)
    assert language._sample(text) == [w.lower() for w in language._WORD.findall(text)[::step]][: language.SAMPLE_WORDS]
    words, compounds = cleaning._vocabulary(pages)
    joined = "\n".join(pages).casefold()
    expected = Counter(cleaning._WORD.findall(joined))
    for match in cleaning._LINE_END_HYPHEN.finditer(joined):
        expected[match.group(1)] -= 1
        expected[match.group(3)] -= 1
    assert words == expected and compounds == set(cleaning._COMPOUND.findall(joined))
    one_pass = cleaning._normalize_block(text.replace("\r\n", "\n").replace("\r", "\n"))
    assert cleaning.normalize_characters(text) == one_pass
    upper = lambda match: f"<{match.group().upper()}:{match.string[match.end() : match.end() + 1]!r}>"  # noqa: E731
    assert substitute(cleaning._TOKEN, upper, text) == cleaning._TOKEN.sub(upper, text)


def test_the_head_of_a_large_document_is_read_without_copying_the_rest():
    from ingest.loaders import _first_paragraphs

    rng = random.Random(3)
    for _ in range(2000):
        text = "".join(rng.choice(["a", "b c", "\n", "\n\n", " "]) for _ in range(rng.randrange(0, 40)))
        for count in range(6):
            assert _first_paragraphs(text, count) == text.split("\n\n")[:count]
        pages = [text[: rng.randrange(0, 20)], "", text]
        for length in (0, 1, 5, 17, 100):
            assert language._joined_head(pages, length) == " ".join(pages)[:length]
