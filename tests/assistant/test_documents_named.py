"""Mapping the documents a question names or describes to library documents (assistant/answering/documents_named.py)."""

from __future__ import annotations

import pytest

from assistant.answering.documents_named import (
    DocumentProfile,
    build_profiles,
    file_words,
    named_doc_ids,
    named_documents,
    profiles,
)
from vectorstore.catalog import DocumentRecord

# A small library of made-up documents: two guides, two yearly reports of one publisher, a chapter of a
# series, a submission and a survey.
LIBRARY = [
    DocumentProfile(
        "er-guide",
        "Hospital-Response-Guide.pdf",
        "Recognising Exploitation: A Guide for Hospital Emergency Staff",
        2019,
        "Recognising Exploitation: A Guide for Hospital Emergency Staff · Hospital Response Guide · "
        "American Nurses Forum · ANF · triage · nurses · patients · emergency · clinicians · 2019",
        ("American Nurses Forum", "ANF", "guide"),
    ),
    DocumentProfile(
        "crew-guide",
        "CabinCrew_Toolkit.pdf",
        "Eyes in the Sky: A Guide for Airline Cabin Crew",
        2020,
        "Eyes in the Sky: A Guide for Airline Cabin Crew · Cabin Crew Toolkit · Aviation Safety Council · ASC · "
        "flight · passengers · attendants · boarding · 2020",
        ("Aviation Safety Council", "ASC", "guide"),
    ),
    DocumentProfile(
        "harbor-2021",
        "Harbor-Alliance-Annual-Report-2021.pdf",
        "Harbor Alliance Annual Report 2021",
        2021,
        "Harbor Alliance Annual Report 2021 · helpline · calls · shelters · fishing · 2020 · 2021",
        ("report",),
    ),
    DocumentProfile(
        "harbor-2023",
        "Harbor-Alliance-Annual-Report-2023.pdf",
        "Harbor Alliance Annual Report 2023",
        2023,
        "Harbor Alliance Annual Report 2023 · helpline · calls · pandemic · lockdown · 2020 · 2022 · 2023",
        ("report",),
    ),
    DocumentProfile(
        "world-ch3",
        "WORLDREP2024_Chapter_3.pdf",
        "Exploitation in and from South Asia",
        2024,
        "Exploitation in and from South Asia · WORLDREP 2024 Chapter 3 · World Report · chapter · asia · "
        "bangladesh · nepal · brick · kilns · 2024",
        ("World Report", "chapter"),
    ),
    DocumentProfile(
        "ngo-submission",
        "Coalition-submission-UN-rapporteur-2024.txt",
        "Coalition Submission to the UN Special Rapporteur on Contemporary Slavery",
        2024,
        "Coalition Submission to the UN Special Rapporteur on Contemporary Slavery · Coalition submission UN "
        "rapporteur 2024 · peacekeeping · training · 2024",
        (),
    ),
    DocumentProfile(
        "survivor-survey",
        "Voices-Survey-by-Harbor-Alliance-2022.pdf",
        "Voices: Results of the National Survivor Voices Survey",
        2022,
        "Voices: Results of the National Survivor Voices Survey · Voices Survey by Harbor Alliance 2022 · "
        "respondents · survivors · housing · debt · 2022",
        (),
    ),
]


def named(text: str, library: list[DocumentProfile] = LIBRARY) -> list[str]:
    return named_doc_ids(named_documents(text, library))


# ----- kinds and modifiers -----------------------------------------------------------------------------------
def test_two_guides_are_told_apart_by_their_modifiers():
    assert named("What does the hospital guide say about triage?") == ["er-guide"]
    assert named("Do the emergency staff guide and the cabin crew guide agree on warning signs?") == [
        "er-guide",
        "crew-guide",
    ]
    assert named("What does the airline guide recommend?") == ["crew-guide"]


def test_a_vague_kind_names_nothing():
    assert named("What does the report say about shelters?") == []
    assert named("Do the guides agree?") == []
    assert named("Which guide covers boarding?") == []


def test_a_modifier_two_documents_share_names_neither():
    # Both Harbor Alliance reports are "annual reports" of the same publisher.
    assert named("What does the Harbor Alliance annual report say about calls?") == []


def test_year_picks_one_of_a_publishers_reports():
    assert named("What did the 2021 Harbor Alliance report count?") == ["harbor-2021"]
    assert named("In the Harbor Alliance's 2023 report, how many calls were there?") == ["harbor-2023"]


def test_a_year_the_library_does_not_have_names_nothing():
    assert named("What does the 2019 Harbor Alliance report say?") == []


def test_a_period_matches_the_years_a_document_covers():
    # 2020-2022 is covered by the 2023 report; its publication year is not in the range.
    assert named("What does the alliance's 2020-2022 pandemic report say about calls?") == ["harbor-2023"]


def test_possessives():
    assert named("In the World Report's South Asia chapter, which industries are named?") == ["world-ch3"]
    assert named("What did the coalition's submission say about training?") == ["ngo-submission"]
    assert named("Which housing problems do the Harbor Alliance's survey respondents report?") == ["survivor-survey"]


def test_a_distinctive_name_alone_where_something_is_attributed_to_it():
    assert named("According to the ANF, who should be screened?") == ["er-guide"]
    assert named("What does the ASC say about boarding?") == ["crew-guide"]
    assert named("Did the ANF staff meet in 2019?") == []  # not attributed: no mention


def test_an_indefinite_or_own_document_is_not_a_library_document():
    assert named("I am drafting a hospital guide; what should it cover?") == []
    assert named("For my South Asia chapter, what does the library say about brick kilns?") == []


def test_an_unknown_name_in_the_phrase_vetoes_the_match():
    assert named("What does the Cleveland hospital guide say?") == []


def test_plural_documents_name_none_of_them():
    assert named("How do the two Harbor Alliance reports differ?") == []


def test_following_phrase_and_series_name():
    assert named("What does the guide for airline cabin crew say?") == ["crew-guide"]
    assert named("What does the World Report say about Nepal?") == ["world-ch3"]
    assert named("What does the National Survivor Voices Survey say about debt?") == ["survivor-survey"]


def test_mentions_carry_the_words_of_the_question():
    text = "Compare the hospital guide with the 2021 Harbor Alliance report, please."
    mentions = named_documents(text, LIBRARY)
    assert [m.doc_id for m in mentions] == ["er-guide", "harbor-2021"]
    assert [m.phrase for m in mentions] == ["the hospital guide", "the 2021 Harbor Alliance report"]
    assert all(text[m.start : m.end] == m.phrase for m in mentions)


def test_lower_case_typed_question():
    assert named("what does the anf guide say about triage") == ["er-guide"]


def test_no_profiles_or_no_text():
    assert named_documents("the hospital guide", []) == []
    assert named_documents("", LIBRARY) == []


# ----- building profiles from a store -------------------------------------------------------------------------
class FakeLibrary:
    """documents() and page_text() over in-memory pages, like ``Assistant``."""

    def __init__(self, docs: dict[str, tuple[str, str, int | None, list[str]]]):
        self.docs = docs
        self.calls = 0

    def documents(self) -> list[DocumentRecord]:
        return [
            DocumentRecord(doc_id, source, title, f"sha-{doc_id}-{len(pages)}", "pdf", len(pages), 1, year, "now")
            for doc_id, (source, title, year, pages) in self.docs.items()
        ]

    def page_text(self, doc_id: str, page: int) -> str | None:
        self.calls += 1
        pages = self.docs[doc_id][3]
        return pages[page - 1] if 0 < page <= len(pages) else None


PAGES = {
    "leaders": (
        "Combating-Exploitation-Guide-for-Leaders.pdf",
        "Combating Exploitation: A Guide for Police Leaders",
        2016,
        [
            "Combating Exploitation A Guide for Police Leaders",
            "Recommended citation: International Association of Police Chiefs. 2016. Combating Exploitation.",
            "Contents Introduction ... 1 About the IAPC ... 16",
        ],
    ),
    "world": (
        "WORLDREP2024_Chapter_3.pdf",
        "Exploitation in and from South Asia",
        2024,
        [
            "Exploitation in and from South Asia CHAPTER 3",
            "This special chapter of the World Report presents what is known about brick kilns in Nepal.",
        ],
    ),
    "schools": (
        "Response Guide for School Counsellors.pdf",
        "Response Guide for School Counsellors",
        2022,
        ["As a school counsellor (SC), you meet students. This guide seeks to inform counsellors."],
    ),
}


def test_file_words_split_separators_camel_case_and_digits():
    assert file_words("GLOTIP2024_Chapter_2.pdf") == "GLOTIP 2024 Chapter 2"
    assert file_words("CaseStudies-voi.pdf") == "Case Studies voi"
    assert file_words("2017_April_AZ_SexTraffickingResearch.pdf") == "2017 April AZ Sex Trafficking Research"


def test_profiles_read_publisher_series_and_acronyms_from_first_pages():
    built = {p.doc_id: p for p in build_profiles(FakeLibrary(PAGES))}
    assert "International Association of Police Chiefs" in built["leaders"].names
    assert "IAPC" in built["leaders"].names  # the acronym of the cited publisher
    assert "World Report" in built["world"].names  # the series the chapter calls itself part of
    assert "chapter" not in built["world"].names  # already in its file name
    assert "2024" in built["world"].description
    library = list(built.values())
    assert named("According to the IAPC, what comes first?", library) == ["leaders"]
    assert named("What does the World Report's South Asia chapter say?", library) == ["world"]
    assert named("What does the school counsellor guide say?", library) == ["schools"]


def test_profiles_are_cached_until_the_documents_change():
    library = FakeLibrary(dict(PAGES))
    first = profiles(library)
    calls = library.calls
    assert profiles(library) is first and library.calls == calls  # no page read again
    library.docs.pop("schools")
    assert [p.doc_id for p in profiles(library)] == ["leaders", "world"]


# ----- the real corpus ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_questions_over_the_shared_corpus(corpus_library):
    library = profiles(corpus_library)
    source = {p.doc_id: p.source for p in library}

    def sources(question: str) -> list[str]:
        return [source[d] for d in named_doc_ids(named_documents(question, library))]

    assert sources("What does the Arizona State University study say about gang involvement?") == [
        "2017_April_AZ_SexTraffickingResearch.pdf"
    ]
    assert sources(
        "Which apps come up in the peer-to-peer platforms case studies and in the COVID-era hotline report?"
    ) == [
        "FIU-Peer-to-Peer-Platforms-Case-Study.pdf",
        "Hotline-Trends-Report-2023.pdf",
    ]
    assert sources(
        "How does the 2022 guide for school resource officers describe grooming, compared with the IACP's guide?"
    ) == [
        "HUMAN TRAFFICKING RESPONSE GUIDE for School Resource Officers.pdf",
        "Combating Child Sex Trafficking a Guide for Law Enforcement.pdf",
    ]
    assert sources("What did the 2021 hotline data analysis find about recruiters?") == [
        "Polaris-Analysis-of-2021-Data-from-the-National-Human-Trafficking-Hotline.pdf"
    ]
    assert sources("In the Harm's Way survivor survey, what share had debt?") == [
        "In-Harms-Way-How-Systems-Fail-Human-Trafficking-Survivors-by-Polaris-modifed-June-2023.pdf"
    ]
    assert sources(
        "What does the UNODC submission say about peacekeepers, and the Africa chapter about armed groups?"
    ) == [
        "UNODC-submission-SR-TIP-gender-peace-security-2024.txt",
        "GLOTIP2024_Chapter_2.pdf",
    ]
    # Vague, shared or absent: nothing.
    assert sources("What does the report say about recruitment?") == []
    assert sources("What does the hotline data show about minors?") == []
    assert sources("What does the Polaris report say about families?") == []
    assert sources("What does the 2019 hotline report say?") == []
    assert sources("Do the two guides agree on who traffickers are?") == []


def test_each_named_document_is_asked_the_part_of_the_question_that_names_it():
    from assistant.answering.answerability import document_queries
    from assistant.answering.documents_named import DocumentMention

    def asked(units, mentions, documents=("asu", "hotline")):
        return document_queries(documents, units, mentions)

    # One clause per document.
    units = ["Where did it mostly take place in the ASU cases", "which types were reported most to the hotline?"]
    mentions = [[DocumentMention("asu", 34, 47, "the ASU cases")], [DocumentMention("hotline", 34, 45, "the hotline")]]
    assert asked(units, mentions) == {
        "asu": "Where did it mostly take place in",
        "hotline": "which types were reported most to ?",
    }
    # One clause naming both at different places is cut between them.
    unit = "How does the term given to Adele in the case studies compare with the average sentence in the ASU study?"
    cases, asu = unit.index("the case studies"), unit.index("the ASU study")
    found = [DocumentMention("cases", cases, cases + 16, "the case studies"), DocumentMention("asu", asu, asu + 13, "")]
    assert asked([unit], [found], ("cases", "asu")) == {
        "cases": "How does the term given to Adele in",
        "asu": "compare with the average sentence in ?",
    }
    # Named together, both are asked the whole clause, and the clause naming neither goes to the one named
    # only together with the other; kind nouns ("case-study") are not asked of a document.
    units = ["Comparing the ASU study with the hotline data:", "where did it take place in the ASU cases",
             "which case-study types were reported most?"]  # fmt: skip
    mentions = [
        [DocumentMention("asu", 10, 23, "the ASU study"), DocumentMention("hotline", 29, 45, "the hotline data")],
        [DocumentMention("asu", 27, 40, "the ASU cases")],
        [],
    ]
    assert asked(units, mentions) == {
        "asu": "Comparing with : where did it take place in",
        "hotline": "Comparing with : which types were reported most?",
    }
    # A scene-setting statement is asked of each; a question naming no document is not.
    units = ["Sugar-daddy arrangements keep coming up.", "What does UNODC plan?", "What does the guide list"]
    mentions = [[], [], [DocumentMention("guide", 10, 19, "the guide")]]
    assert asked(units, mentions, ("guide",)) == {"guide": "Sugar-daddy arrangements keep coming up. What does list"}
