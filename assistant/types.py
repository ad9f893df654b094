"""The ``Answer`` value that every front end receives: UI, CLI ``--json``, evaluation and export.

A citation means the same everywhere: a document, a physical page, and a character span of that page's
cleaned text, with the quoted text itself (``quote == page_text[start:end]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum

from ingest.models import Chunk

REFUSAL_TEXT = "The library does not appear to contain an answer to this question."
RELATED_SHOWN = 3


class SupportLabel(Enum):
    SUPPORTED = "supported"
    PARTIAL = "partial"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Citation:
    n: int  # the number shown as [n] in the answer
    doc_id: str
    source: str  # file name
    title: str
    page: int  # 1-based physical page
    start: int  # span of the quoted passage in the page's cleaned text
    end: int
    quote: str
    chunk_id: str
    context: str  # the retrieved passage the quote was taken from, for display around it
    context_start: int  # page offset of ``context``

    @classmethod
    def from_chunk(cls, n: int, chunk: Chunk, start: int, end: int) -> Citation:
        """Citation of the page span ``start:end``, which lies within ``chunk``."""
        offset = chunk.char_start
        return cls(
            n=n,
            doc_id=chunk.doc_id,
            source=chunk.source,
            title=chunk.title,
            page=chunk.page_start,
            start=start,
            end=end,
            quote=chunk.text[start - offset : end - offset],
            chunk_id=chunk.chunk_id,
            context=chunk.text,
            context_start=offset,
        )


@dataclass(frozen=True)
class SentenceSupport:
    """How well a sentence is backed, and by which span: filled by the support checker
    (``assistant.grounding.support``). The span is ``page_text[start:end] == quote`` of ``source``'s ``page``."""

    label: SupportLabel
    score: float
    doc_id: str
    source: str
    page: int
    start: int
    end: int
    quote: str
    # Why the span cannot back the sentence, in words ("numbers not in the passage: 87"); empty when it can.
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citations: tuple[int, ...]
    support: SentenceSupport | None = None


@dataclass(frozen=True)
class RetrievedPassage:
    """One passage the retrieval step returned, best first: what evaluation and debugging look at."""

    chunk_id: str
    doc_id: str
    source: str
    page: int
    start: int
    end: int
    score: float
    text: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    refused: bool
    retrieval_query: str
    related: tuple[Citation, ...] = ()  # shown as "possibly related" when refused, never as an answer
    refusal_reason: str = ""  # why the library is taken not to hold the answer, for the reader
    retrieved: tuple[RetrievedPassage, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    # What the reader should know about how the answer was made: the model was unreachable and the answer
    # is extractive, sentences without support were dropped, a citation was corrected.
    notices: tuple[str, ...] = ()

    @classmethod
    def refusal(cls, question: str, retrieval_query: str, closest: Sequence[Chunk], reason: str = "") -> Answer:
        """The library does not hold the answer: say so, and offer the closest passages as related only."""
        related = tuple(
            Citation.from_chunk(n, c, c.char_start, c.char_end) for n, c in enumerate(closest[:RELATED_SHOWN], 1)
        )
        return cls(question, REFUSAL_TEXT, (), (), True, retrieval_query, related=related, refusal_reason=reason)

    def citation(self, n: int) -> Citation:
        return next(c for c in self.citations if c.n == n)

    def to_dict(self) -> dict:
        """The JSON shape of ``ask --json``."""
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "notices": list(self.notices),
            "retrieval_query": self.retrieval_query,
            "citations": [_citation_dict(c) for c in self.citations],
            "sentences": [
                {
                    "text": s.text,
                    "citations": list(s.citations),
                    "support": _support_dict(s.support),
                }
                for s in self.sentences
            ],
            "related": [_citation_dict(c) for c in self.related],
            # what was retrieved, best first, without the text (the citations quote what matters)
            "retrieved": [{k: v for k, v in asdict(p).items() if k != "text"} for p in self.retrieved],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


def _citation_dict(c: Citation) -> dict:
    return asdict(c)


def _support_dict(s: SentenceSupport | None) -> dict | None:
    if s is None:
        return None
    d = asdict(s)
    d["label"] = s.label.value
    return d
