"""Reading a question against the library before answering it, and the evidence an answer sentence sits in.

``Answerability`` holds what this needs of the library (its vocabulary, page texts, the places each document
is about) and gives the chain three things:

* ``read``: the question with its typos corrected against the library's own words ("victms" is searched as
  "victims", and the answer says so), the documents it names (``assistant.documents_named``: each is
  searched and must be cited), and its constraints per part
  (``assistant.constraints``), including the referent of a follow-up;
* ``out_of_library``: a key term of the question that no passage contains ("Antarctica", "parrots"): the
  question is refused, naming the term, whatever retrieval returns;
* ``evidence``: the sentence, paragraph, heading and document scope around a span of a stored page, for the
  constraint checks.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from assistant.constraints import (
    Constraints,
    Evidence,
    PageContext,
    Referent,
    names_met,
    read_constraints,
    referent_of,
)
from assistant.conversation import RetrievalQuery, question_parts
from assistant.documents_named import DocumentMention, named_doc_ids, named_documents, profiles
from assistant.lexicon import Lexicon
from assistant.places import Place, place_mentions
from ingest.models import Chunk
from vectorstore.store import ChunkStore

# A document is "about" a place when that place is named on at least this share of its pages.
SCOPE_PAGE_SHARE = 0.4
SCOPE_MIN_PAGES = 3
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

    def asked_of(self, doc_id: str) -> str:
        return next((q for d, q in self.document_queries if d == doc_id), self.subject or self.question)
    unknown_terms: tuple[str, ...] = ()  # key terms no passage contains

    @property
    def notice(self) -> str | None:
        if not self.corrections:
            return None
        return f"Showing results for: {self.question}"


class Answerability:
    def __init__(self, store: ChunkStore):
        self.store = store
        self._lock = threading.Lock()
        self._lexicon: tuple[object, Lexicon] | None = None
        self._scopes: dict[tuple[str, str], tuple[Place, ...]] = {}
        self._texts: dict[tuple[str, str], str] = {}

    # ----- the library's words ----------------------------------------------------------------------------
    def lexicon(self) -> Lexicon:
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
        if fixes:
            parts = tuple(question_parts(corrected)) if query.parts else ()
            query = replace(query, text=query.text.replace(question.strip(), corrected.strip(), 1), parts=parts)
        referent = _referent(history) if query.is_followup else None
        parts = question_parts(corrected) if not query.is_followup else [corrected]
        library = profiles(self.store)
        part_mentions = [named_documents(part, library) for part in parts]
        constraints = tuple(
            read_constraints(part, [(m.start, m.end) for m in found], referent)
            for part, found in zip(parts, part_mentions, strict=True)
        )
        mentions = named_documents(corrected, library)
        documents = tuple(named_doc_ids(mentions))
        subject = _without(corrected, [(m.start, m.end) for m in mentions])
        reading = QuestionReading(
            question=corrected,
            corrections=tuple(fixes),
            constraints=constraints,
            documents=documents,
            subject=subject,
            document_queries=tuple((d, _asked_of(d, parts, part_mentions) or subject) for d in documents),
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

    def evidence(self, pages: PageContext, chunk: Chunk, start: int, end: int, sentence: str) -> Evidence:
        """The evidence around ``sentence``, which sits at page offsets ``start:end`` of ``chunk``'s page."""
        paragraph, heading = pages.around(chunk.doc_id, chunk.page_start, start, end)
        return Evidence(
            sentence=sentence,
            paragraph=paragraph,
            heading=heading,
            title=chunk.title,
            scope_places=self.scope_places(chunk.doc_id),
            page=pages.page(chunk.doc_id, chunk.page_start),
        )

    def names_absent(self, doc_id: str, names: Iterable[str]) -> frozenset[str]:
        """The ``names`` that no page of the document contains."""
        record = self.store.document(doc_id)
        if record is None:
            return frozenset()
        key = (doc_id, record.sha256)
        if key not in self._texts:
            pages = (self.store.page_text(doc_id, n) or "" for n in range(1, record.page_count + 1))
            self._texts[key] = "\n".join(pages)
        return frozenset(n for n in names if not names_met(n, self._texts[key]))

    def scope_places(self, doc_id: str) -> tuple[Place, ...]:
        """The places a document is mostly about: named on at least ``SCOPE_PAGE_SHARE`` of its pages
        (documents of fewer than ``SCOPE_MIN_PAGES`` pages have none). Kept per document version."""
        record = self.store.document(doc_id)
        if record is None or record.page_count < SCOPE_MIN_PAGES:
            return ()
        key = (doc_id, record.sha256)
        if key not in self._scopes:
            pages_naming: Counter[Place] = Counter()
            for number in range(1, record.page_count + 1):
                text = self.store.page_text(doc_id, number) or ""
                pages_naming.update({m.place for m in place_mentions(text)})
            needed = SCOPE_PAGE_SHARE * record.page_count
            self._scopes[key] = tuple(p for p, n in pages_naming.most_common() if n >= needed)
        return self._scopes[key]


def _referent(history: Sequence[Mapping[str, str]]) -> Referent | None:
    last_user = next((t["content"] for t in reversed(history) if t.get("role") == "user"), "")
    last_answer = next((t["content"] for t in reversed(history) if t.get("role") == "assistant"), "")
    return referent_of([last_user, last_answer[:REFERENT_ANSWER_CHARS]])


def _asked_of(doc_id: str, parts: Sequence[str], part_mentions: Sequence[Sequence[DocumentMention]]) -> str:
    """The part that names ``doc_id`` and the fewest other documents, without its naming phrases; "" when
    the question is one part (then the whole subject is asked of every document)."""
    if len(parts) < 2:
        return ""
    naming = [(len({m.doc_id for m in found}), part, found) for part, found in zip(parts, part_mentions, strict=True)
              if any(m.doc_id == doc_id for m in found)]  # fmt: skip
    if not naming:
        return ""
    _, part, found = min(naming, key=lambda n: n[0])
    return _without(part, [(m.start, m.end) for m in found])


def _without(text: str, spans: Sequence[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return " ".join(text.split())


def _as_written(term: str, question: str) -> str:
    """``term`` as the question spells it ("Antarctica", not "antarctica")."""
    found = re.search(rf"(?<!\w){re.escape(term)}(?!\w)", question, re.I)
    return found.group() if found else term
