"""Turning a follow-up question into a retrieval query, using the chat history and no LLM.

"How many of them were women?" means nothing to a search engine on its own. When a question reads as a
follow-up (it points back with a pronoun, opens with "and"/"what about", or is too short to stand alone), the
retrieval query adds the previous question and the start of the previous answer, which name the subject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.errors import TipError
from assistant.text.markers import strip_markers
from assistant.text.references import FOLLOWUP_REFERENCE
from assistant.text.terms import lexical_terms

if TYPE_CHECKING:
    from assistant.answering.answerability import QuestionReading

Turn = Mapping[str, str]  # {"role": "user" | "assistant", "content": "..."}

_CONTINUATIONS = re.compile(r"^\s*(and|but|also|so|then|what about|how about|what of|and what|why)\b", re.I)
# A question with this few content words may lean on the one before (see ``is_followup``).
SHORT_QUESTION_TERMS = 5
OWN_TERMS = 2
# A name (a capitalised word after the first) or a year.
_NAME_OR_YEAR = re.compile(r"(?<=\S\s)(?!I\b)[A-Z][\w'’-]*|\b(?:19|20)\d\d\b")
ANSWER_WORDS_KEPT = 60
# Where a compound question starts its next part: "...in MINUSMA, and what does the report say about Mali?"
_NEXT_PART = re.compile(
    r"(?:[,;]\s*|\s+)(?:and|but|also|as well as)\s+"
    r"(?=(?:what|which|who|whom|whose|how|where|when|why|is|are|does|do|did)\b)|;\s+|\?\s+(?=\S)",
    re.I,
)
MIN_PART_WORDS = 4


class HistoryError(TipError, ValueError):
    """A chat history that is not a list of {"role": "user"|"assistant", "content": str} turns."""


def checked_history(turns: object, where: str) -> list[dict[str, str]]:
    """``turns`` if it is a well-formed chat history; otherwise a ``HistoryError`` naming ``where``."""
    if not isinstance(turns, list):
        raise HistoryError(f'{where} must be a JSON list of {{"role", "content"}} objects')
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise HistoryError(f'{where}, item {i}: "role" must be "user" or "assistant"')
        if not isinstance(turn.get("content"), str):
            raise HistoryError(f'{where}, item {i}: "content" must be a string')
    return turns


@dataclass(frozen=True)
class RetrievalQuery:
    """What is searched for: ``text`` (the question, or a follow-up with its context), and what was read of
    the question."""

    text: str
    is_followup: bool
    # The parts of a compound question, each searched for too so that every part finds its passages; empty
    # for a one-part question.
    parts: tuple[str, ...] = ()
    # What the question asks and what an answer must satisfy (``assistant.answering.answerability``); None until read.
    reading: QuestionReading | None = None


def is_followup(question: str, history: Sequence[Turn]) -> bool:
    """Whether ``question`` leans on the conversation: it points back, opens with "and …", or is too short
    to stand alone (and there is a previous question). Short means few content words; a short question that
    names a place, a body or a year stands alone when it also has more than ``OWN_TERMS`` words of its own
    saying what it asks: "Is there an estimate for Burkina Faso?" leans on what came before, "How many
    survivors did the Arusha shelter network host?" does not."""
    if not any(t.get("role") == "user" for t in history):
        return False
    if FOLLOWUP_REFERENCE.search(question) or _CONTINUATIONS.search(question):
        return True
    terms = lexical_terms(question)
    if len(terms) > SHORT_QUESTION_TERMS:
        return False
    named = {word.lower() for match in _NAME_OR_YEAR.findall(question) for word in match.split()}
    return not named or len([t for t in terms if t not in named]) <= OWN_TERMS


def condense(question: str, history: Sequence[Turn]) -> RetrievalQuery:
    """The query to retrieve with: the question itself, or the question in the context of the last turn."""
    question = question.strip()
    if not is_followup(question, history):
        parts = question_parts(question)
        return RetrievalQuery(question, False, tuple(parts) if len(parts) > 1 else ())
    last_user = next((t["content"] for t in reversed(history) if t.get("role") == "user"), "")
    last_answer = next((t["content"] for t in reversed(history) if t.get("role") == "assistant"), "")
    answer_start = " ".join(strip_markers(last_answer).split()[:ANSWER_WORDS_KEPT])
    parts = [question, last_user.strip(), answer_start]
    return RetrievalQuery(" ".join(p for p in parts if p), True)


def question_parts(question: str) -> list[str]:
    """The separately answerable parts of a compound question, or the question whole. A fragment too short
    to stand alone stays with the part before it, joined as it was written."""
    question = question.strip()
    spans: list[tuple[int, int]] = []  # where each part starts and ends in the question
    start = 0
    for cut in [*_NEXT_PART.finditer(question), None]:
        end = cut.start() if cut else len(question)
        piece = question[start:end].strip()
        if piece and spans and (len(piece.split()) < MIN_PART_WORDS or len(lexical_terms(piece)) < 2):
            spans[-1] = (spans[-1][0], end)
        elif piece:
            spans.append((start, end))
        if cut:
            start = cut.end()
    return [question[s:e].strip() for s, e in spans]
