"""The ``Answer`` value that every front end receives: UI, CLI ``--json``, evaluation and export.

A citation means the same everywhere: a document, a physical page, and a character span of that page's
cleaned text, with the quoted text itself (``quote == page_text[start:end]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from enum import Enum

from ingest.models import Chunk, location_of

# How a long job reports how far it is: ``progress(stage, done, total)``, e.g. ("check", 2, 5) once the second
# of five paragraphs is checked. Summaries, cited drafts and both evaluations report this way.
Progress = Callable[[str, int, int], None]

REFUSAL_TEXT = "The library does not appear to contain an answer to this question."
RELATED_SHOWN = 3


class SupportLabel(Enum):
    SUPPORTED = "supported"
    PARTIAL = "partial"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class PageSpan:
    """A quoted span of one page: ``quote == page_text[start:end]``, where ``page_text`` is the cleaned text of
    physical ``page`` (1-based) of document ``doc_id`` (file ``source``, titled ``title``). Offsets are
    characters. Citations, support spans, notes and retrieved passages are all page spans."""

    doc_id: str
    source: str  # file name
    title: str
    page: int
    start: int
    end: int
    quote: str

    @classmethod
    def of_chunk(cls, chunk: Chunk, start: int | None = None, end: int | None = None) -> PageSpan:
        """The span ``start:end`` (page offsets, within ``chunk``) of ``chunk``'s page; the whole chunk by default."""
        start = chunk.char_start if start is None else start
        end = chunk.char_end if end is None else end
        offset = chunk.char_start
        quote = chunk.text[start - offset : end - offset]
        return PageSpan(chunk.doc_id, chunk.source, chunk.title, chunk.page_start, start, end, quote)

    @property
    def location(self) -> str:
        """"p. 12" for a page, "section 3" for a section of a Word file or web page (``ingest.models``)."""
        return location_of(self.source, self.page)

    @property
    def where(self) -> tuple[str, int, int, int]:
        """Document, page and offsets: two spans with the same ``where`` quote the same text."""
        return (self.doc_id, self.page, self.start, self.end)

    def span(self) -> PageSpan:
        """Just the page span of this value (of a ``Citation`` or ``SentenceSupport``)."""
        return PageSpan(self.doc_id, self.source, self.title, self.page, self.start, self.end, self.quote)


@dataclass(frozen=True)
class Citation(PageSpan):
    """A numbered page span an answer cites as ``[n]``, with the retrieved passage it was taken from
    (``context``, starting at page offset ``context_start``) for display around the quote."""

    n: int = 0
    chunk_id: str = ""
    context: str = ""
    context_start: int = 0

    @classmethod
    def from_chunk(cls, n: int, chunk: Chunk, start: int, end: int) -> Citation:
        """Citation ``[n]`` of the page span ``start:end``, which lies within ``chunk``."""
        return cls.of_span(n, PageSpan.of_chunk(chunk, start, end), chunk)

    @classmethod
    def of_span(cls, n: int, span: PageSpan, chunk: Chunk | None = None) -> Citation:
        """Citation ``[n]`` of ``span``; its context is ``chunk`` when given, else the quote itself."""
        if chunk is None:
            return cls(**_fields(span), n=n, context=span.quote, context_start=span.start)
        return cls(**_fields(span), n=n, chunk_id=chunk.chunk_id, context=chunk.text, context_start=chunk.char_start)


class CitationList:
    """Citations numbered from 1 in order of first use; citing the same span again gives its number back."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._numbers: dict[tuple[str, int, int, int], int] = {}

    def cite(self, span: PageSpan, chunk: Chunk | None = None) -> int:
        """The number of ``span``, new if it was not cited before (``chunk``: its passage, for context)."""
        n = self._numbers.get(span.where)
        if n is None:
            n = self._numbers[span.where] = len(self.citations) + 1
            self.citations.append(Citation.of_span(n, span, chunk))
        return n


@dataclass(frozen=True)
class SentenceSupport(PageSpan):
    """How well a sentence is backed, and by which page span: filled by the support checker
    (``assistant.grounding.support``). ``score`` is in [0, 1]; an unsupported sentence with no candidate
    span at all has an empty span (``SentenceSupport.nothing()``)."""

    label: SupportLabel = SupportLabel.UNSUPPORTED
    score: float = 0.0
    # Why the span cannot back the sentence, in words ("numbers not in the passage: 87"); empty when it can.
    reasons: tuple[str, ...] = ()

    @classmethod
    def of_span(
        cls, label: SupportLabel, score: float, span: PageSpan, reasons: tuple[str, ...] = ()
    ) -> SentenceSupport:
        """``label`` with ``score`` for ``span``."""
        return cls(**_fields(span), label=label, score=score, reasons=reasons)

    @classmethod
    def nothing(cls) -> SentenceSupport:
        """Unsupported, with no span: there was nothing to check the sentence against."""
        return cls("", "", "", 0, 0, 0, "")


def _fields(span: PageSpan) -> dict:
    return {f.name: getattr(span, f.name) for f in fields(PageSpan)}


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citations: tuple[int, ...]
    support: SentenceSupport | None = None


@dataclass(frozen=True)
class RetrievedPassage(PageSpan):
    """One passage the retrieval step returned, best first, with its retrieval ``score``: what evaluation
    and debugging look at. The ``quote`` is the whole passage."""

    chunk_id: str = ""
    score: float = 0.0

    @classmethod
    def of_chunk_scored(cls, chunk: Chunk, score: float) -> RetrievedPassage:
        """``chunk`` as retrieved with ``score``."""
        return cls(**_fields(PageSpan.of_chunk(chunk)), chunk_id=chunk.chunk_id, score=score)


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
        """The library does not hold the answer: say so, and offer the closest passages as related only, the
        best one of each page (several passages of one page would be listed as the same place)."""
        pages = {(c.doc_id, c.page_start): c for c in reversed(closest)}  # the earliest, best-ranked, wins
        shown = [c for c in closest if pages[(c.doc_id, c.page_start)] is c][:RELATED_SHOWN]
        related = tuple(Citation.from_chunk(n, c, c.char_start, c.char_end) for n, c in enumerate(shown, 1))
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
            "citations": [citation_dict(c) for c in self.citations],
            "sentences": [
                {
                    "text": s.text,
                    "citations": list(s.citations),
                    "support": _support_dict(s.support),
                }
                for s in self.sentences
            ],
            "related": [citation_dict(c) for c in self.related],
            # what was retrieved, best first, without the text (the citations quote what matters)
            "retrieved": [_pick(asdict(p), RETRIEVED_KEYS) for p in self.retrieved],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


# The JSON keys of ``ask --json``, in the order README.md documents them.
CITATION_KEYS = ("n", "doc_id", "source", "title", "page", "start", "end", "quote", "chunk_id", "context",
                 "context_start")  # fmt: skip
SUPPORT_KEYS = ("label", "score", "doc_id", "source", "page", "start", "end", "quote", "reasons")
RETRIEVED_KEYS = ("chunk_id", "doc_id", "source", "page", "start", "end", "score")  # without the passage text


def _pick(values: dict, keys: Sequence[str]) -> dict:
    return {k: values[k] for k in keys}


def citation_dict(c: Citation) -> dict:
    """A citation as ``ask --json`` gives it (``CITATION_KEYS``)."""
    return _pick(asdict(c), CITATION_KEYS)


def _support_dict(s: SentenceSupport | None) -> dict | None:
    if s is None:
        return None
    return _pick(asdict(s), SUPPORT_KEYS) | {"label": s.label.value}
