"""One test per cleaning defect seen in pypdf output, plus the whole chain on small documents."""

from __future__ import annotations

import pytest

from ingest.chunking import Chunker
from ingest.cleaning import (
    clean_pages,
    drop_footnote_markers,
    drop_running_lines,
    join_hyphenated,
    normalize_characters,
    reflow,
)
from ingest.loaders import load_file
from ingest.models import LoadedDocument, Page
from tests.shared_paths import CORPUS, require

# --- characters -------------------------------------------------------------------------------------------


def test_ligatures_become_letters():
    assert (
        normalize_characters("e\ufb03cient \ufb01nance, \ufb02ows and e\ufb00ort")
        == "efficient finance, flows and effort"
    )


def test_soft_hyphens_and_zero_width_characters_disappear():
    assert normalize_characters("traf\u00adficking zero\u200bwidth\ufeff") == "trafficking zerowidth"


def test_soft_hyphen_at_a_line_end_joins_the_word():
    assert normalize_characters("traf\u00ad\nficking") == "trafficking"


def test_odd_spaces_become_plain_spaces():
    assert normalize_characters("Fig.\u2009 67\u00a0per\u2003cent\tnow") == "Fig.  67 per cent now"


def test_symbol_font_bullets_become_bullets():
    assert normalize_characters("Intro\n\x84\x84 Homes\n\uf0b7 Schools") == "Intro\n• Homes\n• Schools"


def test_dot_leaders_are_shortened():
    assert normalize_characters("INTRODUCTION ............ 1") == "INTRODUCTION ... 1"


# --- running headers, footers, page numbers ---------------------------------------------------------------


NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]


def body(n: int, lines: int = 4) -> list[str]:
    """Body lines unique to page ``n`` (they differ in words, not only in numbers)."""
    return [f"{NAMES[n % len(NAMES)].title()} {NAMES[(n + k) % len(NAMES)]} line {k}." for k in range(lines)]


def report_pages(count: int = 6) -> list[str]:
    pages = []
    for n in range(1, count + 1):
        lines = body(n)
        lines.insert(2, "A line repeated in the middle of every page.")
        pages.append(
            "\n".join(["Global Report on Widgets 2024", str(60 + n), *lines, "Confidential - do not distribute"])
        )
    return pages


def test_running_header_footer_and_page_numbers_are_removed():
    cleaned = drop_running_lines(report_pages())
    for n, page in enumerate(cleaned, start=1):
        lines = page.split("\n")
        assert "Global Report on Widgets 2024" not in lines
        assert "Confidential - do not distribute" not in lines
        assert str(60 + n) not in lines
        assert lines[0] == body(n)[0]


def test_line_repeated_away_from_the_edges_is_kept():
    for page in drop_running_lines(report_pages()):
        assert "A line repeated in the middle of every page." in page.split("\n")


def test_line_at_the_top_of_only_one_page_is_kept():
    pages = report_pages()
    pages[0] = "Executive summary\n" + pages[0]
    cleaned = drop_running_lines(pages)
    assert cleaned[0].startswith("Executive summary\n")


def test_headers_alternating_between_facing_pages_are_removed():
    # The odd-page header is on 4 of 12 pages: under 40% of all pages, but on most odd pages.
    pages = []
    for n in range(1, 13):
        header = "Global Report 2024" if n % 2 == 0 else "Chapter 2 - Africa" if n not in (1, 11) else ""
        pages.append("\n".join([header, *body(n)]))
    cleaned = drop_running_lines(pages)
    assert not any("Chapter 2 - Africa" in page or "Global Report 2024" in page for page in cleaned)


def test_line_on_a_few_pages_of_one_parity_is_kept():
    # 3 of 13 pages (half of the even ones, like a templated case heading) is not a running header.
    pages = ["\n".join(body(n)) for n in range(1, 14)]
    for n in (2, 4, 6):
        pages[n - 1] = "Initial charges: one count of conspiracy\n" + pages[n - 1]
    cleaned = drop_running_lines(pages)
    assert all(cleaned[n - 1].startswith("Initial charges") for n in (2, 4, 6))


def test_header_with_the_page_number_glued_to_either_side_is_recognised():
    pages = [
        "\n".join([f"Combating Trafficking  {n}" if n % 2 else f"{n}  Combating Trafficking", *body(n)])
        for n in range(1, 7)
    ]
    assert all("Combating" not in page for page in drop_running_lines(pages))


@pytest.mark.parametrize("number_line", ["12", "Page 12", "page 3 of 9", "- 12 -", "12 | Annual report", "iv"])
def test_bare_page_numbers_at_an_edge_are_removed(number_line):
    pages = ["\n".join([*body(n), number_line]) for n in range(3)]
    cleaned = drop_running_lines(pages)
    assert cleaned == ["\n".join(body(n)) for n in range(3)]


def test_numbers_inside_the_body_are_kept():
    pages = []
    for n in range(4):
        lines = body(n, lines=6)
        lines.insert(3, "12")
        pages.append("\n".join(lines))
    assert drop_running_lines(pages) == pages


def test_short_documents_keep_every_line():
    pages = ["Header\n1\nBody one.", "Header\n2\nBody two."]
    assert drop_running_lines(pages) == pages


# --- hyphenation ------------------------------------------------------------------------------------------


def test_hyphenated_word_is_joined_when_the_document_writes_it_whole():
    pages = ["Human traf-\nficking is a crime.", "Trafficking is reported by trafficking experts."]
    assert join_hyphenated(pages)[0] == "Human trafficking\nis a crime."


def test_hyphen_is_kept_when_the_document_writes_the_compound_on_one_line():
    pages = ["Many were self-\nemployed before.", "The self-employed are at risk."]
    assert join_hyphenated(pages)[0] == "Many were self-employed\nbefore."


def test_unknown_word_is_joined_when_it_continues_in_lower_case():
    assert join_hyphenated(["10 per cent of inter-\nnal water"])[0] == "10 per cent of internal\nwater"


def test_unknown_compound_with_a_capital_keeps_its_hyphen():
    assert join_hyphenated(["a Franco-\nGerman treaty"])[0] == "a Franco-German\ntreaty"


def test_two_words_of_the_document_keep_their_hyphen():
    pages = ["The victim-\noffender was charged.", "Each victim met an offender."]
    assert join_hyphenated(pages)[0] == "The victim-offender\nwas charged."


def test_hyphen_set_after_a_space_is_joined_too():
    pages = ["should not be an endorse -\nment by the office", "no endorsement implied"]
    assert join_hyphenated(pages)[0] == "should not be an endorsement\nby the office"


def test_spaced_dash_between_two_words_stays_a_dash():
    pages = ["Organized Crime - \nassociation of traffickers", "crime and association"]
    assert join_hyphenated(pages)[0] == "Organized Crime - association\nof traffickers"


def test_url_keeps_its_hyphen():
    assert join_hyphenated(["see https://example.org/data-and-\nanalysis/report.pdf"])[0] == (
        "see https://example.org/data-and-analysis/report.pdf"
    )


def test_hyphen_before_a_number_is_kept_and_the_break_removed():
    assert join_hyphenated(["during COVID-\n19 and after"])[0] == "during COVID-19 and after"


def test_hyphen_inside_a_line_is_never_touched():
    text = "A well-known long-distance flow - not a break."
    assert join_hyphenated([text]) == [text]


# --- paragraphs and spaces --------------------------------------------------------------------------------


def test_lines_of_a_paragraph_are_joined_with_single_spaces():
    assert reflow("  The lines  of one\nparagraph   are joined\n") == "The lines of one paragraph are joined"


def test_blank_line_separates_paragraphs_with_exactly_one_blank_line():
    assert reflow("First paragraph\n \n\n\nSecond paragraph") == "First paragraph\n\nSecond paragraph"


def test_short_line_ending_a_sentence_ends_the_paragraph():
    text = (
        "This is a long line of body text that fills the column\n"
        "and this line is just as long as the one before it is\n"
        "short end.\n"
        "A new paragraph starts here with another long line of text\n"
        "and it ends on a long line of the column width as well."
    )
    assert reflow(text).split("\n\n") == [
        "This is a long line of body text that fills the column and this line is just as long as the one"
        " before it is short end.",
        "A new paragraph starts here with another long line of text and it ends on a long line of the"
        " column width as well.",
    ]


def test_abbreviation_at_a_line_end_does_not_end_the_paragraph():
    text = "Cases were reported across the whole of the United States and in the\nU.S.\nterritories too."
    assert "\n" not in reflow(text)


def test_bullets_and_numbered_items_start_paragraphs():
    text = "Risks include:\n• poverty and\ndebt\n- conflict\n1. climate change\n2) displacement"
    assert reflow(text).split("\n\n") == [
        "Risks include:",
        "• poverty and debt",
        "- conflict",
        "1. climate change",
        "2) displacement",
    ]


def test_lines_in_capitals_stand_as_their_own_paragraph():
    text = "Body text of a paragraph that runs on.\nDEFENDANT'S\nBACKGROUND\nAdele grew up in a family."
    assert reflow(text).split("\n\n") == [
        "Body text of a paragraph that runs on.",
        "DEFENDANT'S BACKGROUND",
        "Adele grew up in a family.",
    ]


def test_cleaned_pages_have_no_single_line_breaks_and_no_outer_whitespace():
    pages = clean_pages(["  Title of the page\nBody line one\nbody line two.  \n\n\n  Next part.  \n"])
    assert pages[0] == pages[0].strip()
    assert "\n\n\n" not in pages[0]
    assert "\n" not in pages[0].replace("\n\n", "")


# --- the chain --------------------------------------------------------------------------------------------


def test_clean_pages_fixes_a_small_report():
    raw = [
        "Annual Report 2024\n1\nThe e\ufb03ciency of traf-\nficking networks is discussed.\nFooter text",
        "Annual Report 2024\n2\nHuman trafficking and self-employed workers.\nFooter text",
        "Annual Report 2024\n3\nThe self-\nemployed often work in agri-\nculture.\nFooter text",
    ]
    cleaned = clean_pages(raw)
    assert cleaned == [
        "The efficiency of trafficking networks is discussed.",
        "Human trafficking and self-employed workers.",
        "The self-employed often work in agriculture.",
    ]


def test_clean_pages_keeps_the_page_count_and_blank_pages():
    cleaned = clean_pages(["Text one.", "", "Text three."])
    assert cleaned == ["Text one.", "", "Text three."]


# --- note markers -----------------------------------------------------------------------------------------


def drop_markers(text: str) -> str:
    return drop_footnote_markers([text])[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # one letter after the full stop (GLOTIP's lettered box notes), also inside a closing quote or bracket
        ("through debt bondage.q Key informants", "through debt bondage. Key informants"),
        ("for sexual exploitation in Europe.r", "for sexual exploitation in Europe."),
        ("on informal economies.”a At the same time", "on informal economies.” At the same time"),
        (
            "did not use a smuggler (4 per cent).m UNODC’s research",
            "did not use a smuggler (4 per cent). UNODC’s research",
        ),
        ("In one study,h about seven per cent", "In one study, about seven per cent"),
        # a letter after a number: after a comma, or ending a sentence
        ("at the end of 2023.c As a result", "at the end of 2023. As a result"),
        ("other mineral mines (35).g", "other mineral mines (35)."),
        ("detected in 2016,b to 6 per cent", "detected in 2016, to 6 per cent"),
        # a number after punctuation
        ("public policy advocacy.20 The Committee met.", "public policy advocacy. The Committee met."),
        ("a type of labor trafficking.12 The", "a type of labor trafficking. The"),
        ("Africa is growing,1 with 990 million", "Africa is growing, with 990 million"),
        ("engage them in criminal activities.”29 Smugglers", "engage them in criminal activities.” Smugglers"),
        ("across African sub-regions;114 the Horn", "across African sub-regions; the Horn"),
        # a number glued to an ordinary word
        (
            "the deep decline in traveling sales crews8 and begging",
            "the deep decline in traveling sales crews and begging",
        ),
        ("odds of slavery-related abuse43 than living", "odds of slavery-related abuse than living"),
        ("reported in Mali,68 South Sudan69 and Mozambique.70", "reported in Mali, South Sudan and Mozambique."),
        ("a two-round Delphi study10, and we", "a two-round Delphi study, and we"),
        ("Sex and Labor1 1,005 Other", "Sex and Labor 1,005 Other"),
    ],
)
def test_note_markers_glued_to_words_are_removed(text, expected):
    assert drop_markers(text) == expected


REAL_CONTENT = [
    "art.225 of the Penal Code",
    "Table A.2",
    "section IV.2",
    "Chapter XII.4",
    "Annex B.1",
    "S/RES/2331",
    "COVID-19",
    "G20",
    "G7",
    "H2O",
    "MP3",
    "CO2",
    "SDG16",
    "1,416",
    "$70,045.94",
    "36.7%",
    "e.g.",
    "i.e.",
    "U.S.",
    "a.m.",
    "No.5",
    "Fig. 68",
    "2024",
    "1990s",
    "2.3",
    "21st",
    "3rd",
    "5km",
    "10kg",
    "(a)",
    "under 30.2",
    "28.5 years",
    "Article 3.a of the Protocol",
    "Case ZAF011,",
    "USD300,",
    "A/HRC/41/46/Add.1",
    "https://www.fbi.gov/page2",
    "d3.js",
    "R.sq 0.75",
    "web3",
]


@pytest.mark.parametrize("content", REAL_CONTENT)
def test_numbers_and_letters_that_are_content_stay_byte_identical(content):
    # Alone, followed by a new sentence (where a note would sit) and inside one.
    for text in (content, f"{content} The", f"It is {content} today. See {content}"):
        assert drop_markers(text) == text
        assert clean_pages([text]) == [text]


def test_a_number_glued_to_a_word_throughout_the_document_is_a_name():
    pages = ["During Covid19 many shelters closed.", "After Covid19 they opened again."]
    assert drop_footnote_markers(pages) == pages


def test_two_letter_marks_count_only_in_a_document_with_lettered_notes():
    lettered = " ".join(f"Sentence number {n} ends here.{chr(ord('a') + n)}" for n in range(22))
    text = "to lure victims.ad Some recruitment is done face to face."
    assert drop_footnote_markers([lettered, text])[1] == "to lure victims. Some recruitment is done face to face."
    for alone in (text, "Visit unodc.ng Now"):
        assert drop_markers(alone) == alone


def test_only_the_marker_goes_so_lines_and_spacing_stay():
    text = "victims through debt\nbondage.q   Key informants\n\nfishing crews8\nand"
    assert drop_markers(text) == "victims through debt\nbondage.   Key informants\n\nfishing crews\nand"


def test_a_marker_at_a_line_end_no_longer_hides_the_sentence_end_from_the_paragraph_step():
    raw = (
        "The continent has many large families of smugglers who move people across the desert\n"
        "and the sea, controlling trafficking victims through debt bondage.q\n"
        "Key informants for the research described a long and dangerous journey across the sea\n"
        "from the coast to the islands, where the smugglers wait for the boats to come in again."
    )
    assert clean_pages([raw])[0].split("\n\n") == [
        "The continent has many large families of smugglers who move people across the desert and the sea,"
        " controlling trafficking victims through debt bondage.",
        "Key informants for the research described a long and dangerous journey across the sea from the coast"
        " to the islands, where the smugglers wait for the boats to come in again.",
    ]


def count_words(text: str) -> int:
    return len(text.split())


def assert_chunks_quote_their_pages(doc: LoadedDocument, chunker: Chunker) -> None:
    chunks = chunker.chunk(doc)
    assert chunks
    pages = {page.number: page.text for page in doc.pages}
    for chunk in chunks:
        assert pages[chunk.page_start][chunk.char_start : chunk.char_end] == chunk.text


def test_chunks_of_cleaned_pages_quote_the_page_text_exactly():
    raw = [
        "Annual Report 2024\n1\nMigrants are exploited in debt bondage.q Key informants report abuse.\n"
        "Victims were found in Europe.r Many were recruited online,1 and some by family.\nFooter text",
        "Annual Report 2024\n2\nThe deep decline in traveling sales crews8 and begging continued.\n"
        "Smugglers exploit victims in criminal activities.”29 Others are sold (4 per cent).m\nFooter text",
        "Annual Report 2024\n3\nUnder art.225 of the Penal Code, COVID-19 cases rose to 1,416 (36.7%).\n"
        "In 2023.c The G20 met; e.g. Table A.2 and No.5 list $70,045.94 for the U.S.\nFooter text",
    ]
    cleaned = clean_pages(raw)
    assert "bondage. Key" in cleaned[0] and "Europe. Many" in cleaned[0] and "online, and" in cleaned[0]
    assert "crews and" in cleaned[1] and "activities.” Others" in cleaned[1] and cleaned[1].endswith("cent).")
    assert "art.225 of the Penal Code, COVID-19 cases rose to 1,416 (36.7%)." in cleaned[2]
    assert "2023. The G20 met; e.g. Table A.2 and No.5 list $70,045.94 for the U.S." in cleaned[2]
    doc = LoadedDocument(
        source="report.pdf",
        title="A report",
        sha256="0" * 64,
        pages=tuple(Page(number=n, text=text) for n, text in enumerate(cleaned, start=1)),
        file_type="pdf",
    )
    assert_chunks_quote_their_pages(doc, Chunker(count_words, target_words=8, min_words=2))


GLOTIP = "GLOTIP2024_Chapter_2.pdf"
HOTLINE = "Hotline-Trends-Report-2023.pdf"


@pytest.mark.slow
@pytest.mark.integration
def test_corpus_markers_are_gone_and_chunks_still_quote_their_pages():
    corpus = require(CORPUS)
    glotip, hotline = load_file(corpus / GLOTIP), load_file(corpus / HOTLINE)
    pages = {page.number: page.text for page in glotip.pages}
    # Freed of its marker, the sentence end also ends the paragraph.
    assert "debt bondage.\n\nKey informants" in pages[25] and "bondage.q" not in pages[25]
    assert "in Europe.\n\n" in pages[25] and "Europe.r" not in pages[25]
    assert "lure victims.\n\nSome recruitment" in pages[33] and "victims.ad" not in pages[33]
    assert "in poverty coupled with weak institutional responses expose" in pages[3]
    assert "traveling sales crews and begging" in hotline.pages[3].text
    for doc in (glotip, hotline):
        assert_chunks_quote_their_pages(doc, Chunker(count_words))
