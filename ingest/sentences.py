"""Sentence spans over a text, shared by chunking, answer composition and support checking.

Boundaries come from blingfire's sentence model (a maintained finite-state splitter). Its own Python
wrapper maps byte offsets to character offsets with a per-byte Python loop, which is the slow part, so
this module calls the library entry point directly and maps only the offsets it needs.

Guarantees of :func:`split_sentences`:

* spans index the original text: ``text[start:end]`` is the sentence, without surrounding whitespace;
* spans are sorted, do not overlap and never cross a paragraph break (a blank line);
* every non-whitespace character of ``text`` lies in exactly one span.

The last two hold whatever the model does, because the model only proposes cut points: the text is
partitioned at those cut points and at paragraph breaks, and each part is then stripped.
"""

from __future__ import annotations

import ctypes
import re
from itertools import pairwise

import blingfire
import numpy as np

# A blank line (possibly holding spaces) separates paragraphs.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")

# blingfire never starts a sentence with a digit: "UNODC trained 900 judges in 2023. 87 victims were
# identified" is one sentence to it. A full stop after a word or number that is not an abbreviation ("Fig.",
# "p.", "No."), followed by a number, ends a sentence too.
_ENDS_BEFORE_NUMBER = re.compile(r"(?<![^\s(\[])([\w%)\]’”\"]+)[.!?]\s+(?=\d)")
_ABBREVIATIONS = frozenset(
    """fig figs no nos nr n p pp art arts vol vols para paras sec secs ch chap eq ref refs tab approx ca c cf vs v
    op ed eds pt pts s ss r rev""".split()
)

_text_to_sentences = blingfire.blingfire.TextToSentencesWithOffsets
# Text handed to the model in one call, in characters (whole paragraphs, so a block can be longer).
_BLOCK_CHARS = 100_000


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` character spans of the sentences of ``text``."""
    if not text or text.isspace():
        return []
    cuts = {0}
    block_start = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        cuts.add(match.start())
        cuts.add(match.end())
        # The model runs on blocks of whole paragraphs: bounded buffers, and no cut is lost because
        # paragraph breaks are cuts anyway.
        if match.start() - block_start >= _BLOCK_CHARS:
            cuts.update(_sentence_starts(text, block_start, match.start()))
            block_start = match.end()
    cuts.update(_sentence_starts(text, block_start, len(text)))
    cuts.update(m.end() for m in _ENDS_BEFORE_NUMBER.finditer(text) if m.group(1).lower() not in _ABBREVIATIONS)
    cuts.discard(len(text))
    boundaries = sorted(cuts)
    boundaries.append(len(text))

    spans: list[tuple[int, int]] = []
    for start, end in pairwise(boundaries):
        segment = text[start:end]
        stripped = segment.strip()
        if stripped:
            lead = len(segment) - len(segment.lstrip())
            spans.append((start + lead, start + lead + len(stripped)))
    return spans


def _sentence_starts(text: str, start: int, end: int) -> list[int]:
    """Offsets in ``text`` where blingfire starts a sentence within ``text[start:end]``.

    Empty when the library refuses the input (e.g. invalid UTF-8 from lone surrogates): the caller then
    falls back to paragraph boundaries, which keeps every guarantee but the sentence granularity.
    """
    block = text[start:end]
    data = block.encode("utf-8", "surrogatepass")
    size = len(data)
    if size == 0:
        return []
    # The library may write up to ``limit`` bytes of text (it can add line breaks between sentences) and
    # zero-fills both offset arrays up to ``limit``, so all three buffers get the same generous size, as in
    # blingfire's own wrapper. The text output is not needed.
    limit = 2 * size + 16
    out = ctypes.create_string_buffer(limit)
    starts = (ctypes.c_int32 * limit)()
    ends = (ctypes.c_int32 * limit)()
    status = _text_to_sentences(ctypes.c_char_p(data), ctypes.c_int(size), out, starts, ends, ctypes.c_int(limit))
    if status < 0 or status > limit:
        return []
    offsets = np.frombuffer(starts, dtype=np.int32)
    # Starts increase strictly, so after the first one the zero fill marks the end of the list.
    zeros = np.flatnonzero(offsets[1:] == 0)
    count = 1 + (int(zeros[0]) if zeros.size else limit - 1)
    byte_starts = [offset for offset in offsets[:count].tolist() if 0 <= offset < size]
    if size == len(block):  # ASCII: bytes and characters coincide
        return [start + offset for offset in byte_starts]
    return [start + offset for offset in _bytes_to_chars(data, byte_starts)]


def _bytes_to_chars(data: bytes, byte_offsets: list[int]) -> list[int]:
    """Map sorted UTF-8 byte offsets to character offsets, decoding each stretch once."""
    chars: list[int] = []
    previous_byte = 0
    previous_char = 0
    for offset in byte_offsets:
        while offset > previous_byte and data[offset] & 0xC0 == 0x80:  # snap to a character start
            offset -= 1
        previous_char += len(data[previous_byte:offset].decode("utf-8", "surrogatepass"))
        previous_byte = offset
        chars.append(previous_char)
    return chars
