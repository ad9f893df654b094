"""Which words of a question name its subject, whether the library ever uses them, and typo corrections.

What it is for. A question about something the library never mentions ("forced labour on cruise ships",
"parrots for the pet trade") still retrieves passages that look close; answering from them would answer
another question. The answer is a refusal that names the missing word. The same check must not refuse a
question for a typo ("survivers", "agencys"): those are corrected to the library's own words instead.

The rules:

* **Key terms** (``key_terms``) are the words of a question that name a subject: not a stop-word of English,
  French or Spanish, not a word that frames the question (how many, what share, according to the report, has
  it been climbing…), not an acronym (all capitals in the question: the library may spell "DPS" out), and
  rarer in general language than ``KEY_ZIPF`` (lower bars for verb forms and adverbs, ``key_threshold``).
* **Known words** (``Lexicon.knows``): the word is in the library's vocabulary as itself; as another
  inflection (same Snowball stem in English, French or Spanish: "parrot"/"parrots",
  "identifiées"/"identifié"); as a British or American spelling of it ("labour"/"labor",
  "organisation"/"organization", "programme"/"program"); or as a place and its demonym ("malawian"/"malawi",
  "moldovan"/"moldova": one is the other, less a final vowel, plus -n, -an, -ian, -ese or -i).
* **Typos** (``Lexicon.correction``): a word the library does not know and general language barely knows
  (zipf below ``TYPO_MAX_ZIPF``) is corrected to a library word within edit distance 1 (2 from
  ``LONG_WORD`` letters) that general language knows at least ``TYPO_MIN_GAIN`` zipf better. A rare real word
  ("kafala", "onlyfans", "lifers", "guam") is no typo: it is either too common in general language or has no
  much commoner neighbour in the library, and stays a subject the library may lack.
* **Unknown key terms** (``Lexicon.unknown_key_terms``): the key terms the library does not know and that are
  no typo: neither corrected nor a common misspelling (under zipf 3, one edit from a library word general
  language knows at least 2 zipf better: "goverment", "recieved"), which is left as typed but never refused
  on. A question with one names a subject the library never mentions.

Sources. General-language frequencies are wordfreq's (Zipf scale: log10 of occurrences per billion words,
from Wikipedia, subtitles, news, books, web text and social media), the largest of English, French and
Spanish. Stems are the Snowball stemmers (PyStemmer). Typo candidates come from symspellpy over the library's
vocabulary (``ChunkStore.vocabulary``), weighted by the library's counts. Stop-words are the ``stop-words``
package's lists for the three languages.

``warm_up`` loads the frequency lists once per process (about half a second). A ``Lexicon`` is built from a
library's vocabulary; ``assistant.answering.answerability.Answerability.lexicon`` keeps one per library,
built again when its ``vocabulary_version`` changes.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping

import Stemmer
from stop_words import get_stop_words
from symspellpy import SymSpell, Verbosity
from wordfreq import zipf_frequency

from assistant.text.terms import surface_tokens, surface_word

LANGUAGES = ("en", "fr", "es")
_STEMMER_NAMES = {"en": "english", "fr": "french", "es": "spanish"}

# A key term is rarer than this in general language. Measured on questions over this library: words that name
# a subject the library lacks lie between 3.0 and 4.3 (parrots 3.01, antarctica 3.53, balcony 3.78, tomato
# 3.85, mona 3.85, cruise 4.22, cleveland 4.27), while the everyday words an answerable question paraphrases
# its passage with start at about 4.35 (daddy 4.36, roughly 4.36, caught 4.9). Above the threshold a word is
# too common to be the one thing a question is about.
KEY_ZIPF = 4.3
# Verb forms and adverbs say what happened or how ("has been climbing steadily", "were duped", "reportedly")
# rather than name a subject, and an inflected form is rarer than its lemma (climbing 4.12, tricked 3.6, duped
# 3.08), so they are key only when clearly rare: past participles and adverbs (English -ed/-ly, French
# -é/-ée/-és/-ées, Spanish -ados/-adas/-idos/-idas/-mente) below 3.0. Gerunds (-ing) can name an activity
# ("poaching", "gardening"), so they keep a higher bar, 3.5, still under "climbing"; a question about an
# activity nearly always names a thing that is key too (tomato plants, exotic parrots).
KEY_ZIPF_VERB_FORM = 3.0
KEY_ZIPF_GERUND = 3.5
_VERB_FORM = re.compile(r"(?:ed|ly|é|ée|és|ées|ados|adas|idos|idas|mente)$")
_GERUND = re.compile(r"ing$")
MIN_KEY_LENGTH = 3

# A typo is a word general language barely knows (a misspelling is rare even on the web: "identifed" 1.12,
# "agencys" 1.04, "victms" 0), corrected only to a library word general language knows far better, within
# one edit (two for long words, where two slips are common and a two-edit neighbour is rarely another word).
TYPO_MAX_ZIPF = 2.0
TYPO_MIN_GAIN = 2.5
LONG_WORD = 7
MIN_TYPO_LENGTH = 4
# Common misspellings are frequent enough on the web to sit between 2 and 3 ("goverment" 2.66, "recieved"
# 2.75, "seperate" 2.82), among real rare words ("lifers" 2.47, "levees", "armrest"): correcting those to a
# library word one edit away was wrong about half the time on wordfreq's words of that band. So they are not
# corrected, but a refusal, which needs certainty, does not rest on them either: a key term under
# DOUBT_MAX_ZIPF one edit from a library word DOUBT_MIN_GAIN commoner is not reported unknown.
DOUBT_MAX_ZIPF = 3.0
DOUBT_MIN_GAIN = 2.0

# Words that frame a question rather than name what it asks about: what kind of answer is wanted (how many,
# what share, a breakdown), where it should come from (the library, the report, chapter 2), what to do with it
# (say, list, compare, outline), what it is for (a briefing, a memo), how a figure moved (rise, climb, soar) and
# how sure a source is (reportedly). They are never key terms, in any inflection: a question is not about
# "fraction" or "climbing", and the library may well phrase the same thing otherwise. Function words come from
# the stop-words package; these are the content words questions are built from.
QUESTION_FRAME = {
    "en": """
        how what which who whom whose when where why whether whats anything something everything
        many much number share fraction proportion percentage percent per cent rate ratio amount total count tally
        figure statistic estimate approximately approximate roughly around nearly almost about exactly precisely
        average typical typically median mean overall main mainly mostly common commonest frequent frequently
        most least top largest biggest highest lowest smallest range breakdown split disaggregated disaggregation
        yearly annually annual monthly weekly daily nationwide statewide countrywide citywide worldwide
        library collection corpus report document text source study guide chapter section page paragraph table
        chart graph annex appendix box endnote footnote note data dataset survey publication paper file
        say tell mention describe explain list give show find compare comparison contrast summarize summarise
        summary overview outline elaborate clarify highlight recap enumerate itemize detail details
        according state indicate suggest recommend refer cite quote information specific specifically
        particular particularly example examples kind type sort prominent notable noteworthy salient
        memo brief briefing draft drafting presentation slide newsletter article speech factsheet
        rise rose risen climb grow grew grown increase decrease decline drop fall fell fallen jump change trend
        double triple soar surge spike
        skyrocket plunge plummet dwindle dip shrink fluctuate peak steady steadily sharply
        reportedly allegedly purportedly supposedly apparently seemingly
        please kindly briefly short quick quickly
    """,
    "fr": """
        combien comment quel quelle quels quelles lequel laquelle lesquels lesquelles qui quoi quand où pourquoi
        nombre part proportion pourcentage taux total chiffre chiffres montant estimation environ
        approximativement moyenne principal principaux principalement répartition ventilation
        bibliothèque rapport document texte source étude guide chapitre section page tableau graphique annexe
        données enquête note résumé aperçu
        dire dit disent mentionner mentionne décrire expliquer lister donner montrer trouver comparer résumer
        selon indique indiquer information informations exemple
        hausse baisse augmentation diminution évolution tendance augmenter diminuer
    """,
    "es": """
        cuánto cuánta cuántos cuántas cuál cuáles qué quién quiénes cuándo dónde cómo
        número parte proporción porcentaje tasa total cifra cifras cantidad estimación aproximadamente
        alrededor promedio principal principales principalmente desglose
        biblioteca informe documento texto fuente estudio guía capítulo sección página tabla gráfico anexo
        datos encuesta nota resumen
        decir dice dicen mencionar menciona describir explicar enumerar dar mostrar encontrar comparar resumir
        según indica indicar información ejemplo
        aumento disminución evolución tendencia aumentar disminuir
    """,
}

# British and American spellings of one word share one form here (the American one): "labour" and "labor",
# "organisation" and "organization", "programme" and "program", "defence" and "defense", "centre" and
# "center", "travelled" and "traveled", "catalogue" and "catalog", "paediatric" and "pediatric". Each rule is
# bounded to the endings where the spellings differ, so "journal", "course" and "sentence" are left alone.
_SPELLING_RULES = (
    (re.compile(r"(?<=[a-z]{2})our(?=$|s$|ed$|ing$|er|ite|abl|hood|ful|less|ism|ist|al)"), "or"),
    (re.compile(r"(?<=[a-z]{3})is(?=(?:e|ed|es|ing|ation|ations|ational|er|ers)$)"), "iz"),
    (re.compile(r"(?<=[a-z]{2})ys(?=(?:e|ed|es|ing)$)"), "yz"),
    (re.compile(r"(?<=[a-z]{3})amme(?=s?$)"), "am"),
    (re.compile(r"(?<=[a-z]{2})tre(?=s?$)"), "ter"),
    (re.compile(r"(?:(?<=^def)|(?<=^off)|(?<=^lic)|(?<=^pret))ence(?=s?$)"), "ense"),
    (re.compile(r"(?<=[a-z]{3}[aeiou])ll(?=(?:ed|ing|er|ers|or|ors)$)"), "l"),
    (re.compile(r"(?<=[a-z]{2})ogue(?=s?$)"), "og"),
    (re.compile(r"(?<=[a-z])ae(?=[a-z]{2})"), "e"),
)

# A demonym is its place name, less a final vowel, plus one of these: malawi-an, moldova-n, sudan-ese,
# pakistan-i, ital(y)-ian, chin(a)-ese.
_DEMONYM_SUFFIXES = ("ian", "ese", "an", "n", "i")
_FINAL_VOWELS = "aeiouy"
MIN_PLACE_ROOT = 4


def fold_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


_per_thread = threading.local()  # a PyStemmer object serves one thread at a time


def _stemmers() -> dict[str, Stemmer.Stemmer]:
    """This thread's Snowball stemmers, by language."""
    stemmers = getattr(_per_thread, "stemmers", None)
    if stemmers is None:
        stemmers = _per_thread.stemmers = {lang: Stemmer.Stemmer(name) for lang, name in _STEMMER_NAMES.items()}
    return stemmers


def stem(word: str, lang: str = "en") -> str:
    """``word``'s Snowball stem in ``lang`` (safe to call from any thread)."""
    return _stemmers()[lang].stemWord(word)


# The English list is broad (it has "whilst" and "thereof" but also "mug", "shell" and "keys"): a word wrongly
# taken for a stop-word can only make a refusal less likely, never wrong.
@functools.cache
def _stop_words() -> frozenset[str]:
    words: set[str] = set()
    for lang in LANGUAGES:
        words.update(fold_accents(surface_word(w)) for w in get_stop_words(lang))
    return frozenset(words)


@functools.cache
def _frame_words() -> frozenset[str]:
    return frozenset(fold_accents(w) for text in QUESTION_FRAME.values() for w in text.split())


def _inflection_bases(word: str) -> Iterable[str]:
    """``word`` and what it may be an inflection of: plural, past, -ing and -ly forms ("percentages",
    "plummeted", "dwindling", "steadily"). Inflections only: "informal" is not a form of "information"."""
    yield word
    if word.endswith("s") and not word.endswith("ss"):
        yield word[:-1]
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("ily", "y"), ("es", ""), ("ly", "")):
        if word.endswith(suffix):
            yield word[: -len(suffix)] + replacement
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            base = word[: -len(suffix)]
            yield from (base, base + "e")
            if base[-1] == base[-2]:
                yield base[:-1]  # "dropped", "spiking" -> "drop", "spike"


def is_frame_word(word: str) -> bool:
    """A stop-word, or a question-frame word in any inflection, in English, French or Spanish."""
    folded = fold_accents(word)
    return folded in _stop_words() or any(base in _frame_words() for base in _inflection_bases(folded))


def warm_up() -> None:
    """Load wordfreq's lists, the stemmers and the stop-words now (about half a second, once per process), so
    that the first question does not wait for them."""
    for lang in LANGUAGES:
        zipf_frequency("the", lang)
    _stemmers()
    _stop_words()
    _frame_words()


@functools.lru_cache(maxsize=65536)
def general_zipf(word: str) -> float:
    """How common ``word`` is in general language: the largest of its English, French and Spanish Zipf values."""
    return max(zipf_frequency(word, lang) for lang in LANGUAGES)


def american_spelling(word: str) -> str:
    for pattern, replacement in _SPELLING_RULES:
        word = pattern.sub(replacement, word)
    return word


def _is_acronym(token: str) -> bool:
    """Capitals in the question: "DPS", "SROs", "NGOs" (a plural's lower-case "s" allowed)."""
    core = token.removesuffix("s") if len(token) > 2 else token
    return len(core) >= 2 and core.isupper()


def _shouted(text: str) -> bool:
    """A question typed in capitals has no acronyms to tell apart."""
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) > len(letters) / 2


def key_terms(question: str) -> list[str]:
    """The words of ``question`` that name its subject (see the module's rules), in order, each once."""
    found: dict[str, None] = {}
    shouted = _shouted(question)
    for start, end, word in surface_tokens(question):
        if (shouted or not _is_acronym(question[start:end])) and _is_key(word):
            found.setdefault(word, None)
    return list(found)


def _is_key(word: str) -> bool:
    if len(word) < MIN_KEY_LENGTH or not word.replace("'", "").isalpha():
        return False
    if is_frame_word(word):
        return False
    return general_zipf(word) < key_threshold(word)


def key_threshold(word: str) -> float:
    """The general-language frequency below which ``word`` is a key term (see KEY_ZIPF)."""
    if _VERB_FORM.search(word):
        return KEY_ZIPF_VERB_FORM
    return KEY_ZIPF_GERUND if _GERUND.search(word) else KEY_ZIPF


def _place_roots(word: str) -> Iterable[str]:
    """The place names ``word`` may be the demonym of: "malawian" -> "malawi", "chinese" -> "chin" (+ vowel)."""
    for suffix in _DEMONYM_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_PLACE_ROOT:
            yield word[: -len(suffix)]


class Lexicon:
    """The library's vocabulary, read for answerability: known words, key terms it lacks, and typo corrections."""

    def __init__(self, vocabulary: Mapping[str, int]):
        self.vocabulary = {word: count for word, count in vocabulary.items() if count > 0}
        words = list(self.vocabulary)
        spellings = {american_spelling(w) for w in words}
        forms = sorted(set(words) | spellings)
        self._forms = frozenset(forms)
        self._stems = {lang: frozenset(s.stemWords(forms)) for lang, s in _stemmers().items()}
        # place names whose demonym the library uses ("malawian" gives "malawi"), to match the place asked about
        self._demonym_roots = frozenset(root for w in words for root in _place_roots(w))
        # A prefix of 5 letters keeps lookups exact for two edits and builds the index twice as fast as 7.
        self._symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=5)
        for word, count in self.vocabulary.items():
            if len(word) >= MIN_TYPO_LENGTH - 1 and word.isalpha():
                self._symspell.create_dictionary_entry(word, count)

    def knows(self, word: str) -> bool:
        """Whether the library uses ``word``: as itself, another inflection, another spelling or a demonym."""
        word = surface_word(word)
        if word in self._forms:
            return True
        american = american_spelling(word)
        for form in {word, american}:
            if form in self._forms or self._same_stem(form) or self._place_match(form):
                return True
        return False

    def _is_own_word(self, word: str) -> bool:
        return word in self._forms or american_spelling(word) in self._forms

    def _same_stem(self, word: str) -> bool:
        return any(stemmer.stemWord(word) in self._stems[lang] for lang, stemmer in _stemmers().items())

    def _place_match(self, word: str) -> bool:
        # the library has a demonym of this place name ("malawi" asked, "malawian" used)
        if word in self._demonym_roots or (word[-1:] in _FINAL_VOWELS and word[:-1] in self._demonym_roots):
            return True
        # this word is a demonym of a place the library names ("moldovan" asked, "moldova" used)
        return any(
            root in self._forms or any(root + vowel in self._forms for vowel in _FINAL_VOWELS)
            for root in _place_roots(word)
        )

    def correction(self, word: str) -> str | None:
        """The library word ``word`` is a typo of, or None when it is no typo (see the module's rules)."""
        word = surface_word(word)
        # Only the exact word (or its other spelling) makes it the library's own: "agencys" shares a stem with
        # "agency" and "survivers" with "survive", yet they are typos, and correcting them changes no meaning.
        if len(word) < MIN_TYPO_LENGTH or not word.isalpha() or self._is_own_word(word):
            return None
        zipf = general_zipf(word)
        if zipf >= TYPO_MAX_ZIPF:
            return None
        distance = 2 if len(word) >= LONG_WORD else 1
        candidates = [
            s
            for s in self._symspell.lookup(word, Verbosity.ALL, max_edit_distance=distance)
            if general_zipf(s.term) - zipf >= TYPO_MIN_GAIN
        ]
        if not candidates:
            return None
        best = min(candidates, key=lambda s: (s.distance, -s.count))
        # Among inflections of the best word, the one ending like the typo: "agencys" is "agencies" (two edits)
        # rather than "agency" (one), "identifed" is "identified".
        stem = _stemmers()["en"].stemWord(best.term)
        same_word = [s for s in candidates if _stemmers()["en"].stemWord(s.term) == stem]
        chosen = min(same_word, key=lambda s: (-_common_suffix(s.term, word), s.distance, -s.count))
        return chosen.term

    def might_be_typo(self, word: str) -> bool:
        """A correction, or a word rare enough with a much commoner library word one edit away (see
        DOUBT_MAX_ZIPF): too doubtful to refuse a question on."""
        word = surface_word(word)
        if self.correction(word) is not None:
            return True
        zipf = general_zipf(word)
        if zipf >= DOUBT_MAX_ZIPF or len(word) < MIN_TYPO_LENGTH or not word.isalpha():
            return False
        near = self._symspell.lookup(word, Verbosity.ALL, max_edit_distance=1)
        return any(general_zipf(s.term) - zipf >= DOUBT_MIN_GAIN for s in near)

    def unknown_key_terms(self, question: str) -> list[str]:
        """The key terms of ``question`` that the library never uses and that are no typo of a word it does."""
        return [t for t in key_terms(question) if not self.knows(t) and not self.might_be_typo(t)]

    def correct(self, question: str) -> tuple[str, list[tuple[str, str]]]:
        """``question`` with its typos corrected (everything else kept as typed), and the (typo, correction)
        pairs in order."""
        pieces: list[str] = []
        fixed: list[tuple[str, str]] = []
        last = 0
        shouted = _shouted(question)
        for start, end, word in surface_tokens(question):
            token = question[start:end]
            if _is_acronym(token) and not shouted:
                continue
            correction = self.correction(word)
            if correction is None:
                continue
            pieces += [question[last:start], _with_case_of(token, correction)]
            fixed.append((token, correction))
            last = end
        pieces.append(question[last:])
        return "".join(pieces), fixed


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _with_case_of(token: str, word: str) -> str:
    if token[:1].isupper():
        return word.upper() if token.isupper() and len(token) > 1 else word[:1].upper() + word[1:]
    return word
