"""Question constraints: read from the question, checked against the evidence around a sentence."""

from __future__ import annotations

import pytest

from assistant.answering.constraints import (
    AnswerKind,
    Unmet,
    YearSpan,
    expected_kind,
    gap_reason,
    read_constraints,
    referent_of,
    states_quantity,
    year_spans,
    years_agree,
)
from assistant.answering.constraints import (
    SentenceContext as Context,
)


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("How many calls did the hotline answer in 2021?", [YearSpan(2021, 2021)]),
        ("victims detected over 2019-2023", [YearSpan(2019, 2023)]),
        ("from 2020 to mid-2022", [YearSpan(2020, 2022)]),
        ("between 2020 and 2021", [YearSpan(2020, 2021)]),
        ("in 2021 and in 2022", [YearSpan(2021, 2021), YearSpan(2022, 2022)]),
        ("since 2018 the number has risen", [YearSpan(2018, 2100, open_end=True)]),
        ("the 2020-22 period", [YearSpan(2020, 2022)]),
        ("1,416 persons and 2,012 cases and $2019.50", []),
        ("data from January 2020 through August 2022", [YearSpan(2020, 2022)]),
        ("from March 2020 to February 2024, UNODC ran", [YearSpan(2020, 2024)]),
        ("in May 2021 the hotline", [YearSpan(2021, 2021)]),
    ],
)
def test_year_spans_read_years_and_periods(text, spans):
    assert year_spans(text) == spans


def test_a_year_is_met_by_itself_or_a_period_ending_there_not_by_one_it_falls_inside():
    asked = [YearSpan(2012, 2012)]
    assert years_agree(asked, [YearSpan(2012, 2012)])
    assert years_agree(asked, [YearSpan(2010, 2012)])
    assert not years_agree(asked, [YearSpan(2010, 2015)])
    assert not years_agree(asked, [YearSpan(2010, 2010), YearSpan(2015, 2015)])
    assert not years_agree(asked, [YearSpan(2010, 2100, open_end=True)])


def test_a_period_is_met_by_any_year_inside_it():
    asked = [YearSpan(2020, 2022)]
    assert years_agree(asked, [YearSpan(2021, 2021)])
    assert years_agree(asked, [YearSpan(2018, 2020)])
    assert not years_agree(asked, [YearSpan(2023, 2023)])


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many victims were identified at Dzaleka?", AnswerKind.NUMBER),
        ("What share of victims were children?", AnswerKind.NUMBER),
        ("Combien de victimes ont été identifiées ?", AnswerKind.NUMBER),
        ("¿Cuántas víctimas fueron identificadas?", AnswerKind.NUMBER),
        ("When was the most recent report adopted?", AnswerKind.DATE),
        ("Which indicators does the guide list for labour trafficking?", AnswerKind.LIST),
        ("What were the five most common vulnerabilities?", AnswerKind.LIST),
        ("What does the guide say about trust?", AnswerKind.DESCRIPTION),
    ],
)
def test_expected_kind_of_answer(question, kind):
    assert expected_kind(question) is kind


def test_a_quantity_is_a_number_other_than_a_year():
    assert states_quantity("87 victims were identified")
    assert states_quantity("more than a thousand children per year")
    assert not states_quantity("since 2018 the number has steadily increased")


def test_another_year_in_the_sentence_is_not_an_answer_whatever_the_paragraph_says():
    c = read_constraints("How many calls did the hotline answer in 2021?")
    wrong = Context("In 2023, the hotline answered 10,000 calls.", paragraph="Figures for 2021 follow.")
    right = Context("The hotline answered 9,000 calls.", paragraph="In 2021 the hotline grew.")
    undated = Context("The hotline answered 9,000 calls.", paragraph="The hotline grew.")
    titled = Context("The hotline answered 9,000 calls.", title="Analysis of 2021 Data from the Hotline")
    assert c.unmet(wrong) == [Unmet.YEAR]
    assert c.unmet(right) == []
    assert c.unmet(titled) == []
    # A figure nothing dates is no figure for the year asked.
    assert c.unmet(undated) == [Unmet.YEAR]


def test_a_sentence_without_a_place_answers_only_for_a_paragraph_about_the_asked_place_alone():
    c = read_constraints("How many children were recruited in Somalia in 2023?")
    paragraph = "In 2023, recruitment was documented in Somalia, Mali and the Sudan."
    sentence = "Some 4,500 children were affected in 2023."
    assert Unmet.PLACE in c.unmet(Context(sentence, paragraph=paragraph))
    assert c.unmet(Context(sentence, paragraph="In 2023, recruitment rose in Somalia and Mogadishu.")) == []
    aggregate = "In 2023, 4,500 children were recruited in 12 African countries."
    assert Unmet.PLACE in c.unmet(Context(aggregate, paragraph="Somalia was one of them."))


def test_another_place_is_not_an_answer_and_an_unplaced_one_is_not_either():
    c = read_constraints("How many victims were identified in Togo in 2022?")
    assert Unmet.PLACE in c.unmet(Context("In 2022, 120 victims were identified in Ghana."))
    assert Unmet.PLACE in c.unmet(Context("In 2022, 120 victims were identified."))
    assert c.unmet(Context("In 2022, 120 victims were identified in Togo.")) == []
    assert c.unmet(Context("In 2022, 120 victims were identified.", paragraph="Togo's police reported that…")) == []


def test_a_how_many_question_needs_a_number():
    c = read_constraints("How many victims were identified at the border?")
    assert c.unmet(Context("Victims were identified at the border by trained officers.")) == [Unmet.NUMBER]


def test_a_how_many_question_needs_a_number_of_what_it_counts_in_any_inflection():
    c = read_constraints("How many signals did the hotline receive?")
    # a word sharing the counted noun's stem is another thing: "signaler information" counts no signals
    garbled = "Employer 43% To protect the people we serve, signaler information referenced fewer than three times."
    assert c.unmet(Context(garbled)) == [Unmet.NUMBER]
    assert c.unmet(Context("The hotline received 10,359 signals.")) == []
    assert c.unmet(Context("Each signal was logged; 812 came by text.")) == []  # the singular counts
    children = read_constraints("How many children did the task force rescue?")
    assert children.unmet(Context("The task force rescued 19 children.")) == []
    assert children.unmet(Context("It rescued one child and 3 adults.")) == []
    assert read_constraints("How many countries reported cases?").unmet(Context("One country reported 4.")) == []


def test_years_and_places_that_describe_a_document_are_not_constraints():
    question = "In the Global Report's Africa chapter, how many children did armed groups recruit?"
    described = [(question.index("the Global"), question.index("chapter") + len("chapter"))]
    c = read_constraints(question, described)
    assert c.places == ()


def test_a_follow_up_must_be_about_the_previous_turn_and_give_the_breakdown():
    referent = referent_of(
        [
            "How many victims were identified at Dzaleka camp in Malawi?",
            "As a result, 87 victims were identified at the Dzaleka Refugee Camp.",
        ]
    )
    c = read_constraints("How many of them were women?", referent=referent)
    elsewhere = Context(
        "The workshops trained 160 practitioners, including 40 women.",
        paragraph="In Cox's Bazar, Bangladesh, UNODC trained practitioners. The workshops trained 160 …",
    )
    assert Unmet.REFERENT in c.unmet(elsewhere)
    no_split = Context("As a result, 87 victims were identified at the Dzaleka Refugee Camp.")
    assert Unmet.BREAKDOWN in c.unmet(no_split)
    reason = gap_reason(c, [(no_split, c.unmet(no_split))])
    assert "breakdown by sex" in reason and "Dzaleka" in reason


def test_the_refusal_names_the_years_the_library_has():
    c = read_constraints("How many calls did the hotline answer in 2021?")
    evidence = Context("In 2023, the hotline answered 10,000 calls.")
    reason = gap_reason(c, [(evidence, c.unmet(evidence))])
    assert "2023" in reason and "2021" in reason


def test_names_a_question_relies_on_are_phrases_without_places_titles_or_possessives():
    from assistant.answering.constraints import name_phrases

    assert name_phrases("What does the guide recommend about state Safe Harbor laws?") == ["Safe Harbor"]
    assert name_phrases("How many children did the FBI's Innocence Lost task forces rescue?") == [
        "FBI",
        "Innocence Lost",
    ]
    assert name_phrases("What did UNODC do in Cox's Bazar in 2023?") == ["UNODC"]
    assert name_phrases("What does the Global Report say?") == []  # a title, not a name asked about


def test_a_name_the_evidence_never_gives_is_not_met_and_an_acronym_matches_its_expansion():
    from assistant.answering.constraints import names_met

    c = read_constraints("What does the guide recommend about Safe Harbor laws?")
    assert c.unmet(Context("Officers should treat minors as victims.", page="Minors are victims.")) == [Unmet.NAME]
    assert c.unmet(Context("Officers should treat minors as victims.", page="Safe Harbor laws protect minors.")) == []
    assert names_met("ASU", "Arizona State University Office of Sex Trafficking Intervention Research")
    assert names_met("NGOs", "Several NGO shelters took part.")
    foreign = Context("Officers should treat minors as victims.", foreign_names=frozenset({"Safe Harbor"}))
    assert c.unmet(foreign) == []  # the name belongs to another document the question names


def test_question_words_of_other_languages_are_not_names():
    from assistant.answering.constraints import name_phrases

    assert name_phrases("Combien de victimes ont été identifiées à Mopti en 2022 ?") == []
    assert name_phrases("¿Cuántas víctimas identificó la UNODC en Malí?") == ["UNODC"]


def test_a_clause_opening_with_when_does_not_ask_for_a_date():
    from assistant.answering.constraints import AnswerKind, expected_kind

    assert expected_kind("When was the hotline founded?") is AnswerKind.DATE
    assert expected_kind("When an officer meets a victim, what steps does the guide recommend?") is not AnswerKind.DATE


def test_a_follow_up_refers_to_the_places_and_proper_names_of_the_turn_before():
    from assistant.answering.constraints import referent_of

    referent = referent_of(["UNODC supported Malawi's Ministry of Homeland Security at the Dzaleka Refugee Camp."])
    assert "UNODC" in referent.names and "Ministry" not in referent.names
    assert "Malawi" in referent.described()


def test_an_undated_fact_meets_a_period_its_document_covers_but_never_a_single_year():
    undated = Context("37% of potential victims were minors.", title="Trafficking during the pandemic",
                      scope_years=(YearSpan(2020, 2022),))  # fmt: skip
    assert read_constraints("What share of victims were minors from 2020 to mid-2022?").unmet(undated) == []
    assert Unmet.YEAR in read_constraints("What share of victims were minors from 2015 to 2018?").unmet(undated)
    # A year asked still needs a fact dated that year: the document's period is no figure for 2021.
    assert Unmet.YEAR in read_constraints("What share of victims were minors in 2021?").unmet(undated)



def test_a_long_page_is_searched_for_a_name_once_for_all_its_candidate_sentences(monkeypatch):
    import assistant.answering.constraints as constraints

    searched = []
    real = constraints._names_met
    monkeypatch.setattr(constraints, "_names_met", lambda name, text: searched.append(name) or real(name, text))
    page = "The shelter report. " * 20_000 + "Safe Harbor applies."
    assert [constraints.names_met("Safe Harbor", page) for _ in range(5)] == [True] * 5
    assert not constraints.names_met("Mona Lisa", page)
    assert searched == ["Safe Harbor", "Mona Lisa"]
    assert constraints.names_met("Safe Harbor", page[:-21]) is False  # another text is searched on its own


def test_a_short_question_naming_its_own_place_is_not_held_to_the_turn_before():
    """After a question on Antarctica, "How many victims were identified at the Dzaleka Refugee Camp?" reads as a
    follow-up (it is short) but asks about the camp: it is not refused for saying nothing about Antarctica. A
    question that points back keeps the previous turn's subject, whatever place it names."""
    antarctica = referent_of(["What does the library say about trafficking in Antarctica?"])
    assert antarctica is not None
    camp = read_constraints("How many victims were identified at the Dzaleka Refugee Camp?", referent=antarctica)
    assert camp.referent is None
    evidence = Context("As a result, 87 victims of trafficking were identified at the Dzaleka Refugee Camp.")
    assert camp.unmet(evidence) == []
    dzaleka = referent_of(["How many victims were identified at Dzaleka camp in Malawi?"])
    of_them = read_constraints("How many of them were identified in Lilongwe?", referent=dzaleka)
    assert of_them.referent is dzaleka
