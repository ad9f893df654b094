"""Cited summaries and cited drafts: on a small library of hand-written documents, and on the corpus (slow)."""

from __future__ import annotations

import pytest

from assistant.drafting.drafts import CITATION_NEEDED, Grouping
from assistant.drafting.export import to_markdown
from assistant.service import Assistant
from assistant.settings import Settings

BANGLADESH = (
    "From March 2020 to February 2024, UNODC ran capacity-building programmes for refugees in Cox's Bazar, "
    "Bangladesh. In partnership with the Ministry of Home Affairs of Bangladesh, UNODC delivered workshops for "
    "law enforcement officers. A total of 160 practitioners, including 40 women, benefited from these sessions."
)
MALAWI = (
    "In 2023, UNODC supported Malawi's Ministry of Homeland Security at the Dzaleka Refugee Camp. As a result of "
    "this, 87 victims of trafficking were identified and rescued by law enforcement in January and February 2024."
)
# The same statement about Malawi, reprinted in a second report: a summary says it once.
REPRINT = (
    "Annual review. In 2023, UNODC supported Malawi's Ministry of Homeland Security at the Dzaleka Refugee Camp. "
    "The weather in the capital was mild that year."
)
UNRELATED = "Honey bees pollinate crops. Beekeepers harvest honey in the autumn."


@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder) -> Assistant:
    folder = tmp_path_factory.mktemp("drafting")
    docs = folder / "docs"
    docs.mkdir()
    for name, text in (("bangladesh.txt", BANGLADESH), ("malawi.txt", MALAWI), ("review.txt", REPRINT),
                       ("bees.txt", UNRELATED)):  # fmt: skip
        (docs / name).write_text(text, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=folder / "data"), embedder=embedder)
    assert assistant.ingest([docs]).ok
    return assistant


def headings(cited) -> list[str | None]:
    return [s.heading for s in cited.sections]


def test_summary_groups_by_country_and_cites_every_sentence(library):
    stages = []
    cited = library.summarize("UNODC support for refugees", Grouping.COUNTRY,
                              progress=lambda stage, done, total: stages.append((stage, done, total)))  # fmt: skip
    assert {"Bangladesh", "Malawi"} <= set(headings(cited))
    text = " ".join(s.text for s in cited.sentences())
    assert "87 victims" in text and "160 practitioners" in text
    assert "Honey" not in text
    for sentence in cited.sentences():
        assert sentence.label == "supported" and sentence.notes
        note = cited.notes[sentence.notes[0] - 1]
        assert note.quote == sentence.text
        assert library.page_text(note.doc_id, note.page)[note.start : note.end] == note.quote
    # the 160 sentence names no country: it goes under the country its paragraph is about
    bangladesh = next(s for s in cited.sections if s.heading == "Bangladesh")
    assert any("160 practitioners" in d.text for p in bangladesh.paragraphs for d in p)
    assert stages[-1] == ("done", 3, 3)


def test_a_statement_reprinted_elsewhere_is_summarised_once(library):
    cited = library.summarize("UNODC support for refugees", Grouping.DOCUMENT)
    texts = [s.text for s in cited.sentences()]
    assert sum("Ministry of Homeland Security" in t for t in texts) == 1
    assert "The weather in the capital was mild that year." not in texts


def test_grouping_by_document_and_by_theme(library):
    by_document = library.summarize("UNODC support for refugees", "document")
    assert set(headings(by_document)) <= {"bangladesh", "malawi", "review"}
    by_theme = library.summarize("UNODC support for refugees", "theme")
    from assistant.drafting.drafts import THEMES

    assert set(headings(by_theme)) <= set(THEMES) and len(by_theme.sentences()) == len(by_document.sentences())


def test_references_list_each_document_once_with_its_pages(library):
    cited = library.summarize("UNODC support for refugees")
    references = cited.references()
    assert len({r.source for r in references}) == len(references)
    markdown = to_markdown(cited)
    assert markdown.count("## References") == 1
    assert all(f"— {r.source}, p. 1" in markdown for r in references)


def test_a_topic_the_library_does_not_cover_gives_an_empty_summary(library):
    cited = library.summarize("maritime law of the sea", doc_ids=[library.find_document("bees.txt").doc_id])
    assert all("sea" not in s.text for s in cited.sentences())


def test_cited_draft_attaches_sources_and_flags_the_invented_figure(library):
    draft = (
        "UNODC ran capacity-building programmes in Cox's Bazar, Bangladesh, from March 2020 to February 2024. "
        "UNODC trained 2,500 judges in Bangladesh in 2022.\n\n"
        "At the Dzaleka Refugee Camp, 87 victims of trafficking were identified and rescued in early 2024."
    )
    cited = library.cite(draft)
    first, invented, camp = cited.sentences()
    assert [len(section.paragraphs) for section in cited.sections] == [2]  # the drafter's paragraphs are kept
    assert cited.notes[first.notes[0] - 1].source == "bangladesh.txt"
    assert cited.notes[camp.notes[0] - 1].source == "malawi.txt"
    assert invented.needs_citation and invented.label != "supported"
    markdown = to_markdown(cited)
    assert f"UNODC trained 2,500 judges in Bangladesh in 2022. **{CITATION_NEEDED}**" in markdown


def test_empty_inputs_are_refused(library):
    from assistant.service import EmptyQuestion, EmptyText

    with pytest.raises(EmptyQuestion):
        library.summarize("  ")
    with pytest.raises(EmptyText):
        library.cite("\n\n")


# ----- on the shared corpus ------------------------------------------------------------------------------
@pytest.mark.slow
def test_refugee_settings_summary_covers_dzaleka_and_coxs_bazar(corpus_library):
    cited = corpus_library.summarize("UNODC support in refugee settings")
    print("\n" + to_markdown(cited))
    submission = "UNODC-submission-SR-TIP-gender-peace-security-2024.txt"
    for fact in ("87 victims", "160 practitioners"):
        (sentence,) = [s for s in cited.sentences() if fact in s.text]
        assert cited.notes[sentence.notes[0] - 1].source == submission
    assert all(s.label == "supported" and s.notes for s in cited.sentences())


@pytest.mark.slow
def test_armed_groups_summary_cites_the_global_report_with_pages(corpus_library):
    cited = corpus_library.summarize("children recruited by armed groups in Africa")
    glotip = [r for r in cited.references() if r.source == "GLOTIP2024_Chapter_2.pdf"]
    assert glotip and glotip[0].pages and all(p >= 1 for p in glotip[0].pages)
    assert all(s.label == "supported" and s.notes for s in cited.sentences())


@pytest.mark.slow
def test_cited_draft_on_the_corpus_flags_the_invented_figure(corpus_library):
    draft = (
        "UNODC supported Malawi's Ministry of Homeland Security at the Dzaleka Refugee Camp, where 87 victims of "
        "trafficking were identified and rescued in early 2024. In Mali, 21 different armed groups were involved "
        "in systematic child recruitment between April 2020 and April 2022. UNODC trained 4,300 border officers "
        "in Chad in 2023."
    )
    cited = corpus_library.cite(draft)
    camp, mali, invented = cited.sentences()
    assert cited.notes[camp.notes[0] - 1].source == "UNODC-submission-SR-TIP-gender-peace-security-2024.txt"
    assert cited.notes[mali.notes[0] - 1].source == "GLOTIP2024_Chapter_2.pdf"
    assert invented.needs_citation


# ----- with a model (a fake chat model stands in for a model server, which cannot run here) ---------------
def test_a_model_writes_each_section_and_every_sentence_is_checked(library, embedder):
    from tests.fake_models import ScriptedChatModel

    reply = ("UNODC delivered workshops for law enforcement officers in Bangladesh [1]. "
             "UNODC also built 40 shelters in Cox's Bazar [1].")  # fmt: skip
    model = ScriptedChatModel(responses=[reply])
    assistant = Assistant(Settings(data_dir=library.settings.data_dir), embedder=embedder, model=model)
    cited = assistant.summarize("UNODC support for refugees", "document")
    assert "Write one short paragraph" in model.sent[0][-1].content
    # the same scripted reply comes back for every section: it is true only of the Bangladesh one
    by_heading = {section.heading: [s for p in section.paragraphs for s in p] for section in cited.sections}
    workshops, shelters = by_heading["bangladesh"]
    assert workshops.label == "supported" and cited.notes[workshops.notes[0] - 1].source == "bangladesh.txt"
    assert shelters.needs_citation  # 40 shelters: nothing says so
    for heading, sentences in by_heading.items():
        if heading != "bangladesh":
            assert all(s.needs_citation for s in sentences), heading


def test_a_section_the_model_fails_on_keeps_its_quotes(library, embedder):
    import ollama

    from tests.fake_models import FailingChatModel

    model = FailingChatModel(error=ollama.ResponseError("scripted failure", 500))
    assistant = Assistant(Settings(data_dir=library.settings.data_dir), embedder=embedder, model=model)
    cited = assistant.summarize("UNODC support for refugees", "document")
    assert all(s.label == "supported" and s.notes for s in cited.sentences())
    assert cited.notices and "could not write" in cited.notices[0]
