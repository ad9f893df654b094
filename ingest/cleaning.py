"""Document-level cleaning of raw page texts as pypdf extracts them.

Cleaning works on a whole document because three defects can only be judged with all pages at hand:
running headers/footers (a line is "running" when it repeats across pages), words hyphenated at line
ends (whether "self-\\nemployed" keeps its hyphen depends on how the document writes the word elsewhere) and
note numbers glued to words (a word that carries the same number more than once is a name, not a note).

The steps, each a pure function applied once per page or once per document, in this order:

1. :func:`normalize_characters` - NFKC (ligatures, odd spaces, maths letters), soft hyphens and zero-width
   characters removed, bullet glyphs of symbol fonts turned into "•", dot leaders shortened.
2. :func:`drop_running_lines` - running headers/footers and bare page numbers at the top or bottom of pages.
3. :func:`join_hyphenated` - "traf-\\nficking" -> "trafficking", decided per word with the document's vocabulary.
4. :func:`drop_footnote_markers` - note references glued to words removed ("bondage.q" -> "bondage.",
   "crews8" -> "crews"), numbers that are content kept ("art.225", "COVID-19", "G20", "1,416").
5. :func:`reflow` - lines of a paragraph joined with single spaces, paragraphs separated by exactly "\\n\\n".

The output of :func:`clean_pages` is the text that page offsets, chunks and citations point into.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from wordfreq import zipf_frequency

from ingest.blocks import BLANK_LINE, WHITESPACE, block_spans, substitute

__all__ = [
    "clean_pages",
    "drop_footnote_markers",
    "drop_running_lines",
    "join_hyphenated",
    "normalize_characters",
    "reflow",
]

# --- 1. characters ---------------------------------------------------------------------------------------

_CONTROL = [*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0xA0)]
_ZERO_WIDTH = [0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
# Spaces NFKC leaves alone (NFKC already maps NBSP, thin, em and other typographic spaces to " ").
_ODD_SPACES = [0x0009, 0x1680, 0x180E]
_PRIVATE_USE = range(0xE000, 0xF900)

_CHAR_TABLE: dict[int, str | None] = {
    **{c: None for c in _CONTROL},
    **{c: None for c in _ZERO_WIDTH},
    **{c: " " for c in _ODD_SPACES},
    **{c: " " for c in _PRIVATE_USE},  # symbol-font glyphs with no text meaning
    0x0B: "\n",
    0x0C: "\n",
}
# A soft hyphen at a line end marks a hyphenation point by definition: join without asking.
_SOFT_HYPHEN_BREAK = re.compile(r"\u00ad[ \t]*\n[ \t]*")
# Symbol fonts (Wingdings & co.) often come out as control or private-use characters; at the start of a
# line they are list bullets.
_GLYPH_BULLET = re.compile(r"^[ \t]*[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]+[ \t]*", re.MULTILINE)
# Dot leaders of tables of contents cost many tokens and carry nothing.
_DOT_LEADER = re.compile(r"[ \t]*(?:\.[ \t]?){4,}[ \t]*")


def normalize_characters(text: str) -> str:
    """NFKC plus removal of invisible characters and normalisation of spaces and line ends.

    A large text is normalised a block at a time, cut between the two line breaks of a blank line: no step
    matches across that point and NFKC never composes across a line break, so the result is the same, and
    NFKC's working copies stay the size of a block.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    spans = block_spans(text, BLANK_LINE)
    if len(spans) == 1:
        return _normalize_block(text)
    return "".join([_normalize_block(text[start:end]) for start, end in spans])


def _normalize_block(text: str) -> str:
    text = _SOFT_HYPHEN_BREAK.sub("", text)
    text = _GLYPH_BULLET.sub("• ", text)
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_CHAR_TABLE)
    return _DOT_LEADER.sub(" ... ", text)


# --- 2. running headers, footers and page numbers ---------------------------------------------------------

EDGE_LINES = 3  # non-empty lines at the top and at the bottom of a page that may be header or footer
MIN_PAGES = 3  # fewer pages give no evidence that a line repeats
RUNNING_SHARE = 0.4  # share of all pages a running line appears on...
# ...or, since books alternate headers between facing pages, this share of the odd or of the even pages
# together with a smaller share of all pages (so a templated line on 3 of 13 pages stays).
FACING_SHARE = 0.5
FACING_MIN_SHARE = 0.25

_PAGE_NUMBER = re.compile(
    r"""(?:page\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?          # 12, Page 12, - 12 -
      | (?:page\s*)?\d{1,4}\s*(?:of|/)\s*\d{1,4}        # 3 of 10, Page 3/10
      | \d{1,4}\s*[|•·]\s*\S.{0,100}                    # 12 | Report title
      | \S.{0,100}[|•·]\s*\d{1,4}                       # Report title | 12
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Front matter (i to c); lower case only, as "I" is a word.
_ROMAN_PAGE_NUMBER = re.compile(r"(?=[ivxlc])c?(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})")
_DIGITS = re.compile(r"\d+")
_KEY_EDGE_CHARS = "#|-–—·•"  # page numbers and their separators; punctuation of the text counts


def _line_key(line: str) -> str:
    """Form under which a line is compared across pages: page numbers and spacing do not count."""
    key = _DIGITS.sub("#", line.casefold())
    return "".join(key.split()).strip(_KEY_EDGE_CHARS)


def _is_page_number(line: str) -> bool:
    return bool(_PAGE_NUMBER.fullmatch(line) or _ROMAN_PAGE_NUMBER.fullmatch(line))


def _edge_indices(lines: list[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if len(filled) <= 2 * EDGE_LINES:
        return filled
    return filled[:EDGE_LINES] + filled[-EDGE_LINES:]


def drop_running_lines(pages: list[str]) -> list[str]:
    """Remove running headers/footers and bare page numbers from the top and bottom of pages.

    A line near an edge is running when its key (:func:`_line_key`) appears near an edge on at least
    :data:`MIN_PAGES` pages and on :data:`RUNNING_SHARE` of all pages, or on :data:`FACING_SHARE` of the
    odd or of the even pages and :data:`FACING_MIN_SHARE` of all. Documents of fewer than
    :data:`MIN_PAGES` pages are returned unchanged.
    """
    if len(pages) < MIN_PAGES:
        return list(pages)
    split = [page.split("\n") for page in pages]
    edges = [_edge_indices(lines) for lines in split]
    keys_per_page = [{_line_key(lines[i]) for i in idx} - {""} for lines, idx in zip(split, edges, strict=True)]

    total: Counter[str] = Counter()
    by_parity: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    for number, keys in enumerate(keys_per_page):
        total.update(keys)
        by_parity[number % 2].update(keys)
    pages_of_parity = (math.ceil(len(pages) / 2), len(pages) // 2)
    running = {
        key
        for key, count in total.items()
        if count >= MIN_PAGES
        and (
            count >= RUNNING_SHARE * len(pages)
            or (
                count >= FACING_MIN_SHARE * len(pages)
                and any(by_parity[p][key] >= FACING_SHARE * pages_of_parity[p] for p in (0, 1))
            )
        )
    }

    cleaned: list[str] = []
    for lines, idx in zip(split, edges, strict=True):
        drop = {i for i in idx if _is_page_number(lines[i].strip()) or _line_key(lines[i]) in running}
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return cleaned


# --- 3. words hyphenated at line ends ---------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+")
_COMPOUND = re.compile(r"(?<![^\W\d_])[^\W\d_]+-[^\W\d_]+")  # on one line: "\n" is not a letter
# word, optional space (some layouts set "endorse -"), hyphen, line end, word with its trailing punctuation.
# The look-behind anchors the word at its start: without it every letter of every word starts an attempt.
_LINE_END_HYPHEN = re.compile(r"(?<![^\W\d_])([^\W\d_]+)( ?)[-\u2010\u2011][ \t]*\n[ \t]*([^\W\d_]+)(\S*)[ \t]*")
# A hyphen at a line end before a number ("COVID-\n19", "1990-\n2000") is kept; only the break goes.
_LINE_END_HYPHEN_DIGIT = re.compile(r"(?<=[^\W_])-[ \t]*\n[ \t]*(?=\d)")


def _vocabulary(pages: Iterable[str]) -> tuple[Counter[str], set[str]]:
    """Words of the document (outside line-end hyphenation) and hyphenated compounds written on one line."""
    text = "\n".join(pages).casefold()
    words: Counter[str] = Counter()
    for start, end in block_spans(text, WHITESPACE):  # not one list of all the words of a large file
        words.update(_WORD.findall(text, start, end))
    for match in _LINE_END_HYPHEN.finditer(text):
        words[match.group(1)] -= 1  # halves of a broken word are not words of the document
        words[match.group(3)] -= 1
    return words, set(_COMPOUND.findall(text))


def _joins(prefix: str, suffix: str, token: str, words: Counter[str], compounds: set[str]) -> bool:
    """Whether ``prefix``-line end-``suffix`` is one word broken by hyphenation (else a real hyphen)."""
    if "/" in token or "@" in token or token.casefold().startswith(("http", "www")):
        return False  # a URL: its hyphens are part of it
    if words[(prefix + suffix).casefold()] > 0:
        return True
    if f"{prefix}-{suffix}".casefold() in compounds:
        return False
    if len(prefix) > 1 and len(suffix) > 1 and words[prefix.casefold()] > 0 and words[suffix.casefold()] > 0:
        return False  # two words of their own ("victim-offender", "Gang-involved")
    return suffix[0].islower()


def join_hyphenated(pages: list[str]) -> list[str]:
    """Join words hyphenated across line ends, deciding per word with the document's own vocabulary.

    The joined word moves up to the first line, so the second line keeps its length (the paragraph step
    compares line lengths). Hyphens that are not at a line end are never touched.
    """
    words, compounds = _vocabulary(pages)

    def fix(match: re.Match[str]) -> str:
        prefix, space, suffix, rest = match.groups()
        text = match.string
        token_start = max(text.rfind(" ", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
        token = text[token_start : match.start()] + prefix
        if _joins(prefix, suffix, token, words, compounds):
            word = prefix + suffix
        elif space:
            word = f"{prefix} - {suffix}"  # a dash set with spaces
        else:
            word = f"{prefix}-{suffix}"
        more_on_line = match.end() < len(text) and text[match.end()] != "\n"
        return word + rest + ("\n" if more_on_line else "")

    fixed: list[str] = []
    for page in pages:
        # A moved word can carry the next break with it (URLs broken twice); a further pass catches it.
        for _ in range(3):
            page, count = _LINE_END_HYPHEN.subn(fix, page)
            if not count:
                break
        fixed.append(_LINE_END_HYPHEN_DIGIT.sub("-", page))
    return fixed


# --- 4. footnote and endnote markers ---------------------------------------------------------------------

# pypdf extracts superscript note references glued to the text: "debt bondage.q Key", "in Europe.r",
# "economies.”a", "cent).m", "study,h about", "victims.ad", "advocacy.20 The", "activities.”29", "fishing
# crews8 and". They are removed here, before paragraphs are built, so the stored page text never holds them
# and every offset into it stays exact; paragraph detection then also sees "bondage." as the sentence end.

MARKER_WORD_ZIPF = 2.5  # a word this frequent (wordfreq, en/fr/es) is ordinary, so digits glued to it are a note
_MARKER_LANGUAGES = ("en", "fr", "es")
# Lettered notes go on past "z" as "aa", "ab", ...; a two-letter mark counts only in a document that shows
# this many one-letter marks, so a stray "site.ng" elsewhere keeps its ending.
LETTER_MARKS_FOR_PAIRS = 20
# Words that introduce a number ("art.225", "No.5", "Add.1", "Table2"): a number glued to them is content.
_NUMBERING_WORDS = frozenset(
    """add annex app appendix art arts article box ch chap chapter cl corr ed eq ex fig figs figure item no nos
    p para paras paragraph part pp pt ref reg rev sec sect section table tab vol vols volume""".split()
)

_TOKEN = re.compile(r"\S+")
# A note reference set after punctuation: one or two lowercase letters or a number of 1-3 digits (never
# "0..."), after ".", ",", ";", "!" or "?" (possibly inside a closing bracket or quote) or after a bare closing
# quote or bracket. The token must end with the mark, so "e.g.", "U.S.", "36.7%" or "H2O" never get checked.
_AFTER_PUNCTUATION = re.compile(
    r"(?P<head>.*?)(?P<punct>[)\]]?[.,;!?][”\"’)\]]?|[”\"’)\]])(?P<mark>[a-z]{1,2}|[1-9]\d{0,2})"
)
# A number glued straight to a word, with the brackets and punctuation around the word: "crews8", "(abuse43),".
_GLUED_DIGITS = re.compile(
    r"(?P<lead>[(\[“\"‘]*)(?P<word>[^\W\d_]{2,})(?P<mark>[1-9]\d{0,2})(?P<tail>[.,;:!?”\"’)\]]*)"
)
_TRAILING_LETTERS = re.compile(r"[^\W\d_]+$")
_ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_PLAIN_WORD = re.compile(r"[(\[“\"‘]*[^\W\d_]{2,}(?:-[^\W\d_]+)*")
_NEXT_CHARACTER = re.compile(r"\s*(\S?)")


@lru_cache(maxsize=4096)
def _zipf(word: str) -> float:
    return max(zipf_frequency(word, language) for language in _MARKER_LANGUAGES)


def _is_address(head: str) -> bool:
    """URLs, e-mail addresses and document symbols ("A/HRC/41/46/Add.1") keep every character."""
    return "/" in head or "@" in head or head.casefold().startswith(("http", "www"))


def _marker_after_punctuation(token: re.Match[str], parts: re.Match[str], letter_pairs: bool) -> bool:
    """Whether the mark of ``parts`` (head, punctuation, mark of ``token``) is a note reference.

    The head must end in a word of two letters or more, so single letters with their dots ("U.S.", "a.m.",
    "Table A.2") stay; numbering words and Roman numerals keep their number ("art.225", "No.5", "IV.2"); a
    number after a number is a decimal or a thousands group ("30.2", "1,416") and stays. A single letter may
    also follow a number or a bracket ("2023.c", "(35).g", "2016,b") after a comma or at a sentence end (no
    lower case next), so a subsection such as "Article 3.a of" stays. Two letters need a plain word before
    them and ``letter_pairs``.
    """
    head, punct, mark = parts["head"], parts["punct"], parts["mark"]
    if not head or _is_address(head):
        return False
    letters = _TRAILING_LETTERS.search(head)
    word = letters.group() if letters else ""
    if mark.isdigit():  # "IV.2" numbers a section: a Roman numeral is a number, not a word
        return len(word) >= 2 and word.casefold() not in _NUMBERING_WORDS and not _ROMAN.fullmatch(word)
    if not any(c in punct for c in ".,;!?") or "’" in punct:  # "’" before a letter is an apostrophe
        return False
    if len(mark) == 2:
        return letter_pairs and bool(_PLAIN_WORD.fullmatch(head))
    if word:
        return len(word) >= 2
    if not head.rstrip(")]")[-1:].isdigit():
        return False
    following = _NEXT_CHARACTER.match(token.string, token.end()).group(1)  # "" at the end of the page
    return "," in punct or ";" in punct or not following.islower()


def _marker_glued_to_word(word: str, mark: str, repeated: bool) -> bool:
    """Whether the digits ``mark`` glued straight to ``word`` are a note reference.

    Only after an ordinary word (wordfreq) written in lower case or with one capital, when the whole token
    is no word itself and appears once in the document: names and codes that carry a number keep it ("G20",
    "SDG16", "CO2", "MP3", "ZAF011", "USD300", "Ourhome2", "Type2"), as does a repeated token ("Covid19"
    written throughout), since a note number is used once.
    """
    if repeated or not word[1:].islower() or word.casefold() in _NUMBERING_WORDS:
        return False
    return _zipf(word) >= MARKER_WORD_ZIPF and _zipf(word + mark) == 0


def drop_footnote_markers(pages: list[str]) -> list[str]:
    """Remove note references glued to words, per token, deciding with the whole document at hand.

    Only the marker goes: the word, its punctuation and all spacing stay, so nothing else moves.
    """
    glued = Counter(
        (parts["word"] + parts["mark"]).casefold()
        for page in pages
        for token in _TOKEN.finditer(page)  # not findall: a large page would be held again as a list of words
        if (parts := _GLUED_DIGITS.fullmatch(token.group()))
    )
    single_letters = sum(
        1
        for page in pages
        for token in _TOKEN.finditer(page)
        if (parts := _AFTER_PUNCTUATION.fullmatch(token.group()))
        and len(parts["mark"]) == 1
        and parts["mark"].isalpha()
        and _marker_after_punctuation(token, parts, letter_pairs=False)
    )
    letter_pairs = single_letters >= LETTER_MARKS_FOR_PAIRS

    def fix(token: re.Match[str]) -> str:
        if parts := _GLUED_DIGITS.fullmatch(token.group()):
            word, mark = parts["word"], parts["mark"]
            if _marker_glued_to_word(word, mark, glued[(word + mark).casefold()] > 1):
                return parts["lead"] + word + parts["tail"]
        elif (parts := _AFTER_PUNCTUATION.fullmatch(token.group())) and _marker_after_punctuation(
            token, parts, letter_pairs
        ):
            return parts["head"] + parts["punct"]
        return token.group()

    return [substitute(_TOKEN, fix, page) for page in pages]


# --- 5. paragraphs and spaces -----------------------------------------------------------------------------

SHORT_LINE = 0.85  # a line ending a sentence and shorter than this share of the typical line ends a paragraph
HEADING_LINE = 0.55  # a line this short, unpunctuated, followed by a capital, is a heading

_BULLET = re.compile(r"(?:[•●▪■◦○»›‣∙·*]|[-–—](?=\s)|\(?\d{1,2}[.)](?=\s)|\(?[a-z][.)](?=\s)|\(?[ivx]{1,4}[.)](?=\s))")
_SENTENCE_END = re.compile(r"(?:[.!?:][\"'”’)\]]*|(?<=[^\W\d_])[.!?]\d{1,3})$")
_ABBREVIATION = re.compile(r"(?:(?:[a-z]\.){1,3}|dr\.|mr\.|mrs\.|ms\.|no\.|vol\.|pp\.|fig\.|al\.|st\.|vs\.|cf\.)$")
_CONTINUES = re.compile(
    r"(?:[,;(/&+\-–—]|\b(?:and|or|of|the|to|in|for|with|a|an|by|on|at|from|as|than))$", re.IGNORECASE
)


def _ends_sentence(line: str) -> bool:
    if not _SENTENCE_END.search(line):
        return False
    last = line.rsplit(None, 1)[-1].casefold()
    return not _ABBREVIATION.fullmatch(last)


def _is_caps(line: str) -> bool:
    # At least 4 letters: "U.S." or "UN" alone are not headings.
    return line.isupper() and sum(c.isalpha() for c in line) >= 4


def reflow(text: str) -> str:
    """Join the lines of each paragraph with single spaces; separate paragraphs with "\\n\\n".

    pypdf seldom emits blank lines, so a paragraph also ends after a line that ends a sentence and is
    clearly shorter than the page's typical (median) line, after a short unpunctuated heading followed by
    a capital, around lines in capitals, and before a bullet or a numbered list item.
    """
    lines = [line.strip() for line in text.split("\n")]
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return ""
    typical = lengths[len(lengths) // 2]

    paragraphs: list[list[str]] = []
    current: list[str] = []

    def close() -> None:
        if current:
            paragraphs.append(current.copy())
            current.clear()

    in_caps = [_is_caps(line) for line in lines]
    for i, line in enumerate(lines):
        if not line:
            close()
            continue
        caps = in_caps[i]
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _BULLET.match(line) or (caps and not (i and in_caps[i - 1])):
            close()
        current.append(line)
        if (
            (_ends_sentence(line) and len(line) < SHORT_LINE * typical)
            or (caps and not (following and in_caps[i + 1]))
            or (
                not caps
                and len(line) < HEADING_LINE * typical
                and any(c.isalpha() for c in line)
                and following[:1].isupper()
                and not _ends_sentence(line)
                and not _CONTINUES.search(line)
            )
        ):
            close()
    close()
    return "\n\n".join(" ".join(" ".join(paragraph).split()) for paragraph in paragraphs)


# --- the whole chain --------------------------------------------------------------------------------------


def clean_pages(raw_pages: Iterable[str]) -> list[str]:
    """Clean the raw page texts of one document; returns one cleaned text per page, in order. ``raw_pages`` is
    read once, page by page: a raw page that nothing else holds is let go as soon as it is normalised."""
    pages = [normalize_characters(page) for page in raw_pages]
    pages = drop_running_lines(pages)
    pages = join_hyphenated(pages)
    pages = drop_footnote_markers(pages)
    return [reflow(page) for page in pages]
