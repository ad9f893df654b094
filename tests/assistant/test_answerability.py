"""Answerability end to end on small libraries written for the purpose: a French note, and a hotline report
with figures for one year only. Real embedder, real store, no LLM."""

from __future__ import annotations

import pytest

from assistant.service import Assistant
from assistant.settings import Settings

FRENCH_NOTE = """Note sur la traite des personnes au Mali

En 2022, la police a identifié 45 victimes de la traite dans la région de Mopti. La plupart des victimes
étaient des enfants exploités dans les mines d'or artisanales.

Les autorités ont formé 30 enquêteurs spécialisés en 2022.
"""

HOTLINE_REPORT = """Hotline annual figures

In 2023, the hotline answered 12,400 calls from 50 states. Most calls came from survivors themselves.

In 2023, the hotline identified 3,100 likely victims of trafficking.
"""


@pytest.fixture(scope="module")
def small_library(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("docs")
    (folder / "note-mali.txt").write_text(FRENCH_NOTE, encoding="utf-8")
    (folder / "hotline-figures.txt").write_text(HOTLINE_REPORT, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    report = assistant.ingest([folder])
    assert report.ok and len(report.outcomes) == 2, report
    return assistant


def test_a_french_question_is_answered_across_an_inflection(small_library):
    # "identifiées" in the question, "identifié" in the text; "combien" is not a subject term.
    answer = small_library.ask("Combien de victimes ont été identifiées à Mopti en 2022 ?")
    assert not answer.refused, answer.refusal_reason
    assert "45" in answer.text


def test_the_year_asked_is_answered_and_another_year_is_refused_with_the_years_held(small_library):
    held = small_library.ask("How many calls did the hotline answer in 2023?")
    assert not held.refused and "12,400" in held.text
    missing = small_library.ask("How many calls did the hotline answer in 2021?")
    assert missing.refused, missing.text
    assert "2021" in missing.refusal_reason and "2023" in missing.refusal_reason


def test_a_word_the_library_never_uses_is_refused_by_name(small_library):
    answer = small_library.ask("How many parrots did the hotline rescue in 2023?")
    assert answer.refused and "parrots" in answer.refusal_reason


def test_a_typo_is_searched_as_the_library_word_and_the_reader_is_told(small_library):
    answer = small_library.ask("How many likely victms did the hotline identify in 2023?")
    assert not answer.refused and "3,100" in answer.text
    assert any(n.startswith("Showing results for:") and "victims" in n for n in answer.notices)


CASE_STUDIES = """Riverton case studies of victim-offenders

These case studies describe federal prosecutions in which a trafficking victim was charged alongside the
trafficker. Each case study reports the charges and the sentence.

Mara was recruited at sixteen and later recruited two younger girls for the trafficker. Mara was sentenced to
48 months in prison and five years of supervised release.

The court noted the average sentence for co-defendants in the district but did not publish it.
"""

ARREST_STUDY = """Harbor arrest study of traffickers of minors

This study reviews arrests for trafficking of minors in Harbor county from 2015 to 2020.

The traffickers of minors were sentenced to prison for an average of 11 years. Most were men in their
thirties. A prison term was not recorded for one defendant in five.

Warning signs reported by schools included a student referring to an older "boyfriend" who pays for things.
"""


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("studies")
    (folder / "riverton-case-studies.txt").write_text(CASE_STUDIES, encoding="utf-8")
    (folder / "harbor-arrest-study.txt").write_text(ARREST_STUDY, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    assert assistant.ingest([folder]).ok
    return assistant


def test_a_clause_naming_two_documents_asks_each_its_own_part(two_studies):
    answer = two_studies.ask(
        "How does the prison term given to Mara in the Riverton case studies compare with the average "
        "sentence handed to traffickers of minors in the Harbor arrest study?"
    )
    assert not answer.refused, answer.refusal_reason
    assert "48 months" in answer.text and "11 years" in answer.text
    assert {c.source for c in answer.citations} == {"riverton-case-studies.txt", "harbor-arrest-study.txt"}
    # The documents answer in the order the question names them.
    assert answer.text.index("48 months") < answer.text.index("11 years")


def test_each_named_document_is_held_to_what_is_asked_of_it(two_studies):
    # "how many months" asks a number of the case studies only: the arrest study's warning sign has none
    # and still answers its part.
    answer = two_studies.ask(
        "What warning sign does the Harbor arrest study report from schools, and in the Riverton case studies, "
        "how many months was Mara sentenced to?"
    )
    assert not answer.refused, answer.refusal_reason
    assert "boyfriend" in answer.text and "48 months" in answer.text
    assert not answer.notices, answer.notices


def test_a_part_that_points_back_is_held_to_the_place_and_year_of_the_part_before():
    from assistant.answering.answerability import _carried_over
    from assistant.answering.constraints import read_constraints

    first = read_constraints("Who in Denver used the screening checklist in 2019")
    parts = _carried_over([first, read_constraints("which young people is it mainly used with?")])
    assert [p.name for p in parts[1].places] == ["Denver"] and parts[1].years == first.years
    # A part with its own place, or one that does not point back, keeps what it asks.
    parts = _carried_over([first, read_constraints("what does Ghana screen them for?")])
    assert [p.name for p in parts[1].places] == ["Ghana"]
    parts = _carried_over([first, read_constraints("which agencies fund screening?")])
    assert parts[1].places == () and parts[1].years == ()


def test_a_part_asking_how_that_compares_is_held_to_the_period_of_the_part_before():
    from assistant.answering.answerability import _carried_over
    from assistant.answering.constraints import read_constraints

    first = read_constraints("In hotline cases from 2020 to mid-2022, what share of victims were minors")
    parts = _carried_over([first, read_constraints("how did that compare with labor trafficking?")])
    assert parts[1].years == first.years
    # "that year" names its own time, and "that" as a conjunction points nowhere.
    assert _carried_over([first, read_constraints("was the rate higher than that year?")])[1].years == ()


def test_a_period_question_is_answered_from_a_report_whose_data_covers_that_period(tmp_path, embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "pandemic-report.txt").write_text(
        "Shelter referrals during the pandemic\n\nThis report covers shelter data from January 2020 through "
        "August 2022.\n\nMost referred survivors were women; 41% of referred survivors were minors.\n",
        encoding="utf-8",
    )
    library = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    assert library.ingest([folder]).ok
    answer = library.ask("What share of referred survivors were minors between 2020 and 2022?")
    assert not answer.refused, answer.refusal_reason
    assert "41%" in answer.text
    assert library.ask("What share of referred survivors were minors in 2021?").refused



def test_the_library_s_words_are_read_again_after_an_ingest_before_anyone_asks(tmp_path, embedder):
    import time

    library = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    first, second = tmp_path / "camp.txt", tmp_path / "shelter.txt"
    first.write_text("UNODC mentored police at the Dzaleka Refugee Camp in Malawi.", encoding="utf-8")
    second.write_text("The Blantyre shelter received 41 survivors in 2023.", encoding="utf-8")
    library.ingest([first])
    library.warm_up()  # a server's start: the vocabulary is read before the first question
    answerability = library.pipeline.answerability
    assert answerability._lexicon is not None and answerability._lexicon[1].knows("dzaleka")

    library.ingest([second])  # read again in the background, so the next question does not wait for it
    deadline = time.monotonic() + 30
    while answerability._lexicon[0] != library.store.vocabulary_version() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert answerability._lexicon[0] == library.store.vocabulary_version()
    assert answerability._lexicon[1].knows("blantyre")
