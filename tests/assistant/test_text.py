"""The text helpers every layer shares: citation markers and shortening for display."""

from __future__ import annotations

from assistant.text.markers import (
    LEADING_MARKERS,
    MARKED_END,
    MARKER,
    MARKER_RUN,
    marker_numbers,
    place_marks,
    strip_markers,
)
from assistant.text.shorten import shorten


def test_markers_in_every_spelling_are_found_and_stripped():
    text = "Fees rose [1]. Then they fell [2, 3] and rose [4; 5][6]."
    assert [marker_numbers(m) for m in MARKER.finditer(text)] == [[1], [2, 3], [4, 5], [6]]
    assert strip_markers(text) == "Fees rose. Then they fell and rose."
    assert MARKER_RUN.match(text, text.index(" [4")).group() == " [4; 5][6]"
    assert LEADING_MARKERS.match("[1][2] Fees rose.").group() == "[1][2]"
    # where a marked sentence ends, when another follows
    assert [m.group() for m in MARKED_END.finditer("Fees rose [1]. Then fell. [2] More.")] == ["[1].", ". [2]"]
    assert strip_markers("A year [2023 edition] stays.") == "A year [2023 edition] stays."  # not a marker


def test_marks_go_after_each_sentence_and_its_markers():
    text = "Fees rose. [1, 2][3] Fees rose. [4] Then more."
    placed = place_marks(text, ["Fees rose.", "Fees rose.", "Gone."], ["a", "b", "c"])
    # a repeated wording is found in its place; a sentence not in the text is marked at the end
    assert placed == [("Fees rose. [1, 2][3]", "a"), (" Fees rose. [4]", "b"), (" Then more.", None), ("", "c")]
    assert "".join(piece for piece, _ in placed) == text
    assert place_marks("", [], []) == [("", None)]


def test_shorten_cuts_at_a_word_and_stays_within_the_limit():
    assert shorten("a  b\n\tc", 20) == "a b c"
    cut = shorten("word " * 30, 20)
    assert cut == "word word word…" and len(cut) <= 20
    # a single long word is cut inside it rather than thrown away
    assert shorten("x" * 50, 10) == "x" * 9 + "…"
