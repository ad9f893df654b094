"""Shortening a quote or a question for display: one line, cut at a word, ended with "…"."""

from __future__ import annotations

# A cut goes back to the last word boundary unless that would throw away more than this share of the limit.
WORD_CUT_SHARE = 0.6


def shorten(text: str, limit: int) -> str:
    """``text`` with runs of whitespace made one space and, when longer than ``limit`` characters, cut at a
    word boundary and ended with "…" (at most ``limit`` characters in all)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * WORD_CUT_SHARE:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"
