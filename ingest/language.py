"""Which language a document is in (py3langid), and is a text language at all (the share of its words found
in wordfreq's word lists).

Two uses: choosing between the ways a text file's bytes can be decoded (cp1250 gives "ętres" where cp1252
gives "êtres", and only one of them is a word), and telling a PDF text layer that is gibberish (a font with no
Unicode map extracts "7UDIILFNLQJ" for "Trafficking") from real text, so that it is treated as no text layer.

English, French and Spanish, the library's languages, are tried first; the other languages are loaded only
for a text those three do not explain (loading all of them takes about 3 s once).
"""

from __future__ import annotations

import re
from functools import lru_cache

from wordfreq import zipf_frequency

from ingest.blocks import WHITESPACE, block_spans

FIRST_LANGUAGES = ("en", "fr", "es")
OTHER_LANGUAGES = ("de", "pt", "it", "nl", "ru", "uk", "ar", "pl", "tr")
SAMPLE_WORDS = 300  # words looked up at most, spread over the text
MIN_WORDS = 8  # fewer words than this: no judgement (a table of figures, a cover page)
LANGUAGE_SHARE = 0.5  # at least this share of known words makes a text language

_WORD = re.compile(r"[^\W\d_]{2,}")
DETECTION_SAMPLE = 5000  # characters read to tell a document's language, spread over its pages


def detect_language(pages: list[str]) -> str | None:
    """The ISO 639-1 code of the language ``pages`` are written in ("en", "fr", "es"…), by py3langid on a
    sample of up to ``DETECTION_SAMPLE`` characters taken evenly from the pages; None for a text of fewer
    than ``MIN_WORDS`` words."""
    texts = [page for page in pages if page.strip()]
    if not texts or len(_WORD.findall(_joined_head(texts, DETECTION_SAMPLE))) < MIN_WORDS:
        return None
    import py3langid

    share = max(1, DETECTION_SAMPLE // len(texts))
    language, _ = py3langid.classify(" ".join(text[:share] for text in texts))
    return language


def known_word_share(text: str, languages: tuple[str, ...] = FIRST_LANGUAGES + OTHER_LANGUAGES) -> float | None:
    """Share (0 to 1) of ``text``'s words (runs of two or more letters, lower-cased) that are words of one of
    ``languages``; None when the text has fewer than ``MIN_WORDS`` words."""
    words = _sample(text)
    if len(words) < MIN_WORDS:
        return None
    return sum(_known(w, languages) for w in words) / len(words)


def is_language(text: str) -> bool | None:
    """Whether ``text`` reads as language (see the module docstring); None when it is too short to say."""
    share = known_word_share(text, FIRST_LANGUAGES)
    if share is None or share >= LANGUAGE_SHARE:
        return None if share is None else True
    return (known_word_share(text) or 0.0) >= LANGUAGE_SHARE


def _joined_head(texts: list[str], length: int) -> str:
    """``" ".join(texts)[:length]`` without joining a large document whole."""
    head: list[str] = []
    size = 0
    for text in texts:
        head.append(text[: max(0, length - size)])
        size += len(text) + 1
        if size > length:
            break
    return " ".join(head)[:length]


def _sample(text: str) -> list[str]:
    """Every n-th word of ``text``, lower-cased, ``SAMPLE_WORDS`` at most: counted, then picked, a block at a
    time (``ingest.blocks``), so that a large file's words are never all listed at once."""
    spans = block_spans(text, WHITESPACE)
    step = max(1, sum(len(_WORD.findall(text, start, end)) for start, end in spans) // SAMPLE_WORDS)
    words: list[str] = []
    seen = 0  # words in the blocks before this one
    for start, end in spans:
        found = _WORD.findall(text, start, end)
        words.extend(w.lower() for w in found[-seen % step :: step])
        seen += len(found)
        if len(words) >= SAMPLE_WORDS:
            break
    return words[:SAMPLE_WORDS]


@lru_cache(maxsize=100_000)
def _known(word: str, languages: tuple[str, ...]) -> bool:
    return any(zipf_frequency(word, lang) > 0 for lang in languages)
