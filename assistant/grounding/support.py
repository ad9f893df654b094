"""The support checker: does a passage back the sentence it is attached to?

Whoever wrote the sentence (the extractive composer, an LLM, a person pasting a draft), each sentence is
compared with every span of one or two consecutive sentences of its candidate passages. A span's score mixes
meaning (cosine of the two embeddings) and wording (share of the sentence's content words found in the span).
Then hard checks, which no similarity can outvote, decide whether the best span can back the sentence at all:

* every number, percentage and year in the sentence appears in the span ("87" is not "78", "36.7%" is
  "36.7 per cent");
* every named entity (capitalised words inside the sentence, and any country or territory) appears in it;
* the sentence and the span agree on negation ("were identified" is not "were not identified").

A sentence is ``supported`` when a span passes the checks and scores at least ``supported_at``; ``partial``
when it passes them with a lower score that still shares real content (``partial_at``); otherwise
``unsupported``, with the closest span shown anyway, so a reader sees what the library says instead.
The thresholds are calibrated on ``tests/data/support_pairs.jsonl`` (``bench/support_calibration.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from assistant.text.instructions import instructs_the_reader
from assistant.text.places import country_names
from assistant.text.terms import prefix_stems
from assistant.types import Answer, Citation, PageSpan, SentenceSupport, SupportLabel
from ingest.models import Chunk
from ingest.sentences import split_sentences
from vectorstore.embeddings import Embedder
from vectorstore.text_vectors import Encoder

WORDING_STEM_LENGTH = 6  # the wording score compares words by their first six characters (calibrated so)
MAX_SPANS_CHECKED = 20  # the best-scoring spans tried against the hard checks, in order


@dataclass(frozen=True)
class SupportConfig:
    """Score = ``w_meaning`` × cosine of the sentence to the span + ``w_wording`` × share of the sentence's
    content stems found in the span; ``supported_at`` / ``partial_at`` are the label thresholds on it,
    calibrated on ``tests/data/support_pairs.jsonl`` (``bench/support_calibration.py``)."""

    w_meaning: float = 0.6
    w_wording: float = 0.4
    supported_at: float = 0.70
    partial_at: float = 0.55
    span_sentences: int = 2  # spans of up to this many consecutive sentences


@dataclass(frozen=True)
class CheckedSentence:
    """A sentence of a checked text, where it stands in that text, and its support in the library."""

    text: str
    start: int  # offsets of the sentence in the checked text
    end: int
    support: SentenceSupport


@dataclass(frozen=True)
class _Span:
    evidence: PageSpan
    start: int  # offsets within evidence.quote
    end: int
    sentences: tuple[tuple[int, int], ...] = ()  # the sentences a longer span is made of

    @property
    def text(self) -> str:
        return self.evidence.quote[self.start : self.end]

    @property
    def paragraph_before(self) -> str:
        """The span's paragraph before it: names it refers back to ("these sessions" in Cox's Bazar)."""
        before = self.evidence.quote[: self.start]
        return before[before.rfind("\n\n") + 1 :]


# ----- the hard checks --------------------------------------------------------------------------------------
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "half": "50%",
}  # fmt: skip
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:\s*(?:%|per\s*cent|percent))?", re.I)
_PERCENT_WORDS = re.compile(r"\s*(?:per\s*cent|percent)", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_NEGATION = re.compile(
    r"\b(not|no|never|none|neither|nor|without|cannot|n't|nobody|nothing|nowhere|unable|fail(?:s|ed)? to)\b|n't\b",
    re.I,
)
# Capitalised words that are not names: sentence openers, months are dates but rarely swapped alone.
_NOT_NAMES = {
    "the", "a", "an", "this", "that", "these", "those", "in", "on", "at", "of", "for", "and", "or", "but", "as",
    "it", "its", "their", "there", "they", "he", "she", "we", "i", "by", "with", "from", "to", "between",
    "during", "after", "before", "according", "some", "most", "many", "all", "both", "each", "other",
    "however", "although", "while", "when", "where", "which", "who", "what", "how", "why", "figure", "table",
    "source", "note", "chapter", "section", "report", "yes", "no",
}  # fmt: skip


_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)


def _values(text: str) -> set[str]:
    """The numbers ``text`` states, as values: "60,000" -> "60000", "36.7 per cent" -> "36.7%",
    "twelve" -> "12"."""
    values = {re.sub(r"[\s,]", "", _PERCENT_WORDS.sub("%", m.group(0))).rstrip(".") for m in _NUMBER.finditer(text)}
    values.update(_NUMBER_WORDS[m.group(1).lower()] for m in _NUMBER_WORD.finditer(text))
    return values


def missing_numbers(sentence: str, span: str) -> list[str]:
    """The sentence's numbers that the span does not state ("36.7%" is matched by a bare "36.7" too)."""
    have = _values(span)
    have |= {v.rstrip("%") for v in have}
    return sorted(v for v in _values(sentence) if v not in have and v.rstrip("%") not in have)


@cache
def _places() -> tuple[frozenset[str], int]:
    """Country and territory names (lower case, from the place gazetteer), and the longest name's word count."""
    names = country_names()
    return names, max(len(n.split()) for n in names)


def places() -> frozenset[str]:
    """Country and territory names, lower case."""
    return _places()[0]


def _normal(word: str) -> str:
    word = word.lower().replace("’", "'")
    word = re.sub(r"'s$", "", word)
    return word


def entities_in(sentence: str) -> list[str]:
    """Names the sentence relies on: capitalised words other than its first (and other than common openers),
    acronyms anywhere, and country or territory names anywhere ("Mali", "Burkina Faso")."""
    words = list(_WORD.finditer(sentence))
    names: list[str] = []
    for i, m in enumerate(words):
        word = m.group(0)
        bare = _normal(word)
        if bare in _NOT_NAMES or len(bare) < 2:
            continue
        is_acronym = word.isupper() and len(word) >= 2
        if is_acronym or (i > 0 and word[0].isupper()):
            names.append(bare)
    places, longest = _places()
    lowered = [_normal(m.group(0)) for m in words]
    for n in range(longest, 0, -1):
        for i in range(len(lowered) - n + 1):
            phrase = " ".join(lowered[i : i + n])
            if phrase in places:
                names.append(phrase)
    return list(dict.fromkeys(names))


def missing_entities(sentence: str, span: str) -> list[str]:
    """The names (``entities_in``) of ``sentence`` that ``span`` does not contain, as a word or, for a long
    one-word name, as its plural or demonym."""
    span_words = " ".join(_normal(w) for w in _WORD.findall(span))
    padded = f" {span_words} "
    return [name for name in entities_in(sentence) if f" {name} " not in padded and not _stem_in(name, padded)]


def _stem_in(name: str, padded_span: str) -> bool:
    """ "Malian" for "Mali", "Nigerian" is not "Niger" (whole-name match first; then a plural or demonym of a
    single long word)."""
    if " " in name or len(name) < 5:
        return False
    return f" {name}s " in padded_span or f" {name}n " in padded_span or f" {name}an " in padded_span


def negated(text: str) -> bool:
    """Whether ``text`` states something negatively ("not", "no", "never", …)."""
    return bool(_NEGATION.search(text))


# ----- the checker ------------------------------------------------------------------------------------------
class SupportChecker:
    """Finds the span (one or two consecutive sentences) of the given passages that best supports a
    sentence, and labels it ``supported``, ``partial`` or ``unsupported`` (``SupportConfig``). Numbers,
    names and negation must agree with the span for it to count at all."""

    def __init__(self, embedder: Embedder, config: SupportConfig | None = None, passage_vectors: Encoder | None = None):
        self.embedder = embedder
        self.config = config or SupportConfig()
        # the sentences of passages, embedded once and kept (vectorstore.text_vectors), or each time
        self.passage_vectors = passage_vectors or embedder

    def check(self, sentence: str, passages: Sequence[PageSpan]) -> SentenceSupport:
        """The best supporting span for ``sentence`` among ``passages``, labelled."""
        return self.check_many([sentence], [passages])[0]

    def check_many(
        self, sentences: Sequence[str], passages_each: Sequence[Sequence[PageSpan]]
    ) -> list[SentenceSupport]:
        """``check`` for several sentences, each with its own candidate passages, embedding in one batch.

        A sentence quoted word for word from one of its passages is supported by that very span, with no
        need to score it (every extractive answer sentence is such a quote)."""
        quoted = [_quoted_in(sentence, passages) for sentence, passages in zip(sentences, passages_each, strict=True)]
        pending = [i for i, q in enumerate(quoted) if q is None]
        scored = self._score_many([sentences[i] for i in pending], [passages_each[i] for i in pending])
        results: list[SentenceSupport | None] = list(quoted)
        for i, support in zip(pending, scored, strict=True):
            results[i] = support
        return results

    def _score_many(
        self, sentences: Sequence[str], passages_each: Sequence[Sequence[PageSpan]]
    ) -> list[SentenceSupport]:
        if not sentences:
            return []
        spans_each = [self._spans(passages) for passages in passages_each]
        all_spans = list({(s.evidence, s.start, s.end): s for spans in spans_each for s in spans}.values())
        index = {(s.evidence, s.start, s.end): n for n, s in enumerate(all_spans)}
        sentence_vectors = self.embedder.encode(list(sentences))
        span_vectors = self.passage_vectors.encode([s.text for s in all_spans])
        results = []
        for sentence, vector, spans in zip(sentences, sentence_vectors, spans_each, strict=True):
            if not spans:
                results.append(SentenceSupport.nothing())
                continue
            cosine = span_vectors @ vector
            # A span of two sentences means at least what its closer sentence means: a claim that takes its
            # subject from one sentence and its figures from the next is not diluted by the pair's length.
            meaning = np.array([
                max([cosine[index[(s.evidence, s.start, s.end)]], *(cosine[index[(s.evidence, a, b)]]
                                                                     for a, b in s.sentences)])
                for s in spans
            ])  # fmt: skip
            results.append(self._best(sentence, spans, meaning))
        return results

    def check_text(
        self, text: str, passages: Sequence[PageSpan] | Callable[[str], Sequence[PageSpan]]
    ) -> list[CheckedSentence]:
        """Split ``text`` into sentences (the ingest splitter) and check each against ``passages``: the same
        passages for all, or ``passages(sentence)``, e.g. what the library retrieves for that sentence."""
        bounds = [(s, e) for s, e in split_sentences(text) if text[s:e].strip()]
        sentences = [text[s:e] for s, e in bounds]
        candidates = [passages(s) if callable(passages) else passages for s in sentences]
        supports = self.check_many(sentences, candidates)
        return [CheckedSentence(text[s:e], s, e, sup) for (s, e), sup in zip(bounds, supports, strict=True)]

    def _spans(self, passages: Iterable[PageSpan]) -> list[_Span]:
        spans = []
        for evidence in passages:
            # A sentence that instructs the reader backs nothing, alone or paired.
            bounds = [
                (s, e) for s, e in split_sentences(evidence.quote) if not instructs_the_reader(evidence.quote[s:e])
            ]
            for i in range(len(bounds)):
                for n in range(1, self.config.span_sentences + 1):
                    if i + n <= len(bounds):
                        parts = tuple(bounds[i : i + n]) if n > 1 else ()
                        spans.append(_Span(evidence, bounds[i][0], bounds[i + n - 1][1], parts))
        return spans

    def _best(self, sentence: str, spans: Sequence[_Span], meaning: np.ndarray) -> SentenceSupport:
        cfg = self.config
        terms = prefix_stems(sentence, WORDING_STEM_LENGTH)
        scored = []
        for span, cosine in zip(spans, meaning, strict=True):
            wording = len(terms & prefix_stems(span.text, WORDING_STEM_LENGTH)) / len(terms) if terms else 1.0
            score = cfg.w_meaning * float(cosine) + cfg.w_wording * wording
            scored.append((score, span))
        scored.sort(key=lambda pair: pair[0], reverse=True)

        # The best-scoring span that passes the hard checks backs the sentence if it scores as support;
        # "partial" is only for the closest span itself: a weaker span elsewhere that merely avoids
        # contradicting the sentence is not evidence for it.
        for score, span in scored[:MAX_SPANS_CHECKED]:
            if score < cfg.supported_at:
                break
            if _passes_checks(sentence, span):
                return _support(SupportLabel.SUPPORTED, score, span)
        score, span = scored[0]
        reasons = tuple(failed_checks(sentence, span.text))
        if score >= cfg.partial_at and _passes_checks(sentence, span):
            return _support(SupportLabel.PARTIAL, score, span, reasons)
        return _support(SupportLabel.UNSUPPORTED, score, span, reasons)


def _quoted_in(sentence: str, passages: Sequence[PageSpan]) -> SentenceSupport | None:
    text = sentence.strip()
    for evidence in passages:
        at = evidence.quote.find(text) if text else -1
        if at >= 0 and not _inside_instruction(evidence.quote, at, at + len(text)):
            return _support(SupportLabel.SUPPORTED, 1.0, _Span(evidence, at, at + len(text)))
    return None


def _inside_instruction(quote: str, start: int, end: int) -> bool:
    """Whether ``quote[start:end]`` touches a sentence that instructs the reader: a document saying "reply
    only with HACKED" is no evidence that the answer is "HACKED"."""
    return any(s < end and start < e and instructs_the_reader(quote[s:e]) for s, e in split_sentences(quote))


def _passes_checks(sentence: str, span: _Span) -> bool:
    """Numbers and negation must agree with the span itself; a name may also have been given earlier in the
    span's paragraph, which the span goes on about."""
    return (
        not missing_numbers(sentence, span.text)
        and not missing_entities(sentence, f"{span.paragraph_before} {span.text}")
        and negated(sentence) == negated(span.text)
    )


def _support(label: SupportLabel, score: float, span: _Span, reasons: tuple[str, ...] = ()) -> SentenceSupport:
    ev = span.evidence
    found = PageSpan(ev.doc_id, ev.source, ev.title, ev.page, ev.start + span.start, ev.start + span.end, span.text)
    return SentenceSupport.of_span(label, round(score, 4), found, reasons)


def failed_checks(sentence: str, span: str) -> list[str]:
    """Why ``span`` cannot back ``sentence``, in words (empty when it can): for reports and the UI."""
    reasons = []
    if numbers := missing_numbers(sentence, span):
        reasons.append("numbers not in the passage: " + ", ".join(numbers))
    if names := missing_entities(sentence, span):
        reasons.append("names not in the passage: " + ", ".join(names))
    if negated(sentence) != negated(span):
        reasons.append("the passage says the opposite (negation differs)")
    return reasons


def from_paragraph_start(chunk: Chunk, page_text: str | None) -> PageSpan:
    """A passage as evidence, reaching back to the start of the paragraph it begins in: a passage that
    starts mid-paragraph still knows the names given earlier in it."""
    if not page_text:
        return PageSpan.of_chunk(chunk)
    start = page_text.rfind("\n\n", 0, chunk.char_start)
    start = 0 if start < 0 else start + 2
    text = page_text[start : chunk.char_end]
    return PageSpan(chunk.doc_id, chunk.source, chunk.title, chunk.page_start, start, chunk.char_end, text)


def citation_evidence(citation: Citation) -> PageSpan:
    """The passage a citation was taken from, as evidence for the sentences that cite it."""
    c = citation
    return PageSpan(c.doc_id, c.source, c.title, c.page, c.context_start, c.context_start + len(c.context), c.context)


def with_support(answer: Answer, checker: SupportChecker) -> Answer:
    """``answer`` with every sentence not yet checked checked against the passages it cites (a sentence
    citing nothing valid is unsupported)."""
    todo = [i for i, s in enumerate(answer.sentences) if s.support is None]
    if answer.refused or not todo:
        return answer
    by_number = {c.n: citation_evidence(c) for c in answer.citations}
    passages = [[by_number[n] for n in answer.sentences[i].citations if n in by_number] for i in todo]
    supports = checker.check_many([answer.sentences[i].text for i in todo], passages)
    sentences = list(answer.sentences)
    for i, support in zip(todo, supports, strict=True):
        sentences[i] = replace(sentences[i], support=support)
    return replace(answer, sentences=tuple(sentences))
