"""The extractive composer on hand-made passages, with the real embedding model."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from assistant.answering.conversation import RetrievalQuery
from assistant.answering.extractive import ExtractiveComposer, ExtractiveConfig
from assistant.types import REFUSAL_TEXT
from ingest.models import Chunk
from vectorstore.store import ScoredChunk

CAMP = (
    "UNODC supported Malawi's Ministry of Homeland Security at the Dzaleka Refugee Camp. "
    "As a result, 87 victims of trafficking were identified and rescued in January and February 2024. "
    "Support will continue throughout 2024."
)
BAZAR = (
    "From March 2020 to February 2024, UNODC ran capacity-building programmes in Cox's Bazar, Bangladesh. "
    "A total of 160 practitioners, including 40 women, benefited from these training sessions."
)
MINES = "Artisanal gold mines in the Sahel employ many children. Armed groups control some of these sites."


def passage(text: str, page: int, offset: int, score: float, source: str = "report.pdf") -> ScoredChunk:
    chunk = Chunk(
        chunk_id=f"{source}-{page}-{offset}",
        doc_id=source[:12],
        source=source,
        title="A report",
        page_start=page,
        page_end=page,
        char_start=offset,
        char_end=offset + len(text),
        text=text,
        index=page,
    )
    return ScoredChunk(chunk=chunk, score=score, dense=score, lexical=score)


@pytest.fixture
def composer(embedder):
    return ExtractiveComposer(embedder)


def ask(composer, question, passages):
    return composer.compose(question, RetrievalQuery(question, False), passages)


def test_answer_is_verbatim_sentences_each_with_a_valid_marker(composer):
    passages = [passage(CAMP, 4, 100, 0.8), passage(BAZAR, 5, 0, 0.6), passage(MINES, 9, 30, 0.3)]
    answer = ask(composer, "How many trafficking victims were identified at the Dzaleka camp?", passages)

    assert not answer.refused
    assert "87 victims" in answer.text
    # "As a result, ..." leans on the sentence before it, which comes along so the answer reads on its own
    texts = [s.text for s in answer.sentences]
    leaning = next(i for i, t in enumerate(texts) if t.startswith("As a result, 87 victims"))
    assert leaning > 0 and texts[leaning - 1].startswith("UNODC supported Malawi")
    numbers = [c.n for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    for sentence in answer.sentences:
        (n,) = sentence.citations
        assert f"{sentence.text} [{n}]" in answer.text
        citation = answer.citation(n)
        assert sentence.text in citation.quote
        # the quote sits at its page offsets inside the passage it came from
        local = citation.start - citation.context_start
        assert citation.context[local : local + len(citation.quote)] == citation.quote
    assert len(re.findall(r"\[\d+\]", answer.text)) == len(answer.sentences)


def test_consecutive_sentences_share_one_citation_quoting_exactly_them(embedder):
    composer = ExtractiveComposer(embedder, ExtractiveConfig(keep_within=1.0))
    answer = ask(composer, "What did UNODC do at Dzaleka camp in Malawi and what came of it?",
                 [passage(CAMP, 4, 100, 0.9)])
    assert len(answer.sentences) == 3
    assert len(answer.citations) == 1 and all(s.citations == (1,) for s in answer.sentences)
    assert answer.citations[0].quote == CAMP  # the three sentences in page order, nothing else
    assert (answer.citations[0].start, answer.citations[0].end) == (100, 100 + len(CAMP))


def test_gap_between_chosen_sentences_splits_the_citation(embedder):
    text = (
        "The Dzaleka Refugee Camp hosts refugees in Malawi. The weather was mild that year. "
        "Police at the Dzaleka Refugee Camp identified 87 victims."
    )
    composer = ExtractiveComposer(embedder, ExtractiveConfig(keep_within=1.0, max_sentences=2))
    answer = ask(composer, "What happened at the Dzaleka Refugee Camp?", [passage(text, 2, 0, 0.9)])
    assert len(answer.sentences) == 2
    assert [c.quote for c in answer.citations] == [s.text for s in answer.sentences]
    assert [c.n for c in answer.citations] == [1, 2]
    assert "weather" not in " ".join(c.quote for c in answer.citations)


def test_list_markers_are_not_part_of_answer_sentences(composer):
    text = "- UNODC identified 87 victims of trafficking at the Dzaleka Refugee Camp in 2024."
    answer = ask(composer, "How many victims were identified at Dzaleka?", [passage(text, 1, 10, 0.9)])
    assert answer.sentences[0].text.startswith("UNODC identified")
    assert answer.citations[0].start == 12


GUIDE = (
    "This guide seeks to inform school resource officers about human trafficking and its indicators so they "
    "can recognise a potential victim at their school. This guide includes information about:\n\n"
    "» What human trafficking is\n\n» How to recognize it among youth\n\n"
    "» Tips for talking to students about exploitation\n\n» Reporting options for a suspected case\n\n"
    "Officers who use these tools are better equipped to combat human trafficking."
)


def test_a_sentence_that_goes_on_into_an_introduced_list_brings_the_items(composer):
    answer = ask(composer, "What does the guide seek to inform school resource officers about?",
                 [passage(GUIDE, 2, 0, 0.9)])  # fmt: skip
    texts = [s.text for s in answer.sentences]
    assert "This guide includes information about:" in texts
    assert texts[texts.index("This guide includes information about:") + 1 :][:4] == [
        "What human trafficking is",
        "How to recognize it among youth",
        "Tips for talking to students about exploitation",
        "Reporting options for a suspected case",
    ]


def test_at_most_max_sentences(embedder):
    composer = ExtractiveComposer(embedder, ExtractiveConfig(max_sentences=2, keep_within=1.0))
    answer = ask(composer, "What has UNODC done for refugees?",
                 [passage(CAMP, 1, 0, 0.9), passage(BAZAR, 2, 0, 0.9), passage(MINES, 3, 0, 0.9)])
    assert len(answer.sentences) == 2


def test_unrelated_passages_give_a_refusal_with_possibly_related(composer):
    answer = ask(composer, "Who won the football world cup in 1998?",
                 [passage(MINES, 3, 0, 0.05), passage(BAZAR, 2, 0, 0.04)])
    assert answer.refused
    assert answer.text == REFUSAL_TEXT
    assert answer.citations == () and answer.sentences == ()
    assert [c.source for c in answer.related] == ["report.pdf", "report.pdf"]


def test_a_refusal_offers_each_page_once_with_its_best_passage(composer):
    answer = ask(composer, "Who won the football world cup in 1998?",
                 [passage(MINES, 1, 0, 0.05), passage(BAZAR, 1, 400, 0.045), passage(CAMP, 2, 0, 0.04),
                  passage(CAMP, 1, 900, 0.03)])  # fmt: skip
    assert answer.refused
    assert [(c.page, c.start) for c in answer.related] == [(1, 0), (2, 0)]


def test_nothing_retrieved_is_a_refusal(composer):
    answer = ask(composer, "How many victims?", [])
    assert answer.refused and answer.related == ()


def test_each_part_of_a_compound_question_is_answered(embedder, monkeypatch):
    composer = ExtractiveComposer(embedder, ExtractiveConfig(max_sentences=2))
    question = ("How many victims were identified at the Dzaleka camp in Malawi, and what happens to children "
                "in the artisanal gold mines of the Sahel?")
    passages = [passage(CAMP, 4, 100, 0.9), passage(BAZAR, 5, 0, 0.85), passage(MINES, 9, 30, 0.2)]
    answer = ask(composer, question, passages)
    assert "87 victims" in answer.text
    assert "Artisanal gold mines" in answer.text

    # Without parts, the first topic's sentences fill the answer and the second topic is left out:
    # this is what the per-part pick is for.
    monkeypatch.setattr("assistant.answering.extractive.question_parts", lambda q: [q])
    assert "Artisanal gold mines" not in ask(composer, question, passages).text


def test_references_and_axis_labels_are_not_answers(composer):
    text = (
        "98 Burkina Faso, Ministry of Solidarity, Rapport national 2021 sur la traite des personnes (March 2023). "
        "Burkina Faso Ethiopia 0 5 10 15 20 25 30 35 40 Child labour prevalence 0 10 20 30 40 50 60 Mali. "
        "(Overseas Development Institute, 2016). 126 IOM, Mobility Tracking in Burkina Faso, 2021. "
        "In 2015, between 60,000 and 100,000 children worked in mines in Burkina Faso."
    )
    answer = ask(composer, "How many children worked in mines in Burkina Faso?", [passage(text, 15, 0, 0.9)])
    assert [s.text for s in answer.sentences] == [
        "In 2015, between 60,000 and 100,000 children worked in mines in Burkina Faso."
    ]


def test_chart_labels_that_carry_data_values_stay_answerable(composer):
    text = "97 108 246 289 316 360 0 100 200 300 2010 2011 2012 2013 2014 2015 Sex trafficking cases by year."
    answer = ask(composer, "How many sex trafficking cases were there each year?", [passage(text, 5, 0, 0.9)])
    assert not answer.refused and "97 108 246" in answer.text


def test_a_chart_frame_without_its_data_and_a_reference_ending_in_an_address_are_not_answers(composer):
    frame = (
        "2018 2019 2020 2021 2022 Quarter and Year Situation was Reported to the Hotline Error bars: 95% CI "
        "Estimated Marginal Means 0.0 0.1 0.2 0.3 0.4 0.5 0.6"
    )
    note = "Begging was the third most reported type of labor trafficking in 2019 (https://example.org/2019/stats.pdf)."
    retrieved = [passage(f"{frame}\n\n{note}", 8, 0, 0.9)]
    answer = ask(composer, "How many situations did the hotline record in 2019?", retrieved)
    assert answer.refused, answer.text


def test_a_list_item_is_read_and_quoted_with_the_line_that_introduces_it():
    from assistant.answering.extractive import passage_sentences, sentence_unit

    text = (
        "Between 2003 and 2014, task forces under the Innocence Lost National Initiative\n\n"
        "• rescued nearly 4,800 children from sex trafficking;\n\n"
        "• led to more than 2,000 convictions.\n\n"
        "ii.\n\nAn abundance of natural resources in areas with weak oversight."
    )
    sentences = passage_sentences([passage(text, 6, 0, 0.9)])["report.pdf-6-0"]
    rescued = next(s for s in sentences if s.text.startswith("rescued"))
    assert rescued.item and rescued.context.startswith("Between 2003 and 2014")
    assert [s.text for s in sentence_unit(rescued, sentences)][0].startswith("Between 2003 and 2014")
    # A marker the sentence splitter leaves on its own line still makes the next sentence an item.
    assert next(s for s in sentences if s.text.startswith("An abundance")).item


def test_a_bulleted_item_without_a_full_stop_can_answer(composer):
    text = (
        "All states have task forces that focus on child sex trafficking:\n\n"
        "• 71 FBI multidisciplinary Child Exploitation Task Forces comprising federal, state, and local officers\n\n"
        "• 17 Anti-Human Trafficking Task Forces"
    )
    answer = ask(composer, "How many FBI Child Exploitation Task Forces are there?", [passage(text, 11, 0, 0.9)])
    assert not answer.refused and "71 FBI" in answer.text


SHELTER_FIGURE = (
    "Figure 4 Measures shelter staff said would help survivors testify against their exploiters\n\n"
    "Source: shelter survey 2023.\n\n"
    "Free legal counsel from the first interview onwards\n\n"
    "Protection orders for family members still in the home country\n\n"
    "Residence permits that do not depend on testifying\n\n"
    "Table 5\n\n"
    "Shelter places per region available to adult survivors\n\n"
    "Staff also reported long waiting times for interpreters."
)


def test_a_list_printed_without_bullets_is_answered_with_its_items(composer):
    answer = ask(composer, "What measures would help survivors testify, according to shelter staff?",
                 [passage(SHELTER_FIGURE, 12, 0, 0.9)])  # fmt: skip
    texts = [s.text for s in answer.sentences]
    assert not answer.refused
    assert texts[0].startswith("Figure 4 Measures shelter staff said")
    for item in ("Free legal counsel", "Protection orders", "Residence permits"):
        assert any(t.startswith(item) for t in texts), item
    assert "Source: shelter survey 2023." not in texts  # a source line is passed over, not an item
    assert not any(t.startswith("Shelter places per region") for t in texts)  # the next table's, not this list's


def test_a_run_of_one_word_labels_is_not_a_list():
    from assistant.answering.extractive import passage_sentences, unmarked_list

    text = "Number of children working in mines by country in 2019\n\nGhana\n\nNiger\n\nChad\n\nKenya"
    sentences = passage_sentences([passage(text, 3, 0, 0.9)])["report.pdf-3-0"]
    assert unmarked_list(sentences, 0) == []


def test_a_paragraph_that_goes_on_into_a_list_brings_its_items(composer):
    text = (
        "Recruiters do not fit one profile. They may be of any age or gender. Among those reported, they were:\n\n"
        "» Neighbours\n\n» Family members\n\n» Former employers of the victim\n\n"
        "Most recruiters were paid per person recruited."
    )
    answer = ask(composer, "Who can a recruiter be?", [passage(text, 8, 0, 0.9)])
    texts = [s.text for s in answer.sentences]
    assert "Family members" in texts and "Neighbours" in texts  # short items come along with their list
    assert texts.index("Family members") > texts.index("Among those reported, they were:")


def test_a_list_that_runs_into_the_next_passage_is_read_in_order(composer):
    first = passage(
        "Table 7 Least helpful services named by survivors in the follow-up interviews N\n\n"
        "Immigration hotlines 31% 210", 20, 0, 0.6)  # fmt: skip
    rest = "Emergency housing agencies 22% 208\n\nCourt-appointed guardians 19% 209\n\nMost survivors relied on peers."
    second = passage(rest, 20, 200, 0.9)
    second = ScoredChunk(replace(second.chunk, chunk_id="report.pdf-20-200", index=first.chunk.index + 1),
                         0.9, 0.9, 0.9)  # fmt: skip
    answer = ask(composer, "Which services did survivors find least helpful?", [second, first])
    texts = [s.text for s in answer.sentences]
    assert texts[0].startswith("Table 7 Least helpful services")  # the title, then its items in page order
    assert texts[1:4] == ["Immigration hotlines 31% 210", "Emergency housing agencies 22% 208",
                          "Court-appointed guardians 19% 209"]  # fmt: skip


def test_a_table_of_contents_is_not_a_list():
    from assistant.answering.extractive import passage_sentences, unmarked_list

    text = "Background of the shelter programme ... 2 Scope ... 2\n\nMETHODS ... 3\n\nRESULTS ... 5\n\nANNEXES ... 9"
    sentences = passage_sentences([passage(text, 2, 0, 0.9)])["report.pdf-2-0"]
    assert not any(unmarked_list(sentences, i) for i in range(len(sentences)))


def test_a_tables_header_row_is_not_an_answer_and_its_rows_are_not_a_list():
    from assistant.answering.extractive import passage_sentences, unmarked_list

    text = (
        "Town | Child victims of labour trafficking identified in 2023 | Adult victims identified in 2023\n\n"
        "Town: Kigoma | Child victims of labour trafficking identified in 2023: 21 | "
        "Adult victims identified in 2023: 49\n\n"
        "Town: Tabora | Child victims of labour trafficking identified in 2023: 24 | "
        "Adult victims identified in 2023: 56"
    )
    header, *rows = passage_sentences([passage(text, 5, 0, 0.9)])["report.pdf-5-0"]
    assert not header.is_prose and unmarked_list([header, *rows], 0) == []
    assert all(r.is_prose for r in rows)  # each row, with its headers, can answer
