"""Cited texts for drafters: summaries across documents, and the drafter's own text with sources attached.

Both come out as a ``CitedText``: a title, sections of paragraphs of sentences, and numbered notes, each
note one passage of one document (page and exact span). A sentence carries the numbers of the notes that
back it; a sentence that nothing in the library supports carries none and is marked "[citation needed]".
``assistant.drafting.export`` writes a ``CitedText`` as Markdown (footnotes) or Word (numbered notes).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np

from assistant.answering.conversation import condense
from assistant.answering.extractive import PassageSentence, passage_sentences, sentence_unit
from assistant.answering.retrieval import retrieve
from assistant.grounding.support import CheckedSentence, SupportChecker, entities_in, places
from assistant.text.markers import neutralize_markers
from assistant.text.references import REFERS_BACK
from assistant.types import Citation, CitationList, PageSpan, Progress, SupportLabel
from vectorstore.embeddings import Embedder
from vectorstore.store import ChunkStore

log = logging.getLogger(__name__)

CITATION_NEEDED = "[citation needed]"


@dataclass(frozen=True)
class DraftSentence:
    """A sentence of a cited text and the notes that back it."""

    text: str
    notes: tuple[int, ...]  # numbers of the notes that back it; empty when nothing does
    label: str  # "supported", "partial" or "unsupported" (the support checker's label)

    @property
    def needs_citation(self) -> bool:
        """No note backs it: it is marked ``CITATION_NEEDED``."""
        return not self.notes


@dataclass(frozen=True)
class Section:
    """A heading (by country, theme or document) and its paragraphs of sentences."""

    heading: str | None  # None for text without headings (a cited draft)
    paragraphs: tuple[tuple[DraftSentence, ...], ...]


@dataclass(frozen=True)
class Reference:
    """A cited document, listed once, with every page cited."""

    doc_id: str
    source: str
    title: str
    pages: tuple[int, ...]


@dataclass(frozen=True)
class CitedText:
    """A cited summary or a draft with its sources: sections of sentences, and the numbered notes they
    cite (each a quoted span of one page)."""

    title: str
    sections: tuple[Section, ...]
    notes: tuple[Citation, ...]
    notices: tuple[str, ...] = ()  # how it was made, when the reader should know (e.g. the model failed)

    def references(self) -> list[Reference]:
        """Each cited document once, in order of first citation, with its pages in ascending order."""
        pages: dict[str, set[int]] = {}
        first: dict[str, Citation] = {}
        for note in self.notes:
            pages.setdefault(note.doc_id, set()).add(note.page)
            first.setdefault(note.doc_id, note)
        return [Reference(d, first[d].source, first[d].title, tuple(sorted(p))) for d, p in pages.items()]

    def sentences(self) -> list[DraftSentence]:
        """Every sentence, in reading order."""
        return [s for section in self.sections for paragraph in section.paragraphs for s in paragraph]


# ----- building cited texts ---------------------------------------------------------------------------------
class Grouping(StrEnum):
    """How a summary's headings are chosen."""

    AUTO = "auto"  # by country when several countries each have enough material, else by theme
    COUNTRY = "country"
    THEME = "theme"
    DOCUMENT = "document"


# Themes of anti-trafficking work (the "4 Ps" and what surrounds them), as headings a drafter would use.
THEMES = {
    "Prevention and awareness": "preventing trafficking, awareness raising, risk information, root causes",
    "Victim identification and protection": "identifying, rescuing, referring, sheltering and assisting victims",
    "Investigation and prosecution": "investigations, arrests, prosecutions, convictions, sentences, courts",
    "Training and capacity building": "training officers, practitioners, police and prosecutors, manuals",
    "Cooperation and partnerships": "cooperation between agencies, countries, task forces and organisations",
    "Patterns and trends": "numbers of victims, forms of exploitation, profiles, flows and trends",
}
SUMMARY_PASSAGES = 40  # passages gathered for a summary (a chat answer uses 8)
SUMMARY_SENTENCES = 18
PARAGRAPH_SENTENCES = 3
NEAR_DUPLICATE = 0.9  # cosine above which two sentences say the same thing
KEEP_WITHIN = 0.25  # sentences scoring this close to the best one are relevant enough
MIN_RELEVANCE = 0.35
MIN_PER_COUNTRY = 2  # a country heading needs this many sentences
MAX_FOLLOWERS = 2  # following sentences that refer back ("these workshops") join a picked one
OTHER_HEADING = {Grouping.COUNTRY: "Other and general", Grouping.THEME: "Other"}



@dataclass(frozen=True)
class _Picked:
    sentence: PassageSentence
    score: float
    vector: np.ndarray
    seed: PassageSentence  # the relevant sentence it came with (itself, or the one it goes on from)


class SectionWriter(Protocol):
    """Writes a section of a summary as prose from its notes (``drafting.section_writer`` with a model)."""

    def write(self, topic: str, heading: str | None, notes: Sequence[Citation]) -> list[DraftSentence]:
        """The section's sentences, each citing the notes (by number) that back it; raises whatever the
        model client raises, and the summary then keeps the quoted sentences."""
        ...


def summarize(
    store: ChunkStore,
    embedder: Embedder,
    checker: SupportChecker,
    topic: str,
    grouping: Grouping = Grouping.AUTO,
    doc_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
    writer: SectionWriter | None = None,
) -> CitedText:
    """What the library says on ``topic``: relevant sentences from many passages, near-duplicates removed,
    grouped under headings, every sentence quoted from its page and cited to it (and checked). With a
    ``writer`` (a model), each section is then rewritten as prose from its notes and checked again; a
    section the model fails on keeps its quoted sentences."""
    step = progress or (lambda stage, done, total: None)
    step("search", 0, 3)
    retrieved = retrieve(store, condense(topic, []), SUMMARY_PASSAGES, doc_ids)
    retrieved = store.with_following_passages(retrieved, first=len(retrieved))  # paragraphs read to their end
    title = f"What the library says on “{topic.strip()}”"
    passages = passage_sentences(retrieved)
    if not any(s.is_prose for sentences in passages.values() for s in sentences):
        return CitedText(title, (), ())
    step("read", 1, 3)
    picked = _pick(embedder, topic, passages)
    step("group", 2, 3)
    groups = _group(embedder, picked, grouping, functools.lru_cache(maxsize=None)(store.page_text))
    sections, cited = [], CitationList()
    for heading, members in groups:
        members.sort(key=lambda p: (p.sentence.retrieved.chunk.doc_id, p.sentence.retrieved.chunk.page_start,
                                    p.sentence.start))  # fmt: skip
        drafted = []
        for p in members:
            chunk = p.sentence.retrieved.chunk
            span = PageSpan(chunk.doc_id, chunk.source, chunk.title, chunk.page_start, p.sentence.start,
                            p.sentence.end, p.sentence.text)  # fmt: skip
            drafted.append((p.sentence.text, cited.cite(span)))
        sections.append((heading, drafted))
    # Every sentence is checked like any answer (quoted sentences pass at once, with their span).
    texts = [text for _, drafted in sections for text, _ in drafted]
    notes = cited.citations
    evidence = [[notes[n - 1].span()] for _, drafted in sections for _, n in drafted]
    labels = iter(s.label.value for s in checker.check_many(texts, evidence))
    built = tuple(
        Section(heading, _paragraphs([DraftSentence(neutralize_markers(text), (n,), next(labels))
                                      for text, n in drafted]))  # fmt: skip
        for heading, drafted in sections
    )
    notices: list[str] = []
    if writer is not None:
        built, notices = _written(writer, topic, built, notes, step)
    step("done", 3, 3)
    return CitedText(title, built, tuple(notes), tuple(notices))


def _written(
    writer: SectionWriter, topic: str, sections: tuple[Section, ...], notes: Sequence[Citation], step: Progress
) -> tuple[tuple[Section, ...], list[str]]:
    written, failed = [], []
    for i, section in enumerate(sections):
        step("write", i, len(sections))
        used = sorted({n for paragraph in section.paragraphs for s in paragraph for n in s.notes})
        try:
            sentences = writer.write(topic, section.heading, [notes[n - 1] for n in used])
        except Exception as exc:  # the model failed: this section keeps its quoted sentences
            log.warning("section %r not written by the model: %s", section.heading, exc)
            failed.append(section.heading or "the summary")
            sentences = []
        written.append(Section(section.heading, _paragraphs(sentences, len(sentences) or 1)) if sentences else section)
    notices = [f"The model could not write {', '.join(failed)}; quoted sentences are shown there."] if failed else []
    return tuple(written), notices


def _pick(embedder: Embedder, topic: str, passages: Mapping[str, list[PassageSentence]]) -> list[_Picked]:
    """The most relevant sentences, each with what it needs to be read on its own (the sentence it leans on,
    the ones that go on about it: "These workshops…", "…from these sessions"), each once; a sentence that
    says what a better one already says is left out."""
    candidates = [s for sentences in passages.values() for s in sentences if s.is_prose]
    vectors = embedder.encode([topic, *(c.context for c in candidates)])
    topic_vector, vectors = vectors[0], vectors[1:]
    vector_of = {c.key: v for c, v in zip(candidates, vectors, strict=True)}
    # every page's sentences in reading order, across the passages (a paragraph may go on in the next one)
    reading_order: dict[tuple[str, int], list[PassageSentence]] = {}
    for sentences in passages.values():
        for sentence in sentences:
            reading_order.setdefault(_page_of(sentence), []).append(sentence)
    for page in reading_order.values():
        page.sort(key=lambda sentence: sentence.start)
    top = max(c.retrieved.score for c in candidates) or 1.0
    scores = [0.7 * float(v @ topic_vector) + 0.3 * c.retrieved.score / top
              for c, v in zip(candidates, vectors, strict=True)]  # fmt: skip
    best = max(scores)
    picked: dict[tuple[str, int], _Picked] = {}
    for i in sorted(range(len(candidates)), key=lambda i: scores[i], reverse=True):
        if scores[i] < max(MIN_RELEVANCE, best - KEEP_WITHIN) or len(picked) >= SUMMARY_SENTENCES:
            break
        seed = candidates[i]
        if seed.key in picked or any(float(vectors[i] @ p.vector) > NEAR_DUPLICATE for p in picked.values()):
            continue
        unit = sentence_unit(seed, passages[seed.key[0]])
        page = reading_order[_page_of(seed)]
        at = page.index(unit[-1]) if unit[-1] in page else len(page)
        for follower in page[at + 1 : at + 1 + MAX_FOLLOWERS]:
            if follower.start - unit[-1].end > 3 or not REFERS_BACK.search(follower.text):
                break  # the paragraph has moved on
            unit.append(follower)
        for member in unit:
            # (a member leaning on its unit's seed shares its context, so it is compared with other units only)
            if member.key in vector_of and member.key not in picked and (member is seed or not any(
                    float(vector_of[member.key] @ p.vector) > NEAR_DUPLICATE
                    for p in picked.values() if p.seed is not seed)):  # fmt: skip
                picked[member.key] = _Picked(member, scores[i], vector_of[member.key], seed)
    return list(picked.values())


def _page_of(sentence: PassageSentence) -> tuple[str, int]:
    return sentence.retrieved.chunk.doc_id, sentence.retrieved.chunk.page_start


def _group(
    embedder: Embedder, picked: list[_Picked], grouping: Grouping, page_text: Callable[[str, int], str | None]
) -> list[tuple[str | None, list[_Picked]]]:
    if grouping is Grouping.AUTO:
        by_country = _by_country(picked, page_text)
        named = [h for h, members in by_country if h != OTHER_HEADING[Grouping.COUNTRY]]
        return by_country if len(named) >= 2 else _by_theme(embedder, picked)
    if grouping is Grouping.COUNTRY:
        return _by_country(picked, page_text)
    if grouping is Grouping.THEME:
        return _by_theme(embedder, picked)
    groups: dict[str, list[_Picked]] = {}
    for p in picked:
        groups.setdefault(p.sentence.retrieved.chunk.title, []).append(p)
    return list(groups.items())


def _by_country(
    picked: list[_Picked], page_text: Callable[[str, int], str | None]
) -> list[tuple[str | None, list[_Picked]]]:
    """Each sentence under the first country it names (or failing that, the sentence it leans on or the one
    it came with); countries with too few sentences, and sentences naming none, go under one closing
    heading."""
    groups: dict[str, list[_Picked]] = {}
    for p in picked:
        own = (p.sentence.text, p.sentence.context, p.seed.context)
        country = next(filter(None, map(_first_place, own)), None) or _last_place(
            _paragraph_before(p.sentence, page_text)
        )
        groups.setdefault(country or "", []).append(p)
    other = groups.pop("", [])
    for country in [c for c, members in groups.items() if len(members) < MIN_PER_COUNTRY]:
        other.extend(groups.pop(country))
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    return [*ordered, *([(OTHER_HEADING[Grouping.COUNTRY], other)] if other else [])]


def _first_place(text: str) -> str | None:
    lowered = text.lower()
    found = [(lowered.find(name), name) for name in entities_in(text) if name in places()]
    return _display_name(min(found)[1], text) if found else None


def _last_place(text: str) -> str | None:
    lowered = text.lower()
    found = [(lowered.rfind(name), name) for name in entities_in(text) if name in places()]
    return _display_name(max(found)[1], text) if found else None


def _paragraph_before(sentence: PassageSentence, page_text: Callable[[str, int], str | None]) -> str:
    """The text of the sentence's paragraph before it, on its page."""
    chunk = sentence.retrieved.chunk
    before = (page_text(chunk.doc_id, chunk.page_start) or chunk.text)[: sentence.start]
    return before[before.rfind("\n\n") + 1 :]


def _display_name(name: str, text: str) -> str:
    """The place as the text writes it ("Burkina Faso", "Côte d'Ivoire"), else title-cased."""
    at = text.lower().find(name)
    return text[at : at + len(name)] if at >= 0 else name.title()


def _by_theme(embedder: Embedder, picked: list[_Picked]) -> list[tuple[str | None, list[_Picked]]]:
    headings = list(THEMES)
    theme_vectors = embedder.encode([f"{h}: {d}" for h, d in THEMES.items()])
    groups: dict[str, list[_Picked]] = {}
    for p in picked:
        groups.setdefault(headings[int(np.argmax(theme_vectors @ p.vector))], []).append(p)
    return [(h, groups[h]) for h in headings if h in groups]


def _paragraphs(
    sentences: list[DraftSentence], size: int = PARAGRAPH_SENTENCES
) -> tuple[tuple[DraftSentence, ...], ...]:
    return tuple(tuple(sentences[i : i + size]) for i in range(0, len(sentences), size))


def cite_draft(
    verify: Callable[[str], Sequence[CheckedSentence]],
    text: str,
    title: str = "Cited draft",
    progress: Progress | None = None,
) -> CitedText:
    """The drafter's ``text`` with a note after each sentence the library supports and "[citation needed]"
    after each it does not; paragraphs are kept. ``verify`` checks one paragraph (``Assistant.verify``).

    Only ``supported`` sentences get a note: a partly supported one is shown as needing a citation, since
    the passage found does not carry all of it."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    cited = CitationList()
    built = []
    for i, paragraph in enumerate(paragraphs):
        if progress:
            progress("check", i, len(paragraphs))
        sentences = []
        for checked in verify(paragraph):
            s = checked.support
            cites: tuple[int, ...] = ()
            if s.label is SupportLabel.SUPPORTED:
                cites = (cited.cite(s.span()),)
            sentences.append(DraftSentence(" ".join(checked.text.split()), cites, s.label.value))
        built.append(tuple(sentences))
    if progress:
        progress("check", len(paragraphs), len(paragraphs))
    return CitedText(title, (Section(None, tuple(built)),), tuple(cited.citations))
