"""Which library documents a question names: "the IACP guide", "Polaris's 2021 data report", "the ASU study".

Why: a question that names its documents ("Do the school resource officer guide and the IACP guide agree…")
should be answered from those documents, each cited. Titles rarely appear verbatim in questions; readers call
a document by its publisher, series, subject, kind and year. A wrong mapping makes a wrong answer, so a
phrase names a document only when one document clearly fits it better than every other.

How:

* ``profiles`` reads the library once (cached per library until its documents change): for each document, a
  ``DocumentProfile`` holding its *names* (acronyms that abbreviate its title or file name, the kind it calls
  itself and the publisher and series named where it speaks of itself — "This special chapter of the Global
  Report…", "Recommended citation: International Association of Chiefs of Police", "About the IACP") and a
  ``description``: title, file-name words, those names, the years of its first pages and their most
  distinctive words (frequent there, rare in the library's other documents).
* ``named_documents`` finds the phrases of a question that refer to a document: a document-kind head noun
  (report, guide, study, case studies, chapter, data, submission…) with the modifiers before it ("the
  hotline's 2020-2022 pandemic report") and a following "of/on/for/from/by" phrase ("the guide for police
  leaders"); or a distinctive name alone where the question attributes something to it ("according to the
  IACP", "what does the IACP recommend"). Each phrase is scored against every profile: each modifier (a
  Snowball stem) weighs its rarity across the library's profiles (IDF), in full when it is one of the
  document's names (title and file name included), half when it only describes its first pages, and half
  against the document when the library knows the word but the document lacks it; the kind noun adds half
  its weight. A year counts when it is the document's publication year or appears in its title, file name or
  first pages (a range such as 2020-2022 is a period covered, not a publication year).
* A phrase resolves to the best document only if its modifiers match it, its score clears a floor and
  clearly beats the second best (by a margin and a ratio), every year in the phrase is one of the
  document's, and every name-like modifier (an acronym, a capitalised or rare word) matches it: "the report"
  names nothing, nor does "the Cleveland guide" in a library with no Cleveland document, nor "the hotline
  report" when two documents are hotline reports. Phrases that are not one library document are skipped: an
  indefinite or possessive determiner ("a Mali briefing", "my report": the user's own), a plural kind ("the
  two Polaris reports"), a bare generic phrase ("hotline reports", "trafficking data").
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from wordfreq import zipf_frequency

from assistant.text.lexicon import stem
from assistant.text.terms import STOPWORDS
from vectorstore.catalog import DocumentRecord

# ----- tunables ------------------------------------------------------------------------------------------
PROFILE_PAGES = 3  # the first pages read for a profile
PROFILE_CHARS = 6000  # of them at most, so a one-page text file is not profiled whole
KEYWORDS = 40  # distinctive first-page words kept in a description
NAME_WEIGHT = 1.0  # a term that is one of the document's names
DESCRIPTION_WEIGHT = 0.5  # a term that only describes its first pages
MISMATCH_WEIGHT = 0.5  # a modifier the library knows but the document lacks counts against it
KIND_WEIGHT = 0.5  # the kind noun ("report", "case studies") says less than its modifiers
# Thresholds in units of the IDF of a term held by one document only, so they mean the same in a library of
# three documents and of three hundred.
MIN_SCORE = 0.4  # the best document's score
MIN_MODIFIER = 0.3  # of which its modifiers' part
MIN_MARGIN = 0.4  # its lead over the second best
MIN_RATIO = 2.0  # and best >= ratio x second
MAX_MODIFIERS = 6  # words read back from a head noun
MAX_FOLLOWING = 5  # words of an "of/on/for/from/by" phrase read after it
RARE_ZIPF = 3.0  # a lower-case word rarer than this in English reads as a name ("iacp", "unodc")
ACRONYM_ZIPF = 4.0  # an all-capitals word rarer than this is an acronym, not a shouted word ("GUIDE")

# ----- vocabulary ----------------------------------------------------------------------------------------
# Nouns that name a kind of document (and the people behind one: "the ASU researchers").
KIND_NOUNS = frozenset(
    """report reports guide guides guidebook guidance study studies case cases survey surveys submission
    submissions chapter chapters data dataset datasets analysis analyses brief briefs briefing manual manuals
    handbook handbooks toolkit toolkits paper papers publication publications document documents review
    reviews assessment assessments research findings results figures statistics summary article articles
    booklet bulletin newsletter edition editions volume section annex appendix statement evaluation
    factsheet researchers authors compendium overview snapshot""".split()
)
# Plural kinds that mean several documents ("the Polaris reports"); "case studies" is one document's cases.
PLURAL_DOCUMENTS = frozenset(
    """reports guides guidebooks studies surveys submissions chapters analyses briefs manuals handbooks toolkits
    papers publications documents reviews assessments articles booklets bulletins editions datasets""".split()
)
# Determiners after which a phrase is the user's own or any document, never a particular library document.
INDEFINITE = frozenset("a an another any some my our your each every no its their his her".split())
# Verbs that attribute a statement to a source: "what does UNODC say", "the IACP recommends".
REPORTING_VERBS = frozenset(
    """say says said report reports reported find finds found recommend recommends recommended estimate
    estimates estimated note notes noted state states stated suggest suggests suggested show shows showed
    describe describes described list lists listed record records recorded count counts counted conclude
    concludes concluded mention mentions mentioned write writes wrote claim claims claimed""".split()
)
DEFINITE = frozenset("the this that these those".split())
FOLLOWING_PREPOSITIONS = frozenset("of on for from by".split())
# Words joining the capitalised words of a proper name: "International Association of Chiefs of Police"; in a
# question only these few, so that "the ASU study and the IACP guide" stay two phrases.
CONNECTORS = frozenset("of on for and the in to & de".split())
NAME_CONNECTORS = frozenset("of on for &".split())
MONTHS = frozenset("january february march april may june july august september october november december".split())
# Sentences in which a document speaks of itself or its makers.
_SELF_REFERENCE = re.compile(
    r"\b(?:this|the present|our)\s+(?:[a-z-]+\s+){0,2}?(report|study|guide|chapter|document|analysis|survey|"
    r"submission|publication|brief|paper|toolkit|handbook|manual|project|edition)\b",
    re.I,
)
_PUBLISHER_CUE = re.compile(
    r"(?:Recommended citation:|About the|©|Copyright|[Pp]ublished by|[Pp]repared by|[Pp]roduced by|"
    r"[Pp]artnership between|[Oo]perated by)\s+"
)
_CAPITALISED_RUN = re.compile(r"(?:[A-Z][\w’'.&-]*)(?:\s+(?:(?:of|on|for|and|the|in|to|&)\s+)*[A-Z][\w’'.&-]*)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"'])|\n{2,}|\s{2,}")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,7}s?\b")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_YEAR_RANGE = re.compile(r"\b((?:19|20)\d\d)\s*(?:-|–|—|to|through|until)\s*(?:mid-)?((?:19|20)\d\d|\d\d)\b", re.I)
_QUESTION_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?(?:[-–][A-Za-z0-9]+(?:['’][A-Za-z]+)?)*|[^\sA-Za-z0-9]")
_WORD_PART = re.compile(r"[A-Za-z0-9]+")
_FILE_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")



class Library(Protocol):
    """What profiles need of the library: ``Assistant`` has both."""

    def documents(self) -> list[DocumentRecord]:
        """Every document of the library."""
        ...

    def page_text(self, doc_id: str, page: int) -> str | None:
        """The stored text of a 1-based page, or None."""
        ...


@dataclass(frozen=True)
class DocumentProfile:
    """What a reader would call a document. ``names``: its title-like names (acronyms, publisher, series);
    ``description``: the names, file-name words, distinctive words and years of its first pages."""

    doc_id: str
    source: str
    title: str
    year: int | None
    description: str = ""
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentMention:
    """A phrase of the question (``text[start:end] == phrase``) naming document ``doc_id``."""

    doc_id: str
    start: int
    end: int
    phrase: str


# ----- words ---------------------------------------------------------------------------------------------
def _is_year(word: str) -> bool:
    return len(word) == 4 and word.isdigit() and word[:2] in ("19", "20")


def _terms(text: str) -> list[str]:
    """Content-word stems of ``text`` (no stop-words, no numbers), in order."""
    out: list[str] = []
    for match in _WORD_PART.finditer(text):
        word = match.group(0).lower()
        if word.isdigit() or word in STOPWORDS or len(word) < 2:
            continue
        out.append(stem(word))
    return out


def _years(text: str) -> set[int]:
    return {int(y) for y in _YEAR.findall(text)}


def file_words(source: str) -> str:
    """The words of a file name: "GLOTIP2024_Chapter_2.pdf" → "GLOTIP 2024 Chapter 2"."""
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", source)
    return " ".join(_FILE_WORD.findall(stem))


def _initials(words: Sequence[str]) -> str:
    return "".join(w[0].upper() for w in words)


def _abbreviates(acronym: str, phrase: str) -> bool:
    """Whether ``acronym`` is the initials of consecutive capitalised words of ``phrase`` (connectors skipped):
    "IACP" of "International Association of Chiefs of Police", "SRO" of "School Resource Officers"."""
    letters = acronym.rstrip("s") if len(acronym) > 2 else acronym
    words = [w for w in re.findall(r"[A-Za-z][\w’'-]*", phrase) if w.lower() not in CONNECTORS and w[0].isupper()]
    n = len(letters)
    return n >= 2 and any(_initials(words[i : i + n]) == letters.upper() for i in range(len(words) - n + 1))


# ----- profiles ------------------------------------------------------------------------------------------
def _first_pages(library: Library, doc: DocumentRecord) -> str:
    pages: list[str] = []
    size = 0
    for number in range(1, PROFILE_PAGES + 1):
        text = library.page_text(doc.doc_id, number)
        if text is None:
            break
        pages.append(text[: PROFILE_CHARS - size])
        size += len(pages[-1])
        if size >= PROFILE_CHARS:
            break
    return "\n\n".join(pages)


def _proper_names(text: str) -> list[str]:
    """Runs of capitalised words ("Global Report", "National Human Trafficking Hotline") and single rare
    capitalised words ("Polaris"), without months or a sentence's ordinary first word."""
    found: list[str] = []
    for match in _CAPITALISED_RUN.finditer(text):
        words = [re.sub(r"['’]s$", "", w.strip(".’'")) for w in match.group(0).split()]
        while words and (words[-1].lower() in CONNECTORS or words[-1].lower() in MONTHS):
            words.pop()
        while words and (words[0].lower() in CONNECTORS or words[0].lower() in MONTHS):
            words.pop(0)
        if not words:
            continue
        capitals = [w for w in words if w[:1].isupper()]
        if len(capitals) >= 2 or (
            len(words) == 1 and len(words[0]) > 2 and zipf_frequency(words[0].lower(), "en") < RARE_ZIPF
        ):
            found.append(" ".join(words))
    return found


def _own_names(title: str, source: str, first_pages: str) -> list[str]:
    """The names a document gives itself and its makers on its first pages, and the acronyms of those and of
    its title and file name."""
    names: list[str] = []
    for sentence in _SENTENCE_END.split(first_pages):
        if found := _SELF_REFERENCE.search(sentence):
            if found.group(1).lower() in KIND_NOUNS:
                names.append(found.group(1).lower())  # what it calls itself: "This report presents…"
            names.extend(_proper_names(sentence))
    for cue in _PUBLISHER_CUE.finditer(first_pages):
        run = _CAPITALISED_RUN.match(first_pages, cue.end())
        if run:
            names.extend(_proper_names(run.group(0)))
    phrases = [title, file_words(source), *names]
    for acronym in dict.fromkeys(_ACRONYM.findall(first_pages)):
        if zipf_frequency(acronym.lower(), "en") < ACRONYM_ZIPF and any(_abbreviates(acronym, p) for p in phrases):
            names.append(acronym)
    title_terms = set(_terms(title)) | set(_terms(file_words(source)))
    kept = [n for n in dict.fromkeys(names) if not set(_terms(n)) <= title_terms]  # nothing the title already says
    return kept


def _content_words(text: str) -> list[str]:
    """Lower-case content words of a page, hyphenated words split, possessives dropped."""
    words: list[str] = []
    for match in re.finditer(r"[A-Za-z][A-Za-z’'-]*[A-Za-z]", text):
        for part in match.group(0).split("-"):
            word = part.lower().removesuffix("’s").removesuffix("'s")
            if len(word) >= 3 and word not in STOPWORDS and word.isalpha():
                words.append(word)
    return words


def _keywords(first_pages: str, df: Counter[str], n_docs: int) -> list[str]:
    """The first pages' most distinctive words (tf in them × idf over the library's documents), in their
    most frequent written form."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for word in _content_words(first_pages):
        key = stem(word)
        counts[key] += 1
        forms.setdefault(key, Counter())[word] += 1
    scored = sorted(counts, key=lambda s: (-counts[s] * math.log((n_docs + 1) / max(df[s], 1)), s))
    return [forms[s].most_common(1)[0][0] for s in scored[:KEYWORDS]]


def build_profiles(library: Library) -> list[DocumentProfile]:
    """A profile of every document of ``library`` from its record and first pages; which of their words are
    distinctive is judged against the whole text of the library's documents."""
    docs = library.documents()
    pages = {d.doc_id: _first_pages(library, d) for d in docs}
    df: Counter[str] = Counter()  # in how many documents (all their pages) each word occurs
    for d in docs:
        words: set[str] = set()
        for number in range(1, d.page_count + 1):
            words.update(_content_words(library.page_text(d.doc_id, number) or ""))
        df.update({stem(w) for w in words})
    out: list[DocumentProfile] = []
    for d in docs:
        first = pages[d.doc_id]
        names = _own_names(d.title, d.source, first)
        years = sorted(_years(first) | _years(d.title) | _years(d.source))
        parts = [d.title, file_words(d.source), *names, *_keywords(first, df, len(docs)), *map(str, years)]
        description = " · ".join(dict.fromkeys(p for p in parts if p))
        out.append(DocumentProfile(d.doc_id, d.source, d.title, d.year, description, tuple(names)))
    return out


_cache: weakref.WeakKeyDictionary[object, tuple[tuple, list[DocumentProfile]]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def profiles(library: Library) -> list[DocumentProfile]:
    """``build_profiles``, kept per library object until its set of documents changes (by id and checksum)."""
    docs = library.documents()
    signature = tuple(sorted((d.doc_id, d.sha256) for d in docs))
    with _cache_lock:
        cached = _cache.get(library)
        if cached and cached[0] == signature:
            return cached[1]
    built = build_profiles(library)
    with _cache_lock:
        _cache[library] = (signature, built)
    return built


# ----- the index the matcher scores against ---------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    doc_id: str
    name_terms: frozenset[str]
    description_terms: frozenset[str]
    year: int | None
    name_years: frozenset[int]
    description_years: frozenset[int]

    def term_weight(self, term: str, names_only: bool = False) -> float:
        if term in self.name_terms:
            return NAME_WEIGHT
        return 0.0 if names_only or term not in self.description_terms else DESCRIPTION_WEIGHT

    def year_weight(self, year: int, ranged: bool, names_only: bool = False) -> float:
        if (year == self.year and not ranged) or year in self.name_years:
            return NAME_WEIGHT
        return 0.0 if names_only or year not in self.description_years else DESCRIPTION_WEIGHT


@dataclass(frozen=True)
class _Index:
    entries: tuple[_Entry, ...]
    idf: dict[str, float]
    year_idf: dict[int, float]
    unit: float  # the IDF of a term only one document holds


@lru_cache(maxsize=16)
def _index(profile_set: tuple[DocumentProfile, ...]) -> _Index:
    entries = []
    for p in profile_set:
        name_text = " ".join([p.title, file_words(p.source), *p.names])
        names = frozenset(_terms(name_text))
        name_years = frozenset(_years(name_text))
        entries.append(
            _Entry(
                p.doc_id,
                names,
                frozenset(_terms(p.description)) - names,
                p.year,
                name_years,
                frozenset(_years(p.description)) - name_years,
            )
        )
    n = len(entries)
    df: Counter[str] = Counter()
    year_df: Counter[int] = Counter()
    for e in entries:
        df.update(e.name_terms | e.description_terms)
        year_df.update(e.name_years | e.description_years | ({e.year} if e.year else set()))
    idf = {t: math.log((n + 1) / c) for t, c in df.items()}
    year_idf = {y: math.log((n + 1) / c) for y, c in year_df.items()}
    return _Index(tuple(entries), idf, year_idf, math.log(n + 1))


# ----- reading the question ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int
    sentence_start: bool  # first word of the question or of a sentence in it

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()

    @property
    def parts(self) -> list[str]:
        """Lower-case words of a hyphenated token, possessive dropped: "hotline's" → ["hotline"]."""
        return [re.sub(r"['’]s?$", "", p) for p in re.split(r"[-–]", self.text.lower()) if p]

    @property
    def possessive(self) -> bool:
        return bool(re.search(r"['’]s?$", self.text)) and self.text[0].isalpha()

    @property
    def is_stop(self) -> bool:
        if re.search(r"['’][a-z]", self.text, re.I) and not self.possessive:
            return True  # a contraction: "don't", "what's"
        parts = self.parts
        return len(parts) == 1 and parts[0] in STOPWORDS and not self.is_kind

    @property
    def is_kind(self) -> bool:
        return any(p in KIND_NOUNS for p in self.parts)

    @property
    def name_like(self) -> bool:
        """An acronym, a capitalised word inside a sentence, a year or a word rare in English."""
        letters = re.sub(r"[^A-Za-z]", "", self.text)
        if len(letters) >= 2 and letters.isupper():
            return True
        if any(_is_year(p) for p in self.parts):
            return True
        if self.text[0].isupper() and not self.sentence_start:
            return True
        return any(len(p) > 2 and p.isalpha() and zipf_frequency(p, "en") < RARE_ZIPF for p in self.parts)


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    at_start = True
    for m in _QUESTION_TOKEN.finditer(text):
        token = _Token(m.group(0), m.start(), m.end(), at_start)
        out.append(token)
        if token.is_word:
            at_start = False
        elif token.text in ".?!:;\"“”'‘(":
            at_start = True
    return out


@dataclass(frozen=True)
class _Candidate:
    start: int  # token index of the first word (the determiner included)
    end: int  # token index after the last word
    kinds: tuple[int, ...]  # token indices of the kind noun(s): "report", "case studies"; () for a name alone
    modifiers: tuple[int, ...]  # token indices of the words before them (or of the name)
    following: tuple[int, ...]  # token indices of the "of/on/for/from/by" phrase after them


def _continues(tokens: Sequence[_Token], i: int, inside: bool) -> bool:
    """Whether token ``i`` belongs to a stretch of content words (``inside``: the token before it does). Stop
    words and connectors inside a capitalised name belong to it: "In Harm's Way", "Chiefs of Police"."""
    token = tokens[i]
    if token.is_word and not token.is_stop:
        return True
    if len(token.text) < 2 or token.text.lower() in DEFINITE | INDEFINITE:
        return False
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    if token.text[0].isupper() and not token.sentence_start and token.is_word:
        return inside or (following is not None and following.is_word and following.text[0].isupper())
    if not inside:
        return False
    return (
        token.text.lower() in NAME_CONNECTORS
        and tokens[i - 1].text[0].isupper()
        and following is not None
        and following.is_word
        and following.text[0].isupper()
    )


def _runs(tokens: Sequence[_Token]) -> list[tuple[int, int]]:
    """Maximal stretches of content words (possessives included): where document phrases live."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if _continues(tokens, i, False):
            j = i + 1
            while j < len(tokens) and _continues(tokens, j, True):
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _determiner(tokens: Sequence[_Token], start: int) -> int | None:
    """Index of the determiner just before ``start``, if any."""
    j = start - 1
    if j >= 0 and tokens[j].text.lower() in DEFINITE | INDEFINITE:
        return j
    return None


def _following(tokens: Sequence[_Token], after: int) -> tuple[int, ...]:
    """The content words of an "of/on/for/from/by" phrase starting at token ``after``, up to its last kind
    noun if it has one ("analysis of 2021 data find…" → "2021 data")."""
    i = after
    if i >= len(tokens) or tokens[i].text.lower() not in FOLLOWING_PREPOSITIONS:
        return ()
    i += 1
    if i < len(tokens) and tokens[i].text.lower() in DEFINITE:
        i += 1
    words: list[int] = []
    while i < len(tokens) and _continues(tokens, i, bool(words)) and len(words) < MAX_FOLLOWING:
        words.append(i)
        i += 1
    kinds = [n for n, w in enumerate(words) if tokens[w].is_kind]
    if kinds:
        words = words[: kinds[-1] + 1]
    while words and tokens[words[-1]].text.lower() in REPORTING_VERBS:
        words.pop()
    return tuple(words)


def _candidates(tokens: Sequence[_Token]) -> list[_Candidate]:
    found: list[_Candidate] = []
    for run_start, run_end in _runs(tokens):
        if found and run_start < found[-1].end:
            continue  # read already, as the "of …" phrase of the phrase before
        kinds = [i for i in range(run_start, run_end) if tokens[i].is_kind]
        if kinds:
            last = kinds[-1]
            first_kind = last
            while first_kind > run_start and tokens[first_kind - 1].is_kind and not tokens[first_kind - 1].possessive:
                first_kind -= 1  # "case studies", "data report"
            first = max(run_start, first_kind - MAX_MODIFIERS)
            modifiers = tuple(range(first, first_kind))
            det = _determiner(tokens, first)
            if det is not None and tokens[det].text.lower() in INDEFINITE:
                continue  # "a Mali briefing", "my report": not a library document
            if tokens[last].parts[-1] in PLURAL_DOCUMENTS and not (
                first_kind < last and tokens[last - 1].parts[-1] == "case"
            ):
                continue  # "the two Polaris reports", "the gang studies": several documents, or none
            if det is None and not any(tokens[i].possessive for i in modifiers):
                plural = tokens[last].parts[-1].endswith("s") and tokens[last].parts[-1] != "analysis"
                if plural or not any(tokens[i].name_like for i in modifiers):
                    continue  # "hotline reports", "trafficking data": reports and data in general
            following = _following(tokens, last + 1) if last == run_end - 1 else ()
            end = (following[-1] if following else last) + 1
            kind_span = tuple(range(first_kind, last + 1))
            found.append(_Candidate(det if det is not None else first, end, kind_span, modifiers, following))
            continue
        # A name alone, where the question attributes something to it.
        words = list(range(run_start, run_end))
        if len(words) > 1 and tokens[words[-1]].text.lower() in REPORTING_VERBS:
            words.pop()
            attributed = True
        else:
            after = tokens[run_end].text.lower() if run_end < len(tokens) else ""
            attributed = after in REPORTING_VERBS
        det = _determiner(tokens, run_start)
        if det is not None and tokens[det].text.lower() in INDEFINITE:
            continue
        opening = det if det is not None else run_start
        preceding = [t.text.lower() for t in tokens[max(0, opening - 2) : opening]]
        attributed = attributed or preceding == ["according", "to"]
        if attributed and all(tokens[i].name_like for i in words):
            found.append(_Candidate(opening, words[-1] + 1, (), tuple(words), ()))
    return found


def _token_terms(token: _Token) -> tuple[list[str], list[int]]:
    terms: list[str] = []
    years: list[int] = []
    for part in token.parts:
        for piece in _WORD_PART.findall(part):
            if _is_year(piece):
                years.append(int(piece))
            elif not piece.isdigit() and piece not in STOPWORDS and len(piece) > 1:
                terms.append(stem(piece))
    return terms, years


def _ranged_years(text: str) -> set[int]:
    """Years that open or close a period ("2020-2022", "from 2020 to mid-2022"): not publication years."""
    out: set[int] = set()
    for m in _YEAR_RANGE.finditer(text):
        first, last = m.group(1), m.group(2)
        out.add(int(first))
        out.add(int(last) if len(last) == 4 else int(first[:2] + last))
    return out


def _resolve(candidate: _Candidate, tokens: Sequence[_Token], index: _Index, ranged: set[int]) -> str | None:
    """The one document the candidate phrase clearly names, or None."""
    names_only = not candidate.kinds
    modifier_terms: dict[str, None] = {}
    modifier_years: dict[int, None] = {}
    for i in (*candidate.modifiers, *candidate.following):
        terms, years = _token_terms(tokens[i])
        modifier_terms.update(dict.fromkeys(terms))
        modifier_years.update(dict.fromkeys(years))
    kind_terms = [t for i in candidate.kinds for t in _token_terms(tokens[i])[0] if t not in modifier_terms]
    if not modifier_terms and not modifier_years:
        return None  # "the report": a kind alone names nothing

    def score(entry: _Entry) -> tuple[float, float]:
        """(total, modifiers' part): matches weigh their IDF, known modifiers the document lacks count
        against it."""
        weighted = [(entry.term_weight(t), index.idf.get(t, 0.0)) for t in modifier_terms]
        weighted += [(entry.year_weight(y, y in ranged), index.year_idf.get(y, 0.0)) for y in modifier_years]
        modifiers = sum(w * idf if w > 0 else -MISMATCH_WEIGHT * idf for w, idf in weighted)
        kind = sum(KIND_WEIGHT * entry.term_weight(t) * index.idf.get(t, 0.0) for t in kind_terms)
        return modifiers + kind, modifiers

    ranked = sorted(((score(e), e) for e in index.entries), key=lambda x: -x[0][0])
    (best, modifiers), winner = ranked[0]
    second = max(ranked[1][0][0], 0.0) if len(ranked) > 1 else 0.0
    if modifiers < MIN_MODIFIER * index.unit or best < MIN_SCORE * index.unit:
        return None
    if names_only and not any(winner.term_weight(t, names_only=True) > 0 for t in modifier_terms):
        return None  # a name alone must be one of the document's names, not a word of its pages
    if best - second < MIN_MARGIN * index.unit or best < MIN_RATIO * second:
        return None
    if modifier_years and not any(winner.year_weight(y, y in ranged) > 0 for y in modifier_years):
        return None  # "the 2019 hotline report": the library's hotline report is another year's
    for i in candidate.modifiers:  # every name-like word before the kind noun must fit the document
        token = tokens[i]
        if not token.name_like:
            continue
        terms, years = _token_terms(token)
        fits = [winner.term_weight(t) > 0 for t in terms] + [winner.year_weight(y, y in ranged) > 0 for y in years]
        if fits and not any(fits):
            return None  # "the Cleveland guide": no such document
    return winner.doc_id


def named_documents(text: str, profiles: Sequence[DocumentProfile]) -> list[DocumentMention]:
    """The phrases of ``text`` that name one document of ``profiles``, in order (a document named twice is
    listed twice). Precision first: an ambiguous or vague phrase names nothing."""
    if not text or not profiles:
        return []
    index = _index(tuple(profiles))
    tokens = _tokens(text)
    ranged = _ranged_years(text)
    mentions: list[DocumentMention] = []
    for candidate in _candidates(tokens):
        doc_id = _resolve(candidate, tokens, index, ranged)
        if doc_id is None:
            continue
        start, end = tokens[candidate.start].start, tokens[candidate.end - 1].end
        mentions.append(DocumentMention(doc_id, start, end, text[start:end]))
    return mentions


def named_doc_ids(mentions: Iterable[DocumentMention]) -> list[str]:
    """The distinct documents of ``mentions``, in order of first mention."""
    return list(dict.fromkeys(m.doc_id for m in mentions))
