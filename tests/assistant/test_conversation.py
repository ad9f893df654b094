import pytest

from assistant.answering.conversation import condense, is_followup, question_parts

HISTORY = [
    {"role": "user", "content": "What has UNODC been doing on trafficking among Rohingya refugees in Bangladesh?"},
    {"role": "assistant", "content": "From March 2020 to February 2024 UNODC ran capacity-building programmes "
     "in Cox's Bazar for law enforcement officers and prosecutors. [1]"},
]


def test_question_without_history_is_used_as_is():
    query = condense("How many of them were women?", [])
    assert query.text == "How many of them were women?"
    assert not query.is_followup


def test_pronoun_followup_brings_in_the_previous_turn():
    query = condense("How many of them were women?", HISTORY)
    assert query.is_followup
    assert "Rohingya" in query.text and "Cox's Bazar" in query.text
    assert "[1]" not in query.text  # citation markers of the previous answer are not search terms


def test_short_ellipsis_is_a_followup():
    assert is_followup("And the year before?", HISTORY)
    assert is_followup("Is there an estimate for Burkina Faso?", HISTORY)


def test_a_short_question_that_says_what_it_asks_about_a_place_stands_alone():
    # five content words, four of them its own besides the place: not a follow-up of the Rohingya question
    assert not is_followup("How many survivors did the Arusha shelter network host?", HISTORY)
    assert is_followup("How many were women?", HISTORY)


def test_self_contained_question_after_history_stands_alone():
    question = "What prison sentence did the defendant called Dawn receive after pleading guilty in federal court?"
    query = condense(question, HISTORY)
    assert not query.is_followup
    assert query.text == question


def test_possessives_are_searched_as_their_word():
    from assistant.text.terms import lexical_terms

    assert lexical_terms("The Global Report's Africa chapter and the hotline’s data") == [
        "global", "report", "africa", "chapter", "hotline", "data"
    ]


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("What training did UNODC build for police in MINUSMA, and what does the report say about Mali?",
         ["What training did UNODC build for police in MINUSMA", "what does the report say about Mali?"]),
        ("Who uses the screening checklist and which young people is it used with?",
         ["Who uses the screening checklist", "which young people is it used with?"]),
        ("How many victims were identified at Dzaleka?", ["How many victims were identified at Dzaleka?"]),
        ("Which countries and regions are affected?", ["Which countries and regions are affected?"]),
        ("What is it, and why?", ["What is it, and why?"]),  # a part too short to stand alone stays attached
    ],
)
def test_compound_questions_split_into_parts(question, parts):
    assert question_parts(question) == parts
