"""The default composer: answers with sentences taken verbatim from the retrieved passages. No LLM.

Every sentence of an extractive answer is a sentence of a stored page, so its citation points at exactly
the text it repeats. The composer chooses which sentences answer the question, puts them in a readable
order, numbers the passages they come from, and refuses when nothing retrieved is close enough.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.answering.answerability import Answerability
from assistant.answering.constraints import AnswerKind, SentenceContext, Unmet, gap_reason
from assistant.answering.conversation import RetrievalQuery, question_parts
from assistant.text.instructions import instructs_the_reader
from assistant.text.markers import neutralize_markers
from assistant.text.references import LEANS_BACK
from assistant.text.terms import prefix_stems
from assistant.types import Answer, AnswerSentence, Citation
from ingest.models import Chunk
from ingest.sentences import split_sentences
from ingest.structured import ROW_SEPARATOR, TABLE_ROW
from vectorstore.embeddings import Embedder
from vectorstore.store import ScoredChunk
from vectorstore.text_vectors import Encoder

_QUANTITY_QUESTION = re.compile(
    r"\b(how (many|much|long|old|often|large)|what (number|share|proportion|percentage|fraction|age|year|amount)|"
    r"which year|when|figure|rate|average|median|typical age|sentence|prison|term|percent|estimate|cost|paid)\b",
    re.I,
)
_HAS_NUMBER = re.compile(r"\d")
# A question about plans is answered by what a document says will happen, not by what happened.
_FUTURE_QUESTION = re.compile(
    r"\b(plan(?:s|ned)?|will|going to|intends?|next|upcoming|forthcoming|future|ahead|rest of|remainder of)\b", re.I
)
_STATES_FUTURE = re.compile(
    r"\b(will|shall|plans? to|planned|intends? to|going to|looking ahead|upcoming|forthcoming|"
    r"next (?:year|phase|steps?)|in the future|(?:is|are) (?:expected|scheduled|set) to)\b",
    re.I,
)
_ENDS_LIKE_PROSE = re.compile(r"[.!?:;)\"”’]\s*$")
_CLOSES_STATEMENT = re.compile(r"[.!?;)\"”’]\s*$")  # as above, without the colon that opens a list
# Endnotes and references read like sentences but are sources, not statements: "39 UNODC, Global Report…".
_REFERENCE = re.compile(
    r"^\d{1,3}\s+(?:See\b|Ibid|Id\.|(?:[A-Z][\w.&'’-]*\s+){0,5}[A-Z][\w.&'’-]*,)"  # "98 Burkina Faso, Ministry…"
    r"|\b[Ii]bid\b|\baccessed\b.*\d{4}|^Endnotes\b"
    r"|\((?:[A-Z][a-z]+\s+)?(?:19|20)\d\d\)[.;]"  # a publication date closing a reference: "(March 2023)."
    r"|\.\.\.\s*\d+\b.*\.\.\.\s*\d+\b"  # a table of contents: "Introduction ... 1 Scope ... 2"
    r"|^(?:Sources?|Notes?)\s*:|\bFig\.\s*\d+"  # figure captions and their source lines
    r"|(?:https?://|\bwww\.).*/\S*\s*$"  # a note or reference that ends with its web address
    r"|^\([^()]{3,80}\b(?:19|20)\d\d[a-z]?\)\."  # the tail of a reference: "(Overseas Development Institute, 2016)."
    r"|\be-?mail\s+(?:to|from)\b|\bpersonal communication\b"  # "…, e-mail to Kelly Burke (…), 2015."
    r"|\b[A-Z]/\d{2,}/\d+"  # a UN document symbol: "(A/78/842-S/2024/384)"
    r"|\bgrant\s*(?:#|no\.|number)\s*[\w-]*\d"  # a funding acknowledgement: "…, Grant # 90ZV0138-01-00."
    r"|^\d{1,3}\s+[A-Z][\w ,’'-]{0,40}\.?$"  # a running header with its page number: "70 Children in armed conflict."
)
# List markers are layout, not content: "- In 2023, …", "• 36.7% …", "ii. An abundance …".
# (and a footnote letter before a capital: "a Between July 2023 …")
_LIST_MARKER = re.compile(r"(?:[-–•»▪◦*o]|\(?[ivx]{1,4}[.)]|\(?\d{1,2}[.)]|\(?[a-h][.)])\s+|[a-h]\s+(?=[A-Z])")
# Chart labels extracted as text ("0 5 10 15 20 Child labour prevalence…") are mostly bare numbers.
_NUMBER_TOKEN = re.compile(r"(?<!\S)\d[\d,]*(?:\.\d+)?%?(?!\S)")
MAX_NUMBER_SHARE = 0.3
MIN_TICKS = 3
MAX_DATA_SHARE = 0.2
AXIS_RUN = 4  # "2018 2019 2020 2021": fewer could be a sentence's own figures
MIN_SENTENCE_WORDS = 4
MAX_LIST_ITEMS = 8
MIN_LIST_ITEMS = 2  # items after a title, or after a colon that ends a paragraph, that make a list
MIN_ITEM_WORDS = 3
_CONTENTS_ENTRY = re.compile(r"(?:\.{3,}|…)\s*\d+\s*$")  # "METHODS ... 3": a table of contents line
_NEXT_TITLE = re.compile(r"^(?:table|figure|fig\.|chart|box|map)\s+[\dA-Z][\w.]*\b", re.I)  # "TABLE 10"
# Sentences (each with what it needs to be read) picked from each document a question about several names.
MAX_PER_DOCUMENT = 2
# A refusal names what the closest few candidates lacked, among those scoring nearly as an answer would.
GAP_EVIDENCE = 5
GAP_MARGIN = 0.1


@dataclass(frozen=True)
class ExtractiveConfig:
    """The extractive composer's weights and thresholds; scores are in [0, 1]-ish units of the weighted sum."""

    max_sentences: int = 5
    # Sentence relevance = weights · (cosine to question, cosine to retrieval query, term coverage, passage).
    w_question: float = 0.35
    w_query: float = 0.15
    w_terms: float = 0.30
    w_passage: float = 0.20
    number_bonus: float = 0.08  # a "how many" question is answered by a sentence with a number in it
    plans_bonus: float = 0.08  # "what does UNODC plan…" is answered by a sentence about what it will do
    keep_within: float = 0.20  # sentences scoring this close to the best one join the answer
    # Below these the library is taken not to hold the answer.
    min_sentence_score: float = 0.40
    min_passage_dense: float = 0.15


@dataclass(frozen=True)
class PassageSentence:
    """A sentence of a retrieved passage, located on its page: a candidate answer sentence."""

    retrieved: ScoredChunk
    position: int  # index among the sentences of its passage
    start: int  # page offsets
    end: int
    text: str
    context: str  # what the sentence means in place: itself, plus the sentence it leans back on
    item: bool = False  # a list item (it had a bullet or number)
    opens_paragraph: bool = False  # a paragraph break comes before it

    @property
    def key(self) -> tuple[str, int]:
        """(chunk id, position): unique among the candidates of one answer."""
        return self.retrieved.chunk.chunk_id, self.position

    @property
    def is_prose(self) -> bool:
        """Headings, bare table cells and figure labels are not answers, though they sit among the sentences;
        a table row that carries its headers ("Town: Dodoma | Referrals in 2023: 12") is."""
        if TABLE_ROW.fullmatch(self.text):
            return True
        if ROW_SEPARATOR in self.text:
            return False  # a table's header row ("Town | Referrals in 2023"): names, not a statement
        words = len(self.text.split())
        if words < MIN_SENTENCE_WORDS or _REFERENCE.search(self.text):
            return False
        if _is_axis_labels(self.text, words) or instructs_the_reader(self.text):
            return False  # a chart's labels; a command to whoever reads the document
        if _ENDS_LIKE_PROSE.search(self.text) or self.item:
            return True  # a bulleted item states its point without a full stop ("• 71 FBI … Task Forces")
        # A long run of text with no closing punctuation is prose cut by a page end, unless it carries a
        # chart's axis ("2018 2019 2020 2021 2022 Quarter and Year …"): then it is the chart's labels.
        return words >= 15 and not _has_axis_run(self.text)


@dataclass(frozen=True)
class _Scored:
    """One question's candidate sentences with what they were scored and checked by."""

    query: RetrievalQuery
    asked: str  # the question as sentences are scored against it (without the phrases naming documents)
    candidates: Sequence[PassageSentence]
    retrieved: Sequence[ScoredChunk]
    vectors: np.ndarray  # the retrieval query's vector, then each candidate's
    fixed: list[float]  # the part of each candidate's score that does not change as the answer grows
    terms: _TermWeights
    scores: dict[tuple[str, int], float]
    unmet: dict[tuple[str, int], list[list[Unmet]]]
    admissible: list[int]  # candidates that meet the constraints of some part of the question


class _Selection:
    """The sentences chosen so far, each taken with what it needs to be read (``sentence_unit``, or for a
    list question ``list_unit``) from its passage read on (``read_on``)."""

    def __init__(self, read_on: dict[str, list[PassageSentence]], terms: _TermWeights, wants_list: bool):
        self.read_on = read_on
        self.terms = terms
        self.wants_list = wants_list
        self.chosen: dict[tuple[str, int], PassageSentence] = {}

    def take(self, sentence: PassageSentence) -> None:
        unit = (list_unit if self.wants_list else sentence_unit)(sentence, self.read_on[sentence.key[0]])
        for part in unit:
            self.chosen.setdefault(part.key, part)
        self.terms.cover(sentence.context)


def read_on(
    passages: dict[str, list[PassageSentence]], retrieved: Sequence[ScoredChunk]
) -> dict[str, list[PassageSentence]]:
    """Each passage's sentences, then those of the passage after it when that was retrieved too (a list, or
    the sentence that leans back on the last one, often runs on past the end of a passage)."""
    by_position = {(r.chunk.doc_id, r.chunk.index): r.chunk.chunk_id for r in retrieved}
    out = {}
    for chunk_id, own in passages.items():
        if not own:
            out[chunk_id] = own
            continue
        chunk = own[0].retrieved.chunk
        following = by_position.get((chunk.doc_id, chunk.index + 1))
        out[chunk_id] = own + (passages.get(following, []) if following else [])
    return out


class ExtractiveComposer:
    """``answerability``, when given, is what the question's constraints are checked with: a sentence whose
    evidence fails them (another year, another place, no number for "how many") is never an answer."""

    def __init__(
        self,
        embedder: Embedder,
        config: ExtractiveConfig | None = None,
        answerability: Answerability | None = None,
        passage_vectors: Encoder | None = None,
    ):
        self.embedder = embedder
        self.config = config or ExtractiveConfig()
        self.answerability = answerability
        # the sentences of passages, embedded once and kept (vectorstore.text_vectors), or each time
        self.passage_vectors = passage_vectors or embedder

    def compose(self, question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk]) -> Answer:
        """An answer of sentences quoted from ``retrieved``, each cited; a refusal (with the reason, when a
        constraint of the question is what nothing met) when no sentence scores as an answer would."""
        cfg = self.config
        asked = (query.reading.subject or query.reading.question) if query.reading else question
        passages = passage_sentences(retrieved)
        readable = read_on(passages, retrieved)
        # The title of a list without bullets is not prose, but it answers with its items (``unmarked_list``).
        candidates = [
            s for chunk_id, own in passages.items() for s in own
            if s.is_prose or unmarked_list(readable[chunk_id], s.position)
        ]  # fmt: skip
        if not candidates or max(r.dense for r in retrieved) < cfg.min_passage_dense:
            return _refusal(question, query, retrieved)
        # the retrieval query's vector, then each candidate's
        contexts = self.passage_vectors.encode([c.context for c in candidates])
        vectors = np.vstack([self.embedder.encode_query(query.text)[None, :], contexts])
        fixed = self._fixed_scores(asked, vectors, candidates, retrieved)
        terms = _TermWeights(asked, [c.context for c in candidates])
        scores = {c.key: fixed[i] + cfg.w_terms * terms.coverage(i) for i, c in enumerate(candidates)}
        unmet, evidence = self._unmet(query, candidates)
        admissible = [i for i, c in enumerate(candidates) if any(not u for u in unmet[c.key])]
        # A question that names its documents is answered from them only.
        named = query.reading.documents if query.reading else ()
        if named:
            admissible = [i for i in admissible if candidates[i].retrieved.chunk.doc_id in named]
        if max((scores[candidates[i].key] for i in admissible), default=-1.0) < cfg.min_sentence_score:
            reason = self._gap(query, candidates, scores, unmet, evidence) or self._nothing_from(named)
            return _refusal(question, query, retrieved, reason)
        wants_list = bool(query.reading) and any(c.kind is AnswerKind.LIST for c in query.reading.constraints)
        scored = _Scored(query, asked, candidates, retrieved, vectors, fixed, terms, scores, unmet, admissible)
        picked = _Selection(readable, terms, wants_list)
        if len(named) > 1:
            return self._answer_each_document(question, scored, picked)
        return self._answer_greedily(question, scored, picked)

    def _answer_each_document(self, question: str, scored: _Scored, picked: _Selection) -> Answer:
        """A question about several documents, answered document by document: each with its best sentences
        for what is asked of it ("the term given to Adele in the case studies" / "the average sentence in the
        ASU study"), in the order the question names them."""
        cfg, candidates, reading = self.config, scored.candidates, scored.query.reading
        silent: list[str] = []
        order: dict[tuple[str, int], float] = {}
        for rank, doc_id in enumerate(reading.documents):
            relevance = self._scores_for(reading.asked_of(doc_id), scored.vectors, candidates, scored.retrieved)
            own = sorted((i for i in scored.admissible if candidates[i].retrieved.chunk.doc_id == doc_id),
                         key=lambda i: -relevance[i])  # fmt: skip
            if not own or relevance[own[0]] < cfg.min_sentence_score:
                silent.append(doc_id)
                continue
            before = len(picked.chosen)
            for i in [i for i in own if relevance[i] >= relevance[own[0]] - cfg.keep_within / 2][:MAX_PER_DOCUMENT]:
                picked.take(candidates[i])
            for key in list(picked.chosen)[before:]:
                order[key] = len(reading.documents) - rank + scored.scores.get(key, 0.0)
        return self._with_silent(_answer(question, scored.query, list(picked.chosen.values()), order), silent)

    def _answer_greedily(self, question: str, scored: _Scored, picked: _Selection) -> Answer:
        """The best sentence; for a compound question, the best for each part; for a named document, its
        best; then greedily the next best while it scores near the best, up to ``max_sentences``."""
        cfg, candidates, query = self.config, scored.candidates, scored.query
        best = max(scored.admissible, key=lambda i: scored.scores[candidates[i].key])
        picked.take(candidates[best])
        # A compound question gets an answer to each of its parts, even past max_sentences: the best sentence
        # for a part joins when it would answer that part asked alone.
        for pick in self._best_per_part(scored.asked, query, candidates, scored.retrieved, scored.vectors,
                                        scored.unmet):  # fmt: skip
            if candidates[pick].key not in picked.chosen:
                picked.take(candidates[pick])
        # A document the question names answers too, or the reader is told it says nothing on this.
        silent = []
        for doc_id in query.reading.documents if query.reading else ():
            if any(s.retrieved.chunk.doc_id == doc_id for s in picked.chosen.values()):
                continue
            own = [i for i in scored.admissible if candidates[i].retrieved.chunk.doc_id == doc_id]
            asked_of = self._scores_for(query.reading.asked_of(doc_id), scored.vectors, candidates, scored.retrieved)
            pick = max(own, key=lambda i: asked_of[i], default=None)
            if pick is not None and asked_of[pick] >= cfg.min_sentence_score:
                picked.take(candidates[pick])
            else:
                silent.append(doc_id)
        # Greedy selection: after each pick, the question terms it covered count for less, so the next pick
        # favours the part of the question not answered yet.
        allowed = {candidates[i].key for i in scored.admissible}
        floor = scored.scores[candidates[best].key] - cfg.keep_within
        while len(picked.chosen) < cfg.max_sentences + (MAX_LIST_ITEMS if picked.wants_list else 0):
            remaining = {
                i: scored.fixed[i] + cfg.w_terms * scored.terms.coverage(i)
                for i, c in enumerate(candidates)
                if c.key not in picked.chosen and c.key in allowed
            }
            if not remaining:
                break
            pick = max(remaining, key=remaining.get)
            if remaining[pick] < floor:
                break
            picked.take(candidates[pick])
        return self._with_silent(_answer(question, query, list(picked.chosen.values()), scored.scores), silent)

    def _with_silent(self, answer: Answer, silent: Sequence[str]) -> Answer:
        """``answer`` with a notice naming the documents the question named that answer nothing."""
        if not silent:
            return answer
        return replace(answer, notices=(*answer.notices, f"{self._nothing_from(silent).capitalize()}."))

    def _nothing_from(self, doc_ids: Sequence[str]) -> str:
        """ "nothing retrieved from “Title” answers the question", for documents the question named."""
        if not doc_ids or self.answerability is None:
            return ""
        records = [self.answerability.store.document(d) for d in doc_ids]
        titles = " or ".join(f"“{r.title or r.source}”" for r in records if r is not None)
        return f"nothing retrieved from {titles} answers the question" if titles else ""

    def _fixed_scores(
        self, asked: str, vectors: np.ndarray, candidates: Sequence[PassageSentence], retrieved: Sequence[ScoredChunk]
    ) -> list[float]:
        """The parts of a sentence's relevance to ``asked`` that do not change as the answer grows.
        ``vectors`` holds the retrieval query's vector, then each candidate's."""
        cfg = self.config
        contexts = vectors[1:]
        to_asked = contexts @ self.embedder.encode_query(asked)
        to_query = contexts @ vectors[0]
        top_passage = max(r.score for r in retrieved) or 1.0
        wants_number = bool(_QUANTITY_QUESTION.search(asked))
        wants_plans = bool(_FUTURE_QUESTION.search(asked))
        return [
            float(
                cfg.w_question * to_asked[i]
                + cfg.w_query * to_query[i]
                + cfg.w_passage * cand.retrieved.score / top_passage
                + (cfg.number_bonus if wants_number and _HAS_NUMBER.search(cand.text) else 0.0)
                + (cfg.plans_bonus if wants_plans and _STATES_FUTURE.search(cand.text) else 0.0)
            )
            for i, cand in enumerate(candidates)
        ]

    def _scores_for(
        self, asked: str, vectors: np.ndarray, candidates: Sequence[PassageSentence], retrieved: Sequence[ScoredChunk]
    ) -> list[float]:
        """Each candidate's relevance to ``asked`` alone (a part of the question, or what it asks of one
        document)."""
        fixed = self._fixed_scores(asked, vectors, candidates, retrieved)
        terms = _TermWeights(asked, [c.context for c in candidates])
        return [fixed[i] + self.config.w_terms * terms.coverage(i) for i in range(len(candidates))]

    def _unmet(
        self, query: RetrievalQuery, candidates: Sequence[PassageSentence]
    ) -> tuple[dict[tuple[str, int], list[list[Unmet]]], dict[tuple[str, int], SentenceContext]]:
        """For each candidate, what it fails of each part's constraints (one empty list per part it may
        answer), and the evidence that was read for it. Without constraints to check every candidate may
        answer every part, and no evidence is read."""
        reading = query.reading
        constraints = reading.constraints if reading else ()
        everyone = (*constraints, *(c for _, c in reading.document_constraints)) if reading else ()
        if self.answerability is None or not any(c.any for c in everyone):
            return {c.key: [[]] * max(1, len(constraints)) for c in candidates}, {}
        pages = self.answerability.page_context()
        names = {n for part in constraints for n in part.names}
        unmet, read = {}, {}
        for c in candidates:
            doc_id = c.retrieved.chunk.doc_id
            evidence = self.answerability.evidence(pages, c.retrieved.chunk, c.start, c.end, c.context)
            if len(reading.documents) > 1 and names:
                evidence = replace(evidence, foreign_names=self.answerability.names_absent(doc_id, names))
            unmet[c.key] = [part.unmet(evidence) for part in reading.constraints_of(doc_id)]
            read[c.key] = evidence
        return unmet, read

    def _gap(
        self,
        query: RetrievalQuery,
        candidates: Sequence[PassageSentence],
        scores: dict[tuple[str, int], float],
        unmet: dict[tuple[str, int], list[list[Unmet]]],
        evidence: dict[tuple[str, int], SentenceContext],
    ) -> str:
        """Why nothing answers: what the closest candidates that scored as answers lacked."""
        reading = query.reading
        if reading is None or not reading.constraints or not evidence:
            return ""
        near = sorted(candidates, key=lambda c: -scores[c.key])[:GAP_EVIDENCE]
        near = [c for c in near if scores[c.key] >= self.config.min_sentence_score - GAP_MARGIN]
        if not near:
            return ""
        # The constraints of the closest candidate's document (one set per part, or what is asked of it).
        own = reading.constraints_of(near[0].retrieved.chunk.doc_id)
        part = next((i for i, c in enumerate(own) if c.any), 0)
        rejected = [
            (evidence[c.key], unmet[c.key][part])
            for c in near
            if reading.constraints_of(c.retrieved.chunk.doc_id) == own and unmet[c.key][part]
        ]
        return gap_reason(own[part], rejected) if rejected else ""

    def _best_per_part(
        self,
        question: str,
        query: RetrievalQuery,
        candidates: Sequence[PassageSentence],
        retrieved: Sequence[ScoredChunk],
        vectors: np.ndarray,
        unmet: dict[tuple[str, int], list[list[Unmet]]],
    ) -> list[int]:
        """For each part of a compound question, the candidate that best answers that part alone, when it
        scores as an answer would (``min_sentence_score``) and meets that part's constraints. Nothing for a
        one-part question."""
        reading = query.reading
        parts = [c.question for c in reading.constraints] if reading else question_parts(question)
        if len(parts) < 2:
            return []
        picks = []
        for n, part in enumerate(parts):
            relevance = self._scores_for(part, vectors, candidates, retrieved)
            scored = {
                i: relevance[i] for i, c in enumerate(candidates) if not unmet[c.key][min(n, len(unmet[c.key]) - 1)]
            }
            if not scored:
                continue
            best = max(scored, key=scored.__getitem__)
            if scored[best] >= self.config.min_sentence_score:
                picks.append(best)
        return picks


def _tick_runs(values: Sequence[float]) -> list[tuple[int, int]]:
    """``(first, last)`` indices of the runs of at least ``MIN_TICKS`` evenly spaced rising values."""
    runs = []
    start = 0
    while start < len(values) - 1:
        step = values[start + 1] - values[start]
        end = start + 1
        while step > 0 and end + 1 < len(values) and values[end + 1] - values[end] == step:
            end += 1
        if step > 0 and end - start + 1 >= MIN_TICKS:
            runs.append((start, end))
            start = end + 1
        else:
            start += 1
    return runs


def _number_values(text: str) -> list[float]:
    return [float(t.rstrip("%").replace(",", "")) for t in _NUMBER_TOKEN.findall(text)]


def _has_axis_run(text: str) -> bool:
    """Whether ``text`` holds a run of at least ``AXIS_RUN`` evenly spaced rising bare numbers and few numbers
    besides its ticks (``MAX_DATA_SHARE``): a chart's frame without its data. ("97 108 246 289 316 360 …
    2010 2011 …" carries its values and stays.)"""
    values = _number_values(text)
    runs = _tick_runs(values)
    ticks = sum(last - first + 1 for first, last in runs)
    return any(last - first + 1 >= AXIS_RUN for first, last in runs) and len(values) - ticks <= MAX_DATA_SHARE * len(
        values
    )


def _is_axis_labels(text: str, words: int) -> bool:
    """Text that is mostly bare numbers, all of them axis ticks (evenly spaced rising runs such as
    "0 5 10 15" or "2010 2011 2012"): a chart's scaffolding, which states nothing. A chart whose data
    values came out with it ("97 108 246 … 2010 2011 …") keeps them and is not dropped."""
    values = _number_values(text)
    if len(values) <= MAX_NUMBER_SHARE * words:
        return False
    is_tick = [False] * len(values)
    for first, last in _tick_runs(values):
        is_tick[first : last + 1] = [True] * (last - first + 1)
    return all(is_tick)


def passage_sentences(retrieved: Sequence[ScoredChunk]) -> dict[str, list[PassageSentence]]:
    """Sentences of each retrieved passage, without list markers; a sentence repeated by overlapping
    passages is kept once, in the passage retrieved first."""
    seen: set[tuple[str, int, int]] = set()
    out: dict[str, list[PassageSentence]] = {}
    for r in retrieved:
        chunk = r.chunk
        sentences = out.setdefault(chunk.chunk_id, [])
        previous = ""
        lead_in = ""  # the line that introduces the list being read ("Between 2003 and 2014, task forces…:")
        last_end = 0
        split_marker = None  # a list marker the sentence splitter cut off on its own ("ii."): opens the next
        for s, e in split_sentences(chunk.text):
            opens = s == 0 or "\n\n" in chunk.text[last_end:s]
            last_end = e
            marker = _LIST_MARKER.match(chunk.text, s, e)
            if marker:
                s = marker.end()
            text = chunk.text[s:e]
            if marker and not text.strip() or _LIST_MARKER.fullmatch(f"{text.strip()} "):
                split_marker = opens
                continue
            if not text.strip():
                continue
            item = bool(marker) or split_marker is not None
            opens = opens or bool(split_marker)
            split_marker = None
            key = (chunk.doc_id, chunk.page_start, chunk.char_start + s)
            if lead_in and (item or text[:1].islower() or text.startswith("(")):
                # A list item means what its introduction says of it: "rescued nearly 4,800 children" is
                # a figure for 2003-2014 because the line above says so. ("(see … page 74)" goes with it.)
                context = f"{lead_in} {text}"
            else:
                context = f"{previous} {text}" if previous and LEANS_BACK.search(text) else text
                # An introduction ends with a colon, or with no punctuation at all before its items.
                lead_in = text if not item and not _CLOSES_STATEMENT.search(text) else ""
            previous = text
            if key in seen:
                continue
            seen.add(key)
            start, end = chunk.char_start + s, chunk.char_start + e
            sentences.append(PassageSentence(r, len(sentences), start, end, text, context, item, opens))
    return out


def sentence_contexts(chunk: Chunk) -> list[str]:
    """What ``ExtractiveComposer.compose`` embeds of a passage when it is retrieved: each sentence's
    ``context``. It depends on the passage alone, so it can be embedded ahead (``answering.prefetch``)."""
    return [s.context for s in passage_sentences([ScoredChunk(chunk, 0.0, 0.0, 0.0)])[chunk.chunk_id]]


def list_unit(sentence: PassageSentence, passage: Sequence[PassageSentence]) -> list[PassageSentence]:
    """A sentence of a list answer with the rest of its list: for an item, the line that introduces the list
    and its items; for an introduction ("…like:"), its items. At most ``MAX_LIST_ITEMS`` items; a sentence
    of prose is taken as ``sentence_unit`` takes it."""
    if not sentence.item and not sentence.text.rstrip().endswith(":"):
        return sentence_unit(sentence, passage)
    first = sentence.position
    while first > 0 and passage[first - 1].item:
        first -= 1
    if first > 0 and not sentence.text.rstrip().endswith(":"):
        lead = passage[first - 1]
        if lead.text.rstrip().endswith(":") or not _CLOSES_STATEMENT.search(lead.text):
            first -= 1
    unit = list(passage[first : sentence.position + 1])
    for s in passage[sentence.position + 1 :]:
        if len(unit) > MAX_LIST_ITEMS or (not s.item and s.opens_paragraph):
            break
        unit.append(s)
    return unit


def _list_opened_by(passage: Sequence[PassageSentence], j: int) -> list[PassageSentence]:
    """The bulleted or numbered items after sentence ``j`` when it ends its paragraph's text with a colon
    ("…, they can be:"), up to ``MAX_LIST_ITEMS``; none otherwise."""
    if j >= len(passage) or passage[j].opens_paragraph or not passage[j].text.rstrip().endswith(":"):
        return []
    items = []
    for s in passage[j + 1 : j + 1 + MAX_LIST_ITEMS]:
        if not s.item:
            break
        items.append(s)
    return items


def unmarked_list(passage: Sequence[PassageSentence], i: int) -> list[PassageSentence]:
    """The items under sentence ``i`` when it is the title of a list printed without bullets (a figure's
    title with no closing punctuation, then "Presence of NGOs/independent actors while reporting…" line by
    line), up to ``MAX_LIST_ITEMS``; none when it is not. Items are the lines after the title that do not
    close like a statement and have ``MIN_ITEM_WORDS`` words or more (a run of one-word lines is a chart's
    labels); a source or note line among them is passed over; prose, a bulleted item or the next table's
    title ends the list. It takes ``MIN_LIST_ITEMS`` such lines to make a list."""
    title = passage[i]
    if title.item or _ENDS_LIKE_PROSE.search(title.text) or len(title.text.split()) < MIN_SENTENCE_WORDS:
        return []
    if _REFERENCE.search(title.text) or _CONTENTS_ENTRY.search(title.text) or ROW_SEPARATOR in title.text:
        return []  # a table is answered row by row, each row with its headers
    items: list[PassageSentence] = []
    for s in passage[i + 1 :]:
        if len(items) >= MAX_LIST_ITEMS:
            break
        if _REFERENCE.search(s.text):
            continue
        if s.item or _CLOSES_STATEMENT.search(s.text) or _NEXT_TITLE.match(s.text) or _has_axis_run(s.text):
            break
        if _CONTENTS_ENTRY.search(s.text) or TABLE_ROW.fullmatch(s.text):
            break  # a table of contents; a table's rows, each answering with its headers
        if len(s.text.split()) < MIN_ITEM_WORDS:
            break
        items.append(s)
    return items if len(items) >= MIN_LIST_ITEMS else []


def sentence_unit(sentence: PassageSentence, passage: Sequence[PassageSentence]) -> list[PassageSentence]:
    """A chosen sentence with what it needs to be read on its own: the sentence it leans back on, the
    sentence that leans back on it, or, when it introduces a list ("...included:", or a title over lines
    without bullets), the list items."""
    i = sentence.position
    unit = [sentence]
    if i > 0 and LEANS_BACK.search(sentence.text):
        unit.insert(0, passage[i - 1])
    elif sentence.context != sentence.text:  # a list item read with its introduction: quote that too
        j = i - 1
        while j > 0 and passage[j].item:
            j -= 1
        if j >= 0 and sentence.context.startswith(passage[j].text):
            unit.insert(0, passage[j])
    if sentence.text.rstrip().endswith(":"):
        unit.extend(passage[i + 1 : i + 1 + MAX_LIST_ITEMS])
    elif items := unmarked_list(passage, i):
        return [*unit, *items]  # a list's title: its items are the answer
    elif i + 1 < len(passage) and LEANS_BACK.search(passage[i + 1].text):
        unit.append(passage[i + 1])
        # "This guide includes information about:" goes on about the chosen sentence and introduces a list:
        # without its items it promises what it does not give.
        if len(items := _list_opened_by(passage, i + 1)) >= MIN_LIST_ITEMS:
            unit.extend(items)
    elif len(items := _list_opened_by(passage, i + 1)) >= MIN_LIST_ITEMS:
        # The paragraph goes on into a list ("There is no single face of traffickers. … they can be: »
        # Family members » …"): the list is what the chosen sentence is saying.
        unit.extend([passage[i + 1], *items])
    readable = [
        s for s in unit if (s.item or len(s.text.split()) >= MIN_SENTENCE_WORDS) and not _REFERENCE.search(s.text)
    ]  # a list's items may be a word or two ("Strangers")
    return [s for s in unit if s is sentence or s in readable]


class _TermWeights:
    """The question's content terms, rarer ones (among the candidate sentences) weighing more."""

    STEM_LENGTH = 5  # "trafficked" and "trafficking" count as one term
    COVERED_FACTOR = 0.25  # a term already answered still counts a little: it ties the answer together

    def __init__(self, question: str, texts: Sequence[str]):
        self.stems = [prefix_stems(text, self.STEM_LENGTH) for text in texts]
        n = len(texts)
        self.weight = {
            t: math.log((n + 1) / (0.5 + sum(t in s for s in self.stems))) + 1.0
            for t in prefix_stems(question, self.STEM_LENGTH)
        }

    def coverage(self, i: int) -> float:
        """Weighted share of the question's terms that sentence ``i`` contains. As terms get covered the
        share shifts to the terms still open, so a sentence on the unanswered part of a question rises."""
        total = sum(self.weight.values()) or 1.0
        return sum(w for t, w in self.weight.items() if t in self.stems[i]) / total

    def cover(self, text: str) -> None:
        for t in prefix_stems(text, self.STEM_LENGTH) & self.weight.keys():
            self.weight[t] *= self.COVERED_FACTOR


def _answer(
    question: str, query: RetrievalQuery, chosen: Sequence[PassageSentence], scores: dict[tuple[str, int], float]
) -> Answer:
    # Readable order: passages in the order of their best sentence, sentences in page order within one.
    best_in_passage: dict[str, float] = {}
    for s in chosen:
        cid = s.retrieved.chunk.chunk_id
        best_in_passage[cid] = max(best_in_passage.get(cid, -1.0), scores.get(s.key, -1.0))
    passage_rank = {cid: rank for rank, cid in enumerate(sorted(best_in_passage, key=lambda c: -best_in_passage[c]))}
    # A passage read on from the one before it (a list or a sentence running on) stays right after that one.
    by_position = {(s.retrieved.chunk.doc_id, s.retrieved.chunk.index): s.retrieved.chunk.chunk_id for s in chosen}
    for doc_id, index in sorted(by_position):
        before = by_position.get((doc_id, index - 1))
        if before is not None:
            cid = by_position[(doc_id, index)]
            passage_rank[cid] = min(passage_rank[cid], passage_rank[before])
    ordered = sorted(chosen, key=lambda s: (passage_rank[s.retrieved.chunk.chunk_id], s.retrieved.chunk.index,
                                            s.position))  # fmt: skip

    # One citation per run of consecutive sentences of one passage, so a quote is exactly what is cited.
    runs: list[list[PassageSentence]] = []
    for s in ordered:
        last = runs[-1][-1] if runs else None
        if last is not None and last.key[0] == s.key[0] and last.position + 1 == s.position:
            runs[-1].append(s)
        else:
            runs.append([s])
    citations = tuple(
        Citation.from_chunk(n, run[0].retrieved.chunk, run[0].start, run[-1].end) for n, run in enumerate(runs, 1)
    )
    # A bracketed number in the document ("[2]") is shown as ［2］: only our markers look like markers.
    sentences = tuple(AnswerSentence(neutralize_markers(s.text), (n,)) for n, run in enumerate(runs, 1) for s in run)
    text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
    return Answer(question, text, sentences, citations, refused=False, retrieval_query=query.text)


def _refusal(question: str, query: RetrievalQuery, retrieved: Sequence[ScoredChunk], reason: str = "") -> Answer:
    if not reason:
        reason = "no retrieved sentence is close enough to the question" if retrieved else "nothing was retrieved"
    return Answer.refusal(question, query.text, [r.chunk for r in retrieved], reason)
