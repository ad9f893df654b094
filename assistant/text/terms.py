"""Words as the library counts them: the query terms of lexical search and the words of its vocabulary.

One tokenizer for every layer: the lexical index (``vectorstore.catalog``), question reading, sentence
scoring and support checks all split text the same way, so a word the index holds is the word a question
is searched for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Words too common to say anything about relevance in a question; kept out of the lexical query.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those through
    to too under until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves did does many much tell say says said go went get got like overall
    kind sort way ones one""".split()
)
_WORD = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:['’]\w+)?")
# Letters only (no digits, no underscore), with inner apostrophes: "victim's", "l'exploitation", "don't".
_SURFACE_WORD = re.compile(r"[^\W\d_]+(?:['’‘ʼ][^\W\d_]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})
_POSSESSIVES = frozenset({"'s", "’s", "‘s", "ʼs"})
# French elided articles and conjunctions: "l'exploitation" and "d'Ivoire" are the words after the apostrophe.
_ELISIONS = frozenset({"c", "d", "j", "l", "m", "n", "s", "t", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"})


def lexical_terms(text: str) -> list[str]:
    """Content words and numbers of a query, in order, without duplicates or stop-words."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(text.lower()):
        word = match.group(0).replace("’", "'").removesuffix("'s")  # "report's" is indexed as "report"
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        seen.setdefault(word, None)
    return list(seen)


def prefix_stems(text: str, length: int) -> set[str]:
    """The lexical terms of ``text``, each word cut to its first ``length`` characters: a crude stem, fast and
    language-blind, that "trafficked" and "trafficking" share at 5 or 6. Numbers are kept whole. (The
    Snowball stems of ``assistant.text.lexicon`` serve question reading; these serve scoring, where each
    caller's length was calibrated.)"""
    return {term if term[0].isdigit() else term[:length] for term in lexical_terms(text)}


def _word_span(token: str) -> tuple[int, int]:
    """Where the word is inside a ``_SURFACE_WORD`` match: without a possessive "'s" (as ``lexical_terms``) and
    without a French elided article ("l'exploitation", "d'Ivoire", "qu'il")."""
    end = len(token)
    if token[-2:].lower() in _POSSESSIVES and end > 2:
        end -= 2
    apostrophe = next((i for i, c in enumerate(token[:end]) if c in "'’‘ʼ"), -1)
    if apostrophe > 0 and token[:apostrophe].lower() in _ELISIONS and apostrophe + 1 < end:
        return apostrophe + 1, end
    return 0, end


def surface_word(token: str) -> str:
    """One word as the vocabulary spells it: NFKC, lower case, a straight apostrophe, no possessive "'s" and no
    French elided article."""
    start, end = _word_span(token)
    return _spelled(token[start:end])


def _spelled(word: str) -> str:
    return unicodedata.normalize("NFKC", word).lower().translate(_APOSTROPHES)


def surface_tokens(text: str) -> Iterator[tuple[int, int, str]]:
    """The words of ``text`` as ``(start, end, word)``: where the word is in ``text`` (its elided article and
    possessive left out) and the word as the vocabulary spells it (``surface_word``)."""
    for match in _SURFACE_WORD.finditer(text):
        start, end = _word_span(match.group(0))
        word = _spelled(match.group(0)[start:end])
        if word:
            yield match.start() + start, match.start() + end, word


def surface_words(text: str) -> list[str]:
    """The words of ``text``, in order, as the vocabulary spells them."""
    return [word for _, _, word in surface_tokens(text)]
