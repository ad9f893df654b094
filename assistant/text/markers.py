"""Citation markers as answers carry them: "[1]", "[1, 2]", "[1; 3]", a run "[2][3]".

One spelling for every reader of them: the generative composer parses a model's markers, the follow-up
condenser strips them from the previous answer, the web UI and the conversation export place their support
marks after them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

# One marker; group 1 holds its numbers ("1, 2").
_ONE = r"\[(\d+(?:\s*[,;]\s*\d+)*)\]"
_ONE_UNGROUPED = r"\[\d+(?:\s*[,;]\s*\d+)*\]"

MARKER = re.compile(r"\s*" + _ONE)  # with the space before it
MARKER_RUN = re.compile(r"(?:\s*" + _ONE_UNGROUPED + r")*")  # zero or more markers in a row
LEADING_MARKERS = re.compile(r"^(?:\s*" + _ONE_UNGROUPED + r")+")
# The end of a marked sentence: "…fact [1]." or "…fact. [1][2]", when more text follows.
MARKED_END = re.compile(r"(?:" + _ONE_UNGROUPED + r"\s*[.!?]|[.!?]\s*(?:" + _ONE_UNGROUPED + r")+)(?=\s+\S)")


def marker_numbers(marker: re.Match) -> list[int]:
    """The numbers of a ``MARKER`` match: "[1; 3]" → [1, 3]."""
    return [int(n) for n in re.split(r"\s*[,;]\s*", marker.group(1))]


# A marker printed in a document ("referred 12 of them [2] to the clinic", a footnote "[^1]"): not one of
# ours, so it is shown with other brackets wherever document text stands among our markers.
_DOCUMENT_MARKER = re.compile(r"\[(\^?\d+(?:\s*[,;]\s*\d+)*)\]")


def neutralize_markers(text: str) -> str:
    """``text`` with bracketed numbers written as ［2］, so they cannot be read as citation markers
    (quotes and their offsets are left as they are; this is for display beside markers)."""
    return _DOCUMENT_MARKER.sub(lambda m: f"［{m.group(1)}］", text)


def strip_markers(text: str) -> str:
    """``text`` without its citation markers."""
    return MARKER.sub("", text)


Mark = TypeVar("Mark")


def place_marks(text: str, sentences: Sequence[str], marks: Sequence[Mark]) -> list[tuple[str, Mark | None]]:
    """``text`` cut after each of ``sentences`` and the citation markers that follow it, each piece paired with
    that sentence's mark: ``(piece, mark)`` in reading order, then ``(rest, None)`` for the text after the
    last sentence found, then ``("", mark)`` for each sentence not found in ``text``. Sentences are looked for
    in order from where the previous one ended, so a repeated wording is marked in its place; joining the
    pieces gives ``text`` back."""
    placed: list[tuple[str, Mark | None]] = []
    unplaced: list[tuple[str, Mark | None]] = []
    cursor = 0
    for sentence, mark in zip(sentences, marks, strict=True):
        at = text.find(sentence, cursor) if sentence else -1
        if at < 0:
            unplaced.append(("", mark))
            continue
        end = MARKER_RUN.match(text, at + len(sentence)).end()
        placed.append((text[cursor:end], mark))
        cursor = end
    return [*placed, (text[cursor:], None), *unplaced]
