"""Reading a question against the library before answering it, and the evidence an answer sentence sits in.

``Answerability`` holds what this needs of the library (its vocabulary, page texts, the places each document
is about) and gives the chain three things:

* ``read``: the question with its typos corrected against the library's own words ("victms" is searched as
  "victims", and the answer says so), the documents it names (``assistant.answering.documents_named``: each is
  searched and must be cited), and its constraints per part
  (``assistant.answering.constraints``), including the referent of a follow-up;
* ``out_of_library``: a key term of the question that no passage contains ("Antarctica", "parrots"): the
  question is refused, naming the term, whatever retrieval returns;
* ``evidence``: the sentence, paragraph, heading and document scope around a span of a stored page, for the
  constraint checks.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from assistant.answering.constraints import (
    Constraints,
    PageContext,
    Referent,
    SentenceContext,
    YearSpan,
    names_met,
    read_constraints,
    referent_of,
    year_spans,
)
from assistant.answering.conversation import RetrievalQuery, question_parts
from assistant.answering.documents_named import KIND_NOUNS, DocumentMention, named_doc_ids, named_documents, profiles
from assistant.text.lexicon import Lexicon
from assistant.text.places import Place, place_mentions
from assistant.text.references import POINTS_BACK
from ingest.models import Chunk
from vectorstore.catalog import DocumentRecord
from vectorstore.store import ChunkStore

T = TypeVar("T")

# A document is "about" a place when that place is named on at least this share of its pages.
SCOPE_PAGE_SHARE = 0.4
SCOPE_MIN_PAGES = 3
SCOPE_YEAR_PAGES = 2  # a report says what period its data covers at its start
# The previous turn's answer is read this far for the follow-up's referent.
REFERENT_ANSWER_CHARS = 300


@dataclass(frozen=True)
class QuestionReading:
    """What the question asks, as read before retrieval. ``question`` is the corrected text; ``corrections``
    the (typed, corrected) word pairs; ``constraints`` one per part of the question (one for a simple one)."""

    question: str
    corrections: tuple[tuple[str, str], ...] = ()
    constraints: tuple[Constraints, ...] = ()
    documents: tuple[str, ...] = ()  # doc ids the question names
    # The question without the phrases that name documents: what an answer is scored against, so that a
    # document's description of itself ("This guide aims to…") does not pass for an answer about it.
    subject: str = ""
    # What is asked of each named document: the part of the question that names it, without the naming phrase
    # ("where did it mostly take place in the ASU cases" asks the ASU study where, not the hotline report).
    document_queries: tuple[tuple[str, str], ...] = ()

    # For a question about several documents, the constraints of what is asked of each.
    document_constraints: tuple[tuple[str, Constraints], ...] = ()
    unknown_terms: tuple[str, ...] = ()  # key terms no passage contains

    def asked_of(self, doc_id: str) -> str:
        """What the question asks of the named document ``doc_id`` (its own part, without naming phrases),
        or the whole subject."""
        return next((q for d, q in self.document_queries if d == doc_id), self.subject or self.question)

    def constraints_of(self, doc_id: str) -> tuple[Constraints, ...]:
        """The constraints an answer from ``doc_id`` must meet: those of what is asked of it, when the
        question is about several documents, else one per part of the question."""
        own = next((c for d, c in self.document_constraints if d == doc_id), None)
        return (own,) if own is not None else self.constraints

    @property
    def notice(self) -> str | None:
        """ "Showing results for: …" when typos were corrected, else None."""
        if not self.corrections:
            return None
        return f"Showing results for: {self.question}"


class Answerability:
    """What reading a question needs of the library, kept per library version: its vocabulary, its pages,
    the places each document is about (see the module docstring)."""

    def __init__(self, store: ChunkStore):
        self.store = store
        self._lock = threading.Lock()
        self._lexicon: tuple[object, Lexicon] | None = None
        self._scopes: dict[tuple[str, str], tuple[Place, ...]] = {}
        self._scope_years: dict[tuple[str, str], tuple[YearSpan, ...]] = {}
        self._texts: dict[tuple[str, str], str] = {}

    # ----- the library's words ----------------------------------------------------------------------------
    def lexicon(self) -> Lexicon:
        """The library's vocabulary as a ``Lexicon``, rebuilt when the library's words change."""
        version = self.store.vocabulary_version()
        with self._lock:
            if self._lexicon is None or self._lexicon[0] != version:
                self._lexicon = (version, Lexicon(self.store.vocabulary()))
            return self._lexicon[1]

    # ----- reading the question ---------------------------------------------------------------------------
    def read(self, question: str, query: RetrievalQuery, history: Sequence[Mapping[str, str]]) -> RetrievalQuery:
        """``query`` with the question's reading attached; when typos were corrected, the retrieval text and
        the parts use the corrected question."""
        lexicon = self.lexicon()
        corrected, fixes = lexicon.correct(question)
        compound = question_parts(corrected)
        if fixes:
            parts = tuple(compound) if query.parts else ()
            query = replace(query, text=query.text.replace(question.strip(), corrected.strip(), 1), parts=parts)
        referent = _referent(history) if query.is_followup else None
        parts = compound if not query.is_followup else [corrected]
        library = profiles(self.store)
        part_mentions = [named_documents(part, library) for part in parts]
        constraints = _carried_over([
            read_constraints(part, [(m.start, m.end) for m in found], referent)
            for part, found in zip(parts, part_mentions, strict=True)
        ])  # fmt: skip
        mentions = named_documents(corrected, library)
        documents = tuple(named_doc_ids(mentions))
        subject = _without(corrected, [(m.start, m.end) for m in mentions])
        units = [unit for part in compound for unit in clauses(part)] if documents else []
        asked = document_queries(documents, units, [named_documents(u, library) for u in units])
        reading = QuestionReading(
            question=corrected,
            corrections=tuple(fixes),
            constraints=constraints,
            documents=documents,
            subject=subject,
            document_queries=tuple((d, asked.get(d, subject)) for d in documents),
            # Asked of several documents, each is held to the constraints of what is asked of it: "how much
            # did he send" asks a number of the FIU case, not of the guide's warning signs.
            document_constraints=tuple((d, read_constraints(asked[d], (), referent)) for d in documents if d in asked)
            if len(documents) > 1
            else (),
            unknown_terms=tuple(lexicon.unknown_key_terms(corrected)),
        )
        return replace(query, reading=reading)

    @staticmethod
    def out_of_library(reading: QuestionReading | None) -> str | None:
        """The refusal reason when the question's subject is nowhere in the library, else None."""
        if reading is None or not reading.unknown_terms:
            return None
        terms = " or ".join(f"“{_as_written(t, reading.question)}”" for t in reading.unknown_terms)
        return f"nothing in the library mentions {terms}"

    # ----- evidence -----------------------------------------------------------------------------------------
    def page_context(self) -> PageContext:
        """A page reader for one answer (it keeps the pages it read)."""
        return PageContext(self.store.page_text)

    def evidence(self, pages: PageContext, chunk: Chunk, start: int, end: int, sentence: str) -> SentenceContext:
        """The evidence around ``sentence``, which sits at page offsets ``start:end`` of ``chunk``'s page."""
        paragraph, heading = pages.around(chunk.doc_id, chunk.page_start, start, end)
        return SentenceContext(
            sentence=sentence,
            paragraph=paragraph,
            heading=heading,
            title=chunk.title,
            scope_places=self.scope_places(chunk.doc_id),
            scope_years=self.scope_years(chunk.doc_id),
            page=pages.page(chunk.doc_id, chunk.page_start),
        )

    def _per_version(
        self, cache: dict, doc_id: str, compute: Callable[[DocumentRecord], T], missing: T
    ) -> T:
        """``compute(record)`` for a document, kept per document version (id and content hash); ``missing``
        for a document no longer in the library."""
        record = self.store.document(doc_id)
        if record is None:
            return missing
        key = (doc_id, record.sha256)
        if key not in cache:
            cache[key] = compute(record)
        return cache[key]

    def _pages(self, record: DocumentRecord, last: int | None = None) -> list[str]:
        count = record.page_count if last is None else min(last, record.page_count)
        return [self.store.page_text(record.doc_id, n) or "" for n in range(1, count + 1)]

    def names_absent(self, doc_id: str, names: Iterable[str]) -> frozenset[str]:
        """The ``names`` that no page of the document contains."""
        text = self._per_version(self._texts, doc_id, lambda record: "\n".join(self._pages(record)), None)
        return frozenset() if text is None else frozenset(n for n in names if not names_met(n, text))

    def scope_years(self, doc_id: str) -> tuple[YearSpan, ...]:
        """The periods a document says its data covers: those of several years stated on its first
        ``SCOPE_YEAR_PAGES`` pages, where a report says what it covers ("data from January 2020 through
        August 2022")."""

        def periods(record: DocumentRecord) -> tuple[YearSpan, ...]:
            spans = year_spans("\n".join(self._pages(record, SCOPE_YEAR_PAGES)))
            return tuple(dict.fromkeys(s for s in spans if s.first != s.last and not s.open_end))

        return self._per_version(self._scope_years, doc_id, periods, ())

    def scope_places(self, doc_id: str) -> tuple[Place, ...]:
        """The places a document is mostly about: named on at least ``SCOPE_PAGE_SHARE`` of its pages
        (documents of fewer than ``SCOPE_MIN_PAGES`` pages have none)."""

        def places(record: DocumentRecord) -> tuple[Place, ...]:
            if record.page_count < SCOPE_MIN_PAGES:
                return ()
            pages_naming: Counter[Place] = Counter()
            for text in self._pages(record):
                pages_naming.update({m.place for m in place_mentions(text)})
            needed = SCOPE_PAGE_SHARE * record.page_count
            return tuple(p for p, n in pages_naming.most_common() if n >= needed)

        return self._per_version(self._scopes, doc_id, places, ())


def _carried_over(parts: Sequence[Constraints]) -> tuple[Constraints, ...]:
    """Each part that points back at the part before it, with that part's years, places and names when it
    states none of its own: "Who in Denver uses the checklist, and which young people is it used with?" asks
    the second part of Denver too."""
    out: list[Constraints] = []
    for part in parts:
        before = out[-1] if out else None
        if before is not None and POINTS_BACK.search(part.question):
            part = replace(
                part,
                years=part.years or before.years,
                places=part.places or before.places,
                names=part.names or before.names,
            )
        out.append(part)
    return tuple(out)


def _referent(history: Sequence[Mapping[str, str]]) -> Referent | None:
    last_user = next((t["content"] for t in reversed(history) if t.get("role") == "user"), "")
    last_answer = next((t["content"] for t in reversed(history) if t.get("role") == "assistant"), "")
    return referent_of([last_user, last_answer[:REFERENT_ANSWER_CHARS]])


# A sentence or a colon ends a clause the question's documents are assigned by: "Comparing the ASU study
# with the hotline data: where did it take place in the ASU cases".
_CLAUSE_END = re.compile(r"(?<=[a-z0-9)'\"”’][.:])\s+(?=[A-Z])|:\s+(?=(?:what|which|who|how|where|when|why)\b)", re.I)
# Text between two naming phrases that joins them ("the IACP guide and the SRO guide"): both are asked it all.
_COORDINATION = re.compile(r"^[\s,]*(?:and|or|with|versus|vs\.?|as well as|&)?[\s,]*$", re.I)
# A naming phrase after a preposition closes what is asked of it ("the average sentence … in the ASU study").
_POSTPOSED = re.compile(r"\b(?:in|from|of|by|to|within|under|per|according to)\s*$", re.I)
# A clause that asks or requests something rather than setting the scene.
_ASKS = re.compile(
    r"\W*(?:what|which|who|whom|whose|how|where|when|why|is|are|was|were|does|do|did|can|could|should|would|"
    r"will|has|have|give|list|name|tell|describe|compare|explain|summari[sz]e)\b",
    re.I,
)
_JOINT = re.compile(r"[,;]\s*(?:and|but|while|whereas)?\b|\s(?:and|but|while|whereas)\s", re.I)


def clauses(part: str) -> list[str]:
    """``part`` cut at sentence ends and at a colon before a question."""
    return [c.strip() for c in _CLAUSE_END.split(part) if c.strip()]


def document_queries(
    documents: Sequence[str], units: Sequence[str], unit_mentions: Sequence[Sequence[DocumentMention]]
) -> dict[str, str]:
    """What the question asks of each named document, without the naming phrases; a document left out has
    the whole question asked of it.

    ``units`` are the question's clauses (``clauses`` of each part), ``unit_mentions`` the naming phrases
    found in each. A clause naming one document is asked of it. A clause naming several at different
    places is cut between them ("the term given to Adele in the case studies compare with the average
    sentence in the ASU study"); one naming them together ("Compare what the IACP guide and the SRO guide
    say about…") is asked of each. A document named only together with others is then asked the clauses
    that name no document, the last ones first ("Comparing the ASU study with the hotline data: where … in
    the ASU cases, and which types were reported most to the hotline?": the hotline is asked the last). The
    clauses naming several together, and statements naming none, are asked of every document before its
    own."""
    own: dict[str, list[str]] = {}
    shared: dict[int, str] = {}  # clause index → text asked of every document
    unnamed: dict[int, str] = {}
    for n, (unit, found) in enumerate(zip(units, unit_mentions, strict=True)):
        named = list(dict.fromkeys(m.doc_id for m in found))
        if not named:
            unnamed[n] = unit
        elif len(named) == 1:
            own.setdefault(named[0], []).append(_without(unit, [(m.start, m.end) for m in found]))
        elif (segments := _segments(unit, found)) is not None:
            for doc_id, segment in segments:
                own.setdefault(doc_id, []).append(segment)
        else:
            shared[n] = _without(unit, [(m.start, m.end) for m in found])
    lacking = [d for d in documents if d not in own]
    if lacking and len(unnamed) >= len(lacking):
        for doc_id, n in zip(lacking, list(unnamed)[-len(lacking) :], strict=True):
            own[doc_id] = [unnamed.pop(n)]
    # Statements naming no document set the scene for all ("Sugar-daddy arrangements keep coming up. What
    # warning sign about them does the SRO guide list…"); a question naming none asks something else.
    scene = {n: text for n, text in unnamed.items() if not _ASKS.match(text) and not text.endswith("?")}
    context = [text for _, text in sorted({**shared, **scene}.items())]
    return {d: _without_kind_nouns(" ".join([*context, *own.get(d, [])])) for d in documents if own.get(d) or context}


def _without_kind_nouns(text: str) -> str:
    """``text`` without the words that name a kind of document ("which case-study defendant…"): asked of
    one document, they match its descriptions of itself ("Each case study examines…"), not answers."""
    words = [w for w in text.split() if not all(p.lower() in KIND_NOUNS for p in re.findall(r"\w+", w) or ["x"])]
    return " ".join(words)


def _segments(unit: str, found: Sequence[DocumentMention]) -> list[tuple[str, str]] | None:
    """``unit`` cut into what is asked of each document it names at different places, or None when it
    names them together or the cut is unclear."""
    found = sorted(found, key=lambda m: m.start)
    for before, after in zip(found, found[1:], strict=False):
        if before.doc_id != after.doc_id and _COORDINATION.match(unit[before.end : after.start]):
            return None
    # Where what is asked of one ends and of the next begins: after a phrase that closes its text ("… in the
    # case studies"), before one that opens its text ("the IACP guide says …"), else at the last joint
    # between them ("does the SRO guide list, and in the FIU case …").
    bounds = [0]
    for before, after in zip(found, found[1:], strict=False):
        if _POSTPOSED.search(unit[: before.start]):
            bounds.append(before.end)
        elif not _POSTPOSED.search(unit[: after.start]):
            bounds.append(after.start)
        elif joints := list(_JOINT.finditer(unit, before.end, after.start)):
            bounds.append(joints[-1].start())
        else:
            return None
    bounds.append(len(unit))
    pieces: dict[str, list[str]] = {}
    for m, start, end in zip(found, bounds, bounds[1:], strict=False):
        spans = [(x.start - start, x.end - start) for x in found if start <= x.start and x.end <= end]
        pieces.setdefault(m.doc_id, []).append(_without(unit[start:end], spans))
    return [(d, " ".join(p)) for d, p in pieces.items()]


def _without(text: str, spans: Sequence[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return " ".join(text.split())


def _as_written(term: str, question: str) -> str:
    """``term`` as the question spells it ("Antarctica", not "antarctica")."""
    found = re.search(rf"(?<!\w){re.escape(term)}(?!\w)", question, re.I)
    return found.group() if found else term
