"""Document-level cleaning of raw page texts as pypdf extracts them.

Cleaning works on a whole document because two defects can only be judged with all pages at hand:
running headers/footers (a line is "running" when it repeats across pages) and words hyphenated at line
ends (whether "self-\\nemployed" keeps its hyphen depends on how the document writes the word elsewhere).

The steps, each a pure function applied once per page or once per document, in this order:

1. :func:`normalize_characters` - NFKC (ligatures, odd spaces, maths letters), soft hyphens and zero-width
   characters removed, bullet glyphs of symbol fonts turned into "•", dot leaders shortened.
2. :func:`drop_running_lines` - running headers/footers and bare page numbers at the top or bottom of pages.
3. :func:`join_hyphenated` - "traf-\\nficking" -> "trafficking", decided per word with the document's vocabulary.
4. :func:`reflow` - lines of a paragraph joined with single spaces, paragraphs separated by exactly "\\n\\n".

The output of :func:`clean_pages` is the text that page offsets, chunks and citations point into.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

__all__ = [
    "clean_pages",
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
    """NFKC plus removal of invisible characters and normalisation of spaces and line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
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
    words = Counter(_WORD.findall(text))
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


# --- 4. paragraphs and spaces -----------------------------------------------------------------------------

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


# A superscript footnote number comes out of the PDF as digits glued to the punctuation after a word:
# "advocacy.20 The", "growing,1 with". Left in, they hide sentence ends from the splitter. A number glued to
# a digit ("30.2") is a decimal and stays.
_FOOTNOTE_MARKER = re.compile(r"(?<=[^\W\d_][.,;:!?”\"’)])\d{1,3}(?=\s|$)")


def drop_footnote_markers(text: str) -> str:
    return _FOOTNOTE_MARKER.sub("", text)


def clean_pages(raw_pages: list[str]) -> list[str]:
    """Clean the raw page texts of one document; returns one cleaned text per page, in order."""
    pages = [normalize_characters(page) for page in raw_pages]
    pages = drop_running_lines(pages)
    pages = join_hyphenated(pages)
    return [drop_footnote_markers(reflow(page)) for page in pages]
