"""Spans that cut a large text into blocks, so that a pass over it never lists all its words at once.

A text file is one page however large it is: a 50 MB file holds some nine million words, and a regular
expression's ``findall`` or ``sub`` over it builds a list of millions of strings before anything else happens.
Passes that cannot match across some kind of boundary (a word never spans whitespace) run block by block
instead, with results identical to a single pass.
"""

from __future__ import annotations

import re

# Characters per block: a few megabytes of work at a time, and a text below this is one block.
BLOCK_CHARS = 1_000_000

WHITESPACE = re.compile(r"\s")
# Between the two line breaks of a blank line: no cleaning step matches across it.
BLANK_LINE = re.compile(r"(?<=\n)\n")


def block_spans(text: str, boundary: re.Pattern[str], size: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` spans that cover ``text`` in order, each at least ``size`` (``BLOCK_CHARS``) characters
    long but the last, each but the last ending where ``boundary`` matches (the match opens the next block).
    One span when the text is shorter than ``size`` or ``boundary`` does not occur past it."""
    size = size or BLOCK_CHARS
    spans: list[tuple[int, int]] = []
    start = 0
    while len(text) - start > size:
        found = boundary.search(text, start + size)
        if found is None:
            break
        spans.append((start, found.start()))
        start = found.start()
    spans.append((start, len(text)))
    return spans


def substitute(pattern: re.Pattern[str], replace, text: str, boundary: re.Pattern[str] = WHITESPACE) -> str:
    """``pattern.sub(replace, text)`` with a function ``replace``, run a block at a time when ``text`` is large
    (``re.sub`` holds every piece of its result in one list before joining them). ``pattern`` must never match
    across ``boundary``; ``replace`` still sees the whole text as ``match.string``, at its real offsets."""
    spans = block_spans(text, boundary)
    if len(spans) == 1:
        return pattern.sub(replace, text)
    blocks: list[str] = []
    for start, end in spans:
        pieces: list[str] = []
        last = start
        for match in pattern.finditer(text, start, end):
            pieces.append(text[last : match.start()])
            pieces.append(replace(match))
            last = match.end()
        pieces.append(text[last:end])
        blocks.append("".join(pieces))
    return "".join(blocks)
