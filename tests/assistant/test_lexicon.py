"""Key terms, known words and typo corrections over small hand-made vocabularies (and one run on the corpus)."""

from __future__ import annotations

from collections import Counter

import pytest

from assistant.answering.answerability import Answerability
from assistant.text.lexicon import Lexicon, is_frame_word, key_terms
from assistant.text.terms import surface_words

LIBRARY_TEXT = """
Victims of trafficking were identified and referred to shelters. Many victims, survivors and their
families described exploitation; a survivor is any person who survived trafficking. The agency and other
agencies, including law enforcement agents, identify victims; one agency identifies them and another
identified more. Forced labor in neighborhood businesses, a program of the organization, recruitment fees,
the government and its partners. Lives, life and families; offers of jobs; parents and guardians; gum.
Refugees in Malawi and Moldova. Les victimes identifiées par la police. Las víctimas identificadas.
"""


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon(Counter(surface_words(LIBRARY_TEXT * 3)))


@pytest.mark.parametrize(
    ("typo", "word"),
    [
        ("victms", "victims"),
        ("identifed", "identified"),  # not "identifies", two edits away
        ("survivers", "survivors"),  # not "survived"
        ("agencys", "agencies"),  # the plural, though "agency" is one edit closer
        ("exploitaton", "exploitation"),
    ],
)
def test_typos_are_corrected_to_the_library_word(lexicon, typo, word):
    assert lexicon.correction(typo) == word
    assert not lexicon.unknown_key_terms(f"What does the library say about {typo}?")


@pytest.mark.parametrize("word", ["kafala", "onlyfans", "lifers", "parrots", "guam"])
def test_rare_real_words_are_subjects_not_typos(lexicon, word):
    assert lexicon.correction(word) is None
    assert lexicon.unknown_key_terms(f"What does the library say about {word}?") == [word]


def test_library_words_and_common_words_are_never_corrected(lexicon):
    assert lexicon.correction("victims") is None
    assert lexicon.correction("between") is None  # not in the library, but no typo either


def test_a_common_misspelling_is_kept_as_typed_but_never_refused_on(lexicon):
    # web text has "goverment" often enough (zipf 2.66) that it is not corrected; it is no subject either
    assert lexicon.correction("goverment") is None
    assert lexicon.unknown_key_terms("Which goverment partners helped?") == []


def test_correct_keeps_the_rest_of_the_question_as_typed(lexicon):
    question = "How much were Survivers paid by recruitment agencys, (victms) say?"
    assert lexicon.correct(question) == (
        "How much were Survivors paid by recruitment agencies, (victims) say?",
        [("Survivers", "survivors"), ("agencys", "agencies"), ("victms", "victims")],
    )
    assert lexicon.correct("nothing to fix here") == ("nothing to fix here", [])
    # an elided article and a possessive stay as typed around the corrected word
    assert lexicon.correct("L’exploitaton des victms's familles")[0] == "L’exploitation des victims's familles"


def test_inflections_in_english_french_and_spanish_are_known(lexicon):
    assert lexicon.knows("victim") and lexicon.knows("Shelter") and lexicon.knows("identifying")
    assert lexicon.knows("identifiées") and lexicon.knows("identifié") and lexicon.knows("victime")
    assert lexicon.knows("identificada") and lexicon.knows("víctima")
    assert not lexicon.knows("parrot")


def test_parrot_and_parrots_are_one_word():
    assert Lexicon({"parrots": 2}).knows("parrot")
    assert Lexicon({"parrot": 1}).knows("parrots")


def test_british_and_american_spellings_are_one_word(lexicon):
    assert lexicon.knows("labour") and lexicon.knows("labourers")  # the library says "labor"
    assert lexicon.knows("neighbourhood") and lexicon.knows("organisation") and lexicon.knows("programme")
    british = Lexicon({"labour": 3, "neighbourhood": 1, "organisations": 1, "programmes": 2, "offences": 1})
    assert british.knows("labor") and british.knows("neighborhood") and british.knows("organization")
    assert british.knows("program") and british.knows("offense")
    assert not british.knows("journal")


def test_places_and_their_demonyms_are_one_word(lexicon):
    assert lexicon.knows("malawian") and lexicon.knows("Moldovan")
    demonyms = Lexicon({"malawian": 1, "sudanese": 1, "pakistani": 1, "chinese": 1})
    assert demonyms.knows("malawi") and demonyms.knows("sudan") and demonyms.knows("pakistan")
    assert demonyms.knows("china")
    assert not demonyms.knows("mali")


def test_key_terms_name_the_subject(lexicon):
    question = "What does the library say about trafficking in Antarctica?"
    assert key_terms(question) == ["antarctica"]  # "trafficking" is a gerund commoner than KEY_ZIPF_GERUND
    assert lexicon.unknown_key_terms(question) == ["antarctica"]
    assert lexicon.unknown_key_terms("Do the traffickers of exotic parrots use recruitment agencys?") == [
        "exotic",
        "parrots",
    ]
    assert lexicon.unknown_key_terms("How often should I water tomato plants grown on a balcony?") == [
        "tomato",
        "balcony",
    ]
    assert lexicon.unknown_key_terms("What do the reports say about forced labour on cruise ships?") == ["cruise"]


@pytest.mark.parametrize(
    "question",
    [
        "How many, roughly, and what share, fraction, proportion or percentage of the total?",
        "What number does the library's report give, according to the chapter's table?",
        "Which kind has been climbing steadily, and did it soar or plummet?",
        "Give me a breakdown for my briefing: what do the documents mention?",
        "Combien de victimes, et quels pourcentages selon le rapport ?",
        "¿Cuántas víctimas y cuántos casos, según el informe?",
    ],
)
def test_question_frame_words_are_never_key(question):
    assert key_terms(question) == []


def test_frame_words_in_any_inflection():
    for word in ("fraction", "fractions", "climbing", "climbed", "percentages", "combien", "cuántas", "cuantas"):
        assert is_frame_word(word), word
    assert not is_frame_word("informal") and not is_frame_word("parrots")


def test_acronyms_are_not_key_terms():
    assert key_terms("How many officers did the Texas DPS and the SROs train?") == []
    assert key_terms("WHAT ABOUT PARROTS?") == ["parrots"]  # a question typed in capitals has no acronyms


def test_the_lexicon_is_kept_per_library_until_its_vocabulary_changes():
    class Store:
        def __init__(self):
            self.version, self.reads = 1, 0

        def vocabulary(self) -> dict[str, int]:
            self.reads += 1
            return {"parrots": 1} if self.version > 1 else {"victims": 1}

        def vocabulary_version(self) -> int:
            return self.version

    store, other = Store(), Store()
    library = Answerability(store)
    first = library.lexicon()
    assert library.lexicon() is first and store.reads == 1
    assert Answerability(other).lexicon() is not first
    store.version = 2
    assert library.lexicon().knows("parrot") and store.reads == 2


@pytest.mark.slow
def test_on_the_corpus_out_of_library_words_are_unknown_and_typos_corrected(corpus_library):
    lexicon = Lexicon(corpus_library.store.vocabulary())
    for word in ("antarctica", "parrots", "tomato", "cruise"):
        assert not lexicon.knows(word), word
        assert lexicon.unknown_key_terms(f"What does the library say about {word}?") == [word]
    assert lexicon.correction("victms") == "victims"
    assert lexicon.unknown_key_terms("How many victms were identified at Dzaleka camp?") == []


def test_stems_are_the_same_from_many_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    from assistant.text.lexicon import stem

    words = ["identified", "trafficking", "victims", "recruitment"] * 200
    expected = [stem(w) for w in words]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(stem, words)) == expected
    assert stem("identifiées", "fr") == stem("identifié", "fr")
