"""What an answer must satisfy, read from the question, and whether a piece of evidence satisfies it.

A passage can back a sentence (``assistant.grounding.support``) and still not answer the question: "How many calls did
the hotline answer in 2021?" is not answered by the 2023 figure, "…victims in Togo?" not by Ghana's, "How many
of them were women?" (them = the 87 victims at Dzaleka) not by the women of a training in Cox's Bazar. So
every question is read for its constraints:

* **years and periods** ("in 2021", "2019-2023", "between 2020 and 2021", "since 2018");
* **places** (countries, regions, states, cities, camps: ``assistant.text.places``);
* **the kind of answer expected**: a number ("how many", "what share", "combien", "cuántas"), a date
  ("when", "which year"), a list, or a description;
* **a breakdown** ("by sex", "how many … were women"): the answer must name the category and give a number;
* **the referent of a follow-up**: the people, places and names of the previous turn ("the 87 victims
  identified at Dzaleka"), which an answer to "how many of them…" must be about.

Evidence is read at widening levels: the sentence (with the sentence it leans on), its paragraph, the heading
above it, and the document's own scope (title and the places it is mostly about). For years and places the
first level that states any decides: a sentence that says 2023 does not answer a 2021 question, whatever its
paragraph says. A year the evidence never states is no contradiction (the fact is undated); a place the
evidence never states is (a question about Mali needs evidence that says Mali).

Years and places inside a document's description ("the hotline's 2020-2022 pandemic report", "the Global
Report's Africa chapter") describe which document to read, not the fact asked; they are left out when the
caller names the spans that described documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from wordfreq import zipf_frequency

from assistant.text.lexicon import is_frame_word
from assistant.text.places import Place, place_mentions, within
from assistant.text.references import FOLLOWUP_REFERENCE


class AnswerKind(Enum):
    """The kind of answer a question expects (``expected_kind``)."""

    NUMBER = "number"
    DATE = "date"
    LIST = "list"
    DESCRIPTION = "description"


class Unmet(Enum):
    """Why a piece of evidence does not answer the question, from the most to the least specific."""

    YEAR = "year"
    PLACE = "place"
    NAME = "name"
    REFERENT = "referent"
    BREAKDOWN = "breakdown"
    NUMBER = "number"
    DATE = "date"


# ----- years ---------------------------------------------------------------------------------------------
_YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
_URL = re.compile(r"(?:https?://|www\.)\S+(?:\s[\w./-]*/\S*)?")  # a line-broken path too: "…/wp-content/ uploads/…"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+"
)
# "mid-2019", "end of 2020", "August 2022"
_PART_OF = rf"(?:(?:early|mid|late|end)[- ](?:of\s+)?|{_MONTH})?"
_YEAR_SPAN = re.compile(
    rf"(?:\b(?P<since>since|after)\s+(?P<y0>{_YEAR})\b)"
    rf"|(?:\b(?:between|from)\s+{_PART_OF}(?P<a>{_YEAR})\s*(?:and|to|-|–|—|until|through)"
    rf"\s*{_PART_OF}(?P<b>{_YEAR})\b)"
    rf"|(?:(?<![\d/.,])(?P<c>{_YEAR})\s*(?:-|–|—|to|through|until)\s*{_PART_OF}(?P<d>{_YEAR}|\d\d)\b"
    rf"(?!\d|,\d))"
    rf"|(?:(?<![\d,.$])(?P<y>{_YEAR})(?!\d|[,.]\d))",  # not "12,2023" or "2023.5"
    re.I,
)


@dataclass(frozen=True)
class YearSpan:
    """A year (``first == last``), a period, or an open period ("since 2018": ``open_end``)."""

    first: int
    last: int
    open_end: bool = False

    def __str__(self) -> str:
        if self.open_end:
            return f"since {self.first}"
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def year_spans(text: str) -> list[YearSpan]:
    """The years and periods ``text`` states, in order. Two-digit ends are read in the first year's century
    ("2020-22"). A number with thousands separators or decimals is not a year ("2,012", "2012.5"), nor is
    one inside a web address (".../uploads/2019/09/...")."""
    spans = []
    for m in _YEAR_SPAN.finditer(_URL.sub(" ", text)):
        if m.group("y0"):
            spans.append(YearSpan(int(m.group("y0")), 2100, open_end=True))
        elif m.group("a"):
            spans.append(_period(int(m.group("a")), int(m.group("b"))))
        elif m.group("c"):
            first, end = int(m.group("c")), m.group("d")
            last = int(end) if len(end) == 4 else first // 100 * 100 + int(end)
            spans.append(_period(first, last) if last > first else YearSpan(first, first))
        else:
            year = int(m.group("y"))
            spans.append(YearSpan(year, year))
    return spans


def _period(first: int, last: int) -> YearSpan:
    return YearSpan(min(first, last), max(first, last))


def years_agree(asked: Sequence[YearSpan], stated: Sequence[YearSpan]) -> bool:
    """Does what the evidence states cover what was asked? A year asked is met by that year, or by a period
    that starts or ends with it (its figure is given); not by a period it merely falls inside ("2010-2015"
    totals do not answer "in 2012"). A period asked is met by any year or period overlapping it."""
    for a in asked:
        for s in stated:
            if a.first == a.last and not a.open_end:
                if s.open_end:
                    continue
                if a.first in (s.first, s.last):
                    return True
            elif s.first <= a.last and a.first <= s.last:
                return True
    return False


# ----- what is counted -------------------------------------------------------------------------------------
_HOW_MANY = re.compile(
    r"\bhow\s+many\s+(?:[a-z-]+\s+){0,2}?(?P<noun>[a-z-]+)(?=\s+(?:did|do|does|were|was|are|is|have|has|had|will|"
    r"would|could|can|in|of|from|per|across|at|on|for|with|by)\b)",
    re.I,
)
# Words that count anyone or anything: the text says "persons", "victims", "cases" for them.
_GENERIC_COUNTS = frozenset("people persons individuals times them those these ones".split())
_IRREGULAR = {"children": "child", "women": "woman", "men": "man", "people": "person"}


def counted_noun(question: str) -> str | None:
    """The noun "how many" counts ("How many calls did the hotline answer" → "calls"), unless generic."""
    m = _HOW_MANY.search(question)
    noun = m.group("noun").lower() if m else None
    return noun if noun and noun not in _GENERIC_COUNTS else None


def _singular(noun: str) -> str:
    """``noun`` without its plural ending ("victims" → "victim", "cases" → "case", "countries" → "country")."""
    noun = noun.lower()
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith(("ches", "shes", "sses", "xes")):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith("ss"):
        return noun[:-1]
    return noun


def _names_counted(sentence: str, counted: str) -> bool:
    """Whether ``sentence`` uses the noun ``counted``, singular or plural. Inflections only, not a stem: a
    count of "signals" is not answered by "signaler information", nor one of "victims" by "victimization"."""
    wanted = _singular(counted)
    return any(_singular(word) == wanted for word in re.findall(r"[A-Za-z]+", sentence))


# ----- the kind of answer ---------------------------------------------------------------------------------
_NUMBER_QUESTION = re.compile(
    r"\bhow\s+(?:many|much|often|long|old|large|big|high)\b|\bby\s+how\s+much\b"
    r"|\bwhat\s+(?:\w+\s+)?(?:share|proportion|percentage|per\s*cent|percent|fraction|number|amount|rate|age|"
    r"average|median|total|sum|figure|count|sentence|prison\s+term|price|cost)\b"
    r"|\b(?:number|share|proportion|percentage|fraction)\s+of\b"
    r"|\bcombien\b|\bquel(?:le)?s?\s+(?:pourcentage|nombre|proportion|part|montant|taux)\b"
    r"|\bcu[aá]nt[oa]s?\b|\bqu[eé]\s+(?:porcentaje|proporci[oó]n|n[uú]mero|cantidad)\b",
    re.I,
)
_DATE_QUESTION = re.compile(
    r"\bwhen\s+(?:was|were|did|is|does|do|will|has|have|had)\b"  # not "When an SRO comes across…, what…"
    r"|\bwhat\s+(?:year|date|month)\b|\bwhich\s+(?:year|date|month)\b"
    r"|\bquand\b|\ben\s+quelle\s+ann[ée]e\b|\bcu[aá]ndo\b|\ben\s+qu[eé]\s+a[nñ]o\b",
    re.I,
)
_LIST_NOUNS = (
    r"ones|types|kinds|forms|methods|means|steps|indicators|signs|factors|drivers|sources|sectors|countries|states|"
    r"provinces|regions|cities|behaviou?rs|offences|offenses|crimes|tactics|vulnerabilities|recommendations|"
    r"measures|suggestions|reasons|groups|items|risks|services|challenges|barriers|needs|agencies|"
    r"organi[sz]ations|actors|partners|practices|strategies|categories|warning signs|red flags"
)
_LIST_QUESTION = re.compile(
    rf"\b(?:which|what)\s+(?:[\w'’-]+\s+){{0,6}}?(?:{_LIST_NOUNS})\b"
    r"|\b(?:list|name)\s+(?:the|all|some)\b|\b(?:three|four|five|six|top\s+\w+)\s+(?:most\s+)?\w+",
    re.I,
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"hundreds|thousand|thousands|million|millions|billion|dozen|dozens|half|third|quarter|majority"
)
# A numeral that states a quantity: not a bare year, not a page or list label.
_QUANTITY = re.compile(rf"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?\s*(?:%|per\s*cent|percent)?|\b(?:{_NUMBER_WORDS})\b", re.I)
_MONTH = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b")


def expected_kind(question: str) -> AnswerKind:
    """NUMBER for "how many / what share…", DATE for "when / in which year…", LIST for "which … / what are
    the …s", else DESCRIPTION."""
    if _NUMBER_QUESTION.search(question):
        return AnswerKind.NUMBER
    if _DATE_QUESTION.search(question):
        return AnswerKind.DATE
    if _LIST_QUESTION.search(question):
        return AnswerKind.LIST
    return AnswerKind.DESCRIPTION


def states_quantity(text: str) -> bool:
    """Whether ``text`` gives a number that is not merely a year."""
    for m in _QUANTITY.finditer(text):
        token = m.group(0).strip().lstrip("$").replace(",", "")
        if re.fullmatch(r"(?:19[5-9]\d|20[0-4]\d)", token):
            continue
        return True
    return False


def states_date(text: str) -> bool:
    """Whether ``text`` names a year, a period or a month."""
    return bool(year_spans(text) or _MONTH.search(text))


# ----- breakdowns ------------------------------------------------------------------------------------------
_SEX_TERMS = r"women|woman|men|man|female|females|male|males|girls|girl|boys|boy|femmes|hommes|mujeres|hombres"
_AGE_TERMS = r"children|child|minors|minor|adults|adult|aged|age|years old|under 18|juveniles|youth"
_BREAKDOWN_QUESTION = re.compile(
    r"\b(?:by|split\s+by|broken\s+down\s+by|breakdown\s+by|disaggregated\s+by)\s+(?P<by>sex|gender|age)\b"
    r"|\b(?P<split>sex|gender|age)\s+(?:split|breakdown|distribution|ratio)\b"
    rf"|\bhow\s+many\s+(?:\w+\s+){{0,3}}?(?:were|are|was|is)\s+(?P<cat>{_SEX_TERMS}|{_AGE_TERMS})\b",
    re.I,
)


@dataclass(frozen=True)
class Breakdown:
    """The question asks for part of a group by a category: ``by`` is "sex" or "age"."""

    by: str

    @property
    def terms(self) -> re.Pattern:
        """The words of the category's values ("women", "boys", "under 18"…)."""
        return re.compile(rf"\b(?:{_SEX_TERMS if self.by == 'sex' else _AGE_TERMS})\b", re.I)


def breakdown_asked(question: str) -> Breakdown | None:
    """The breakdown a question asks for ("how many of them were women?": by sex), or None."""
    m = _BREAKDOWN_QUESTION.search(question)
    if not m:
        return None
    word = (m.group("by") or m.group("split") or m.group("cat") or "").lower()
    if word in ("sex", "gender") or re.fullmatch(_SEX_TERMS, word):
        return Breakdown("sex")
    return Breakdown("age")


# ----- names of the previous turn ---------------------------------------------------------------------------
_NAME = re.compile(r"(?<!\w)(?<!\w['’])([A-Z][A-Za-z’'-]{2,}|[A-Z]{2,}[a-z]?)\b")  # 'Cecilia' too
_NAME_ZIPF = 3.5  # a capitalised word rarer than this in English is a name even first in a sentence
_NOT_NAMES = frozenset(
    """the a an this that these those in on at of for and or but as it its their there they he she we by with
    from to between during after before according some most many all both each other however although while
    when where which who what how why yes no is are was were did does do has have had can could would should
    will may might also since until over under about into than then if not
    figure table source note chapter section report guide study data page annex box""".split()
)


def names_in(text: str) -> list[str]:
    """Capitalised words (first in a sentence only when rare in English: "Cecilia was…"), and acronyms:
    the names a text relies on."""
    names = []
    for m in _NAME.finditer(text):
        word = m.group(1)
        before = text[: m.start()].rstrip()
        sentence_start = not before or before[-1] in ".?!:\n"
        if word.lower().rstrip("’'s") in _NOT_NAMES or (not word.isupper() and is_frame_word(word.lower())):
            continue  # "Combien", "Cuántas", "Which" open a question; they name nothing
        if sentence_start and not word.isupper() and zipf_frequency(word.lower(), "en") >= _NAME_ZIPF:
            continue
        names.append(re.sub(r"[’']s$", "", word))
    return list(dict.fromkeys(names))


_MONTHS_DAYS = frozenset(
    """january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday""".split()
)


def name_phrases(text: str) -> list[str]:
    """The names a question relies on, as phrases: runs of adjacent capitalised words or acronyms ("Safe
    Harbor", "Security Council", "FBI"), without places, months and sentence-initial common words."""
    from assistant.answering.documents_named import KIND_NOUNS  # a name before "report", "study", "case" is a title's

    names = set(names_in(text))
    place_spans = [(m.start, m.end) for m in place_mentions(text)]
    phrases: list[str] = []
    run: list[str] = []

    def close(next_word: str) -> None:
        if run and next_word.lower() not in KIND_NOUNS:
            phrases.append(" ".join(run))
        run.clear()

    for m in re.finditer(r"\S+", text):
        raw = re.sub(r"^[\"'“‘(]+|[\"'”’),.;:?!]+$", "", m.group())
        word = re.sub(r"[’']s$", "", raw)
        inside_place = any(a <= m.start() < b for a, b in place_spans)
        if word in names and not inside_place and word.lower() not in _MONTHS_DAYS:
            run.append(word)
            if m.group()[-1:] in ',.;:?!)”"' or word != raw:  # punctuation or a possessive ends a name
                close("")
        else:
            close(word)
    close("")
    return list(dict.fromkeys(phrases))


# Whether a text names a name, by (name, hash and length of the text), for the last texts checked: every
# candidate sentence of a page is checked against that page's whole text (a .txt file is one page of any
# length), and a page of 300,000 characters took 1.5 ms a check, 1.2 s for one answer. Keyed by the hash, not
# the text, so that no page is kept alive.
_NAMES_FOUND: dict[tuple[str, int, int], bool] = {}
NAMES_FOUND_KEPT = 4096


def names_met(name: str, text: str) -> bool:
    """Whether ``text`` names ``name``: the phrase itself (any case), or for an acronym, capitalised words
    whose initials spell it ("ASU": "Arizona State University")."""
    key = (name, hash(text), len(text))
    found = _NAMES_FOUND.get(key)
    if found is None:
        if len(_NAMES_FOUND) >= NAMES_FOUND_KEPT:
            _NAMES_FOUND.clear()
        found = _NAMES_FOUND[key] = _names_met(name, text)
    return found


def _names_met(name: str, text: str) -> bool:
    if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.I):
        return True
    if re.fullmatch(r"[A-Z]{2,}s", name):  # "NGOs"
        return _names_met(name[:-1], text)
    if name.isupper() and len(name) >= 2:
        words = re.findall(r"[A-Z][A-Za-z]+", text)
        initials = "".join(w[0] for w in words)
        return name in initials
    return False


@dataclass(frozen=True)
class Referent:
    """What the conversation was about before a follow-up: its places and names, and a phrase to say so."""

    places: tuple[Place, ...]
    names: tuple[str, ...]

    def described(self) -> str:
        """The referent in a few words for a refusal: "Dzaleka refugee camp, Malawi, UNODC"."""
        shown = [p.name for p in self.places] + [n for n in self.names if n not in {p.name for p in self.places}]
        return ", ".join(shown[:4])

    def met_by(self, text: str) -> bool:
        """Whether ``text`` speaks of the referent: of its places when it has any (an organisation such as
        UNODC is named all over a library and tells no group from another), else of its names."""
        if self.places:
            found = [m.place for m in place_mentions(text)]
            return any(within(f, p) for f in found for p in self.places)
        lowered = text.lower()
        return any(re.search(rf"\b{re.escape(n.lower())}\b", lowered) for n in self.names)


# ----- the constraints of one question (part) ---------------------------------------------------------------
@dataclass(frozen=True)
class SentenceContext:
    """Where a candidate answer sentence sits, from narrow to wide. ``scope`` is the document's own: its
    title, the places it is mostly about and the periods its data covers."""

    sentence: str
    paragraph: str = ""
    heading: str = ""
    title: str = ""
    scope_places: tuple[Place, ...] = ()
    scope_years: tuple[YearSpan, ...] = ()  # the periods the document says its data covers
    page: str = ""  # the whole page: where the names that identify a case or programme may stand
    # Names the question gives for another document it names ("'Adele' in the case studies" when this is the
    # ASU study): not asked of this one.
    foreign_names: frozenset[str] = frozenset()

    def levels(self) -> tuple[str, ...]:
        """The evidence from narrow to wide: sentence, paragraph, heading, title."""
        return (self.sentence, self.paragraph, self.heading, self.title)


@dataclass(frozen=True)
class Constraints:
    """What an answer to one question (or one part of a compound question) must satisfy."""

    question: str
    years: tuple[YearSpan, ...] = ()
    places: tuple[Place, ...] = ()
    kind: AnswerKind = AnswerKind.DESCRIPTION
    breakdown: Breakdown | None = None
    referent: Referent | None = None
    counted: str | None = None  # what "how many" counts ("calls"): a figure of something else does not answer
    names: tuple[str, ...] = ()  # organisations, programmes, laws the question names ("Safe Harbor", "FBI")

    @property
    def any(self) -> bool:
        """Whether there is anything to check (a bare description question has nothing)."""
        return bool(self.years or self.places or self.names or self.breakdown or self.referent) or self.kind in (
            AnswerKind.NUMBER,
            AnswerKind.DATE,
        )

    def unmet(self, evidence: SentenceContext) -> list[Unmet]:
        """The constraints ``evidence`` fails, most specific first; empty when it may answer."""
        failed = []
        if self.years and not self._years_met(evidence):
            failed.append(Unmet.YEAR)
        if self.places and not self._places_met(evidence):
            failed.append(Unmet.PLACE)
        # A name may identify the case or programme on the page rather than in the sentence's paragraph
        # ("the FIU case where a man contacted … on Snapchat"); a page that never names it cannot answer.
        where = (*evidence.levels(), evidence.page)
        if self.names and not all(
            any(names_met(n, t) for t in where if t) for n in self.names if n not in evidence.foreign_names
        ):
            failed.append(Unmet.NAME)
        if self.referent and not any(self.referent.met_by(t) for t in evidence.levels()[:3] if t):
            failed.append(Unmet.REFERENT)
        sentence = evidence.sentence
        if self.breakdown and not (self.breakdown.terms.search(sentence) and states_quantity(sentence)):
            failed.append(Unmet.BREAKDOWN)
        if self.kind is AnswerKind.NUMBER and not (
            states_quantity(sentence) and (self.counted is None or _names_counted(sentence, self.counted))
        ):
            failed.append(Unmet.NUMBER)
        if self.kind is AnswerKind.DATE and not states_date(sentence):
            failed.append(Unmet.DATE)
        return failed

    def _years_met(self, evidence: SentenceContext) -> bool:
        for text in evidence.levels():
            stated = year_spans(text) if text else []
            if stated:
                return years_agree(self.years, stated)
        # Nothing dates the fact: a figure of unknown year is not a figure for the year asked (a study's
        # whole-sample share does not answer "in 2012"). A period asked ("from 2020 to mid-2022") is met by
        # an undated fact of a document whose data covers that period ("January 2020-August 2022").
        if evidence.scope_years and all(a.first != a.last and not a.open_end for a in self.years):
            return years_agree(self.years, evidence.scope_years)
        return False

    def _places_met(self, evidence: SentenceContext) -> bool:
        sentence, *wider = evidence.levels()[:3]
        found = [m.place for m in place_mentions(sentence)] if sentence else []
        if found:
            return self._covers(found)
        for text in wider:
            found = [m.place for m in place_mentions(text)] if text else []
            if found:
                # A sentence that names no place speaks of its paragraph's places together: it answers for
                # the place asked only when the paragraph is about that place alone ("In 2023, Somalia,
                # Mali and the Sudan …; some 4,500 children were affected" is no figure for Somalia).
                return self._covers(found) and all(self._related(f) for f in found)
        found = [m.place for m in place_mentions(evidence.title)] + list(evidence.scope_places)
        return self._covers(found)

    def _related(self, place: Place) -> bool:
        return any(within(place, asked) or within(asked, place) for asked in self.places)

    def _covers(self, found: Iterable[Place]) -> bool:
        return any(within(f, asked) for f in found for asked in self.places)


def read_constraints(
    question: str, described_documents: Sequence[tuple[int, int]] = (), referent: Referent | None = None
) -> Constraints:
    """The constraints of ``question``; ``described_documents`` are spans of it that name documents (their
    years and places describe the document, not the fact asked). ``referent``, the previous turn's subject, is
    kept for a question that points back ("how many of them…") or names no place or name of its own."""
    bare = _blank(question, described_documents)
    places = tuple(dict.fromkeys(m.place for m in place_mentions(bare)))
    names = tuple(name_phrases(bare))
    if (places or names) and not FOLLOWUP_REFERENCE.search(question):
        # A follow-up for being short, that names what it asks about ("How many victims were identified at the
        # Dzaleka Refugee Camp?" after a question on Antarctica): about that, not the previous turn's subject
        referent = None
    return Constraints(
        question=question,
        years=tuple(year_spans(bare)),
        places=places,
        kind=expected_kind(question),
        counted=counted_noun(question),
        names=names,
        breakdown=breakdown_asked(question),
        referent=referent,
    )


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def referent_of(history_turns: Sequence[str]) -> Referent | None:
    """The places and names of the previous turn (its question and the start of its answer)."""
    text = " ".join(history_turns)
    places = tuple(dict.fromkeys(m.place for m in place_mentions(text)))
    place_words = {w.lower() for p in places for w in p.name.split()}
    # Proper names only: a capitalised common word ("Ministry", "Camp") tells no group from another.
    names = tuple(
        n
        for n in names_in(text)
        if n.lower() not in place_words and (n.isupper() or zipf_frequency(n.lower(), "en") < _NAME_ZIPF)
    )
    if not places and not names:
        return None
    return Referent(places, names)


# ----- saying what is missing --------------------------------------------------------------------------------
def gap_reason(constraints: Constraints, rejected: Sequence[tuple[SentenceContext, Sequence[Unmet]]]) -> str:
    """A refusal reason naming what the library lacks, from the closest evidence that was turned down."""
    counts: dict[Unmet, int] = {}
    for _, unmet in rejected:
        # Evidence about another place is off whatever its year: the place is the gap it shows.
        for u in [Unmet.PLACE] if Unmet.PLACE in unmet else unmet[:1]:
            counts[u] = counts.get(u, 0) + 1
    if not counts:
        return "no retrieved passage answers the question"
    main = max(counts, key=lambda u: (counts[u], -list(Unmet).index(u)))
    if main is Unmet.YEAR:
        stated = _stated_years(e for e, u in rejected if Unmet.YEAR in u)
        asked = " and ".join(str(y) for y in constraints.years)
        if stated:
            return f"the library has figures on this for {stated}, not for {asked}"
        return f"the library has nothing on this for {asked}"
    if main is Unmet.PLACE:
        asked = " or ".join(p.name for p in constraints.places)
        others = _stated_places(e for e, u in rejected if Unmet.PLACE in u)
        others = [o for o in others if o not in {p.name for p in constraints.places}]
        if others:
            return f"the closest passages are about {', '.join(others[:3])}, not {asked}"
        return f"nothing in the library on this is about {asked}"
    if main is Unmet.NAME and constraints.names:
        named = " or ".join(f"“{n}”" for n in constraints.names)
        return f"nothing in the library on this mentions {named}"
    if main in (Unmet.REFERENT, Unmet.BREAKDOWN) and constraints.breakdown:
        about = f" of {constraints.referent.described()}" if constraints.referent else ""
        return f"the library gives no breakdown by {constraints.breakdown.by}{about}"
    if main is Unmet.REFERENT and constraints.referent:
        return f"nothing in the library about {constraints.referent.described()} answers this"
    if main is Unmet.BREAKDOWN and constraints.breakdown:
        about = f" of {constraints.referent.described()}" if constraints.referent else ""
        return f"the library gives no breakdown by {constraints.breakdown.by}{about}"
    if main is Unmet.NUMBER:
        what = f"number of {constraints.counted}" if constraints.counted else "figure for this"
        return f"the closest passages give no {what}"
    if main is Unmet.DATE:
        return "the closest passages give no date for this"
    return "no retrieved passage answers the question"


def _stated_years(evidence: Iterable[SentenceContext]) -> str:
    years: dict[str, None] = {}
    for e in evidence:
        for text in e.levels():
            found = year_spans(text) if text else []
            if found:
                years.update((str(y), None) for y in found)
                break
    shown = sorted(years, key=lambda s: s[-4:])[:4]
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else "".join(shown)


def _stated_places(evidence: Iterable[SentenceContext]) -> list[str]:
    names: dict[str, None] = {}
    for e in evidence:
        for text in e.levels()[:3]:
            found = place_mentions(text) if text else []
            if found:
                names.update((m.place.name, None) for m in found)
                break
    return list(names)


# ----- evidence around a sentence of a stored page ------------------------------------------------------------
_HEADING_MAX_WORDS = 14


@dataclass
class PageContext:
    """Paragraph and heading around a span of a stored page. ``page_text(doc_id, page)`` reads the store."""

    page_text: Callable[[str, int], str | None]
    _pages: dict[tuple[str, int], str] = field(default_factory=dict)

    def page(self, doc_id: str, page: int) -> str:
        """The stored text of a page ("" when there is none), read once."""
        key = (doc_id, page)
        if key not in self._pages:
            self._pages[key] = self.page_text(doc_id, page) or ""
        return self._pages[key]

    def around(self, doc_id: str, page: int, start: int, end: int) -> tuple[str, str]:
        """``(paragraph, heading)`` of the span ``start:end`` (page offsets): the paragraph holding it, and
        the nearest short paragraph before it that reads as a heading."""
        text = self.page(doc_id, page)
        if not text:
            return "", ""
        p_start = text.rfind("\n\n", 0, start)
        p_start = 0 if p_start < 0 else p_start + 2
        p_end = text.find("\n\n", end)
        p_end = len(text) if p_end < 0 else p_end
        heading = ""
        cursor = p_start
        while cursor > 0:
            prev_start = text.rfind("\n\n", 0, max(0, cursor - 2))
            prev_start = 0 if prev_start < 0 else prev_start + 2
            block = text[prev_start : max(prev_start, cursor - 2)].strip()
            if block and len(block.split()) <= _HEADING_MAX_WORDS and not block.endswith((".", ";", ",")):
                heading = block
                break
            cursor = prev_start
        return text[p_start:p_end], heading
