"""Counting word pieces for the chunker with the ``tokenizers`` library: the counts transformers' tokenizer gives,
on the corpus and on awkward text, after crossing to another process too, and for a model without a
``tokenizer.json``."""

from __future__ import annotations

import pickle
import random
import shutil

import pytest
from transformers import AutoTokenizer

from ingest.loaders import SUPPORTED_SUFFIXES, load_file
from tests.shared_paths import CORPUS, require
from vectorstore.embeddings import TokenCounter, packaged_model_dir

AWKWARD = [
    "",
    "   ",
    "naïve café ﬁnance — “quoted” 42% of 1,234 survivors (2021–2023)",
    "中文 and العربية and emoji 😀 in one line",
    "trafficking " * 600,  # longer than the model's window: counted whole, not cut at 256
    "Co-operation\u00adwith soft hyphens\u200band zero-width spaces",
]


def transformers_count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def corpus_samples(count: int) -> list[str]:
    """Pieces of the corpus's page texts, of random lengths (seeded)."""
    pages = []
    for path in sorted(require(CORPUS).iterdir()):
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            pages += [page.text for page in load_file(path).pages[:6]]
    rng = random.Random(7)
    samples = []
    for _ in range(count):
        page = rng.choice([p for p in pages if p])
        start = rng.randrange(len(page))
        samples.append(page[start : start + rng.randrange(1, 2500)])
    return samples


@pytest.mark.slow
def test_counts_equal_transformers_on_the_corpus_and_awkward_text():
    model = packaged_model_dir()
    reference = AutoTokenizer.from_pretrained(str(model))
    counter = TokenCounter(model)
    texts = AWKWARD + corpus_samples(1500)
    assert [counter(t) for t in texts] == [transformers_count(reference, t) for t in texts]
    assert counter(AWKWARD[4]) > 256


def test_a_counter_pickles_as_its_model_folder_and_counts_the_same_after():
    counter = TokenCounter(packaged_model_dir())
    before = counter("Inspectors visited 12 fishing camps in 2021.")
    copy = pickle.loads(pickle.dumps(counter))
    assert len(pickle.dumps(counter)) < 500  # the loaded tokenizer is not sent along
    assert copy("Inspectors visited 12 fishing camps in 2021.") == before


def test_a_model_without_tokenizer_json_is_counted_by_transformers(tmp_path):
    model = packaged_model_dir()
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(model / name, folder / name)
    reference = AutoTokenizer.from_pretrained(str(model))
    counter = TokenCounter(folder)
    for text in AWKWARD[2:5]:
        assert counter(text) == transformers_count(reference, text)
