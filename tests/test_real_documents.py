"""Documents as people send them, ingested into a real library and asked about: files of the same name in
different folders, files of other kinds in a folder, text files in other encodings, binary data named .txt.
Every fixture is made here, small, for the purpose."""

from __future__ import annotations

import pytest

from assistant.service import Assistant, DocumentNotFound
from assistant.settings import Settings
from ingest.pipeline import FileStatus

pytestmark = pytest.mark.integration

REPORT_2022 = "Annual referral report. In 2022 the Mwanza office received 41 referrals of trafficking victims."
REPORT_2023 = "Annual referral report. In 2023 the Mwanza office received 96 referrals of trafficking victims."


@pytest.fixture
def library(tmp_path, embedder):
    return Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)


def test_files_of_one_name_in_two_folders_are_two_documents(library, tmp_path):
    docs = tmp_path / "reports"
    for year, text in (("2022", REPORT_2022), ("2023", REPORT_2023)):
        (docs / year).mkdir(parents=True)
        (docs / year / "report.txt").write_text(text, encoding="utf-8")

    report = library.ingest([docs])
    assert report.summary() == "2 added"
    assert sorted(d.source for d in library.documents()) == ["2022/report.txt", "2023/report.txt"]
    assert library.ingest([docs]).summary() == "2 unchanged"  # and again: nothing replaced the other

    answer = library.ask("How many referrals did the Mwanza office receive in 2022?")
    assert "41" in answer.text and "96" not in answer.text
    assert answer.citations[0].source == "2022/report.txt"

    # a bare file name that two documents share asks for the path; the path finds one
    with pytest.raises(DocumentNotFound, match="2022/report.txt, 2023/report.txt"):
        library.find_document("report.txt")
    assert library.find_document("2023/report.txt").source == "2023/report.txt"


def test_a_copy_under_another_path_is_reported_once_as_a_duplicate(library, tmp_path):
    docs = tmp_path / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "b").mkdir()
    (docs / "a" / "report.txt").write_text(REPORT_2022, encoding="utf-8")
    (docs / "b" / "report-copy.txt").write_text(REPORT_2022, encoding="utf-8")
    outcomes = {o.source: o for o in library.ingest([docs]).outcomes}
    assert outcomes["a/report.txt"].status is FileStatus.ADDED
    assert outcomes["b/report-copy.txt"].status is FileStatus.DUPLICATE
    assert "a/report.txt" in outcomes["b/report-copy.txt"].message


def test_files_of_other_kinds_in_a_folder_are_listed_as_skipped_with_what_to_do(library, tmp_path):
    docs = tmp_path / "submission"
    docs.mkdir()
    (docs / "brief.txt").write_text(REPORT_2023, encoding="utf-8")
    (docs / "slides.pptx").write_bytes(b"PK\x03\x04 not really slides")
    (docs / "figures.xlsx").write_bytes(b"PK\x03\x04 not really a sheet")
    (docs / "data.bin").write_bytes(b"\x00\x01")
    (docs / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (docs / "~$brief.docx").write_bytes(b"lock")

    report = library.ingest([docs])
    outcomes = {o.source: o for o in report.outcomes}
    assert set(outcomes) == {"brief.txt", "slides.pptx", "figures.xlsx", "data.bin"}  # hidden and lock files: silent
    assert outcomes["slides.pptx"].status is FileStatus.SKIPPED
    assert outcomes["slides.pptx"].message == "slides are not supported: save them as PDF"
    assert "spreadsheets" in outcomes["figures.xlsx"].message
    assert outcomes["data.bin"].message == ".bin files are not supported: save it as PDF, .txt or .md"
    assert report.summary() == "1 added, 3 skipped" and report.ok
    assert [d.source for d in library.documents()] == ["brief.txt"]


def test_text_in_legacy_encodings_is_answered_and_binary_data_is_never_stored(library, tmp_path):
    docs = tmp_path / "notes"
    docs.mkdir()
    french = "Note d’information. En 2023, la brigade de Lyon a identifié 37 victimes de traite des êtres humains."
    (docs / "note-utf16.txt").write_bytes(french.encode("utf-16"))
    russian = "Доклад. В 2023 году в Казани были выявлены 12 жертв торговли людьми и оказана помощь."
    (docs / "doklad.txt").write_bytes(russian.encode("cp1251"))
    (docs / "dump.txt").write_bytes(bytes(range(256)) * 4)

    outcomes = {o.source: o for o in library.ingest([docs]).outcomes}
    assert outcomes["dump.txt"].status is FileStatus.FAILED
    assert outcomes["dump.txt"].message.startswith("not a text file")
    assert {d.source: d.language for d in library.documents()} == {"doklad.txt": "ru", "note-utf16.txt": "fr"}

    answer = library.ask("Combien de victimes la brigade de Lyon a-t-elle identifiées en 2023 ?")
    assert "37" in answer.text and "êtres humains" in answer.citations[0].quote
    doklad = library.find_document("doklad.txt")
    assert library.store.page_text(doklad.doc_id, 1) == russian  # stored as written, not as "Äîêëàä"


# ----- Word files, web pages and tables ---------------------------------------------------------------------
SUBMISSION_BLOCKS = [
    ("h1", "Submission on trafficking in the fishing sector"),
    ("p", "This submission describes trafficking on the fishing boats of Lake Victoria."),
    ("h2", "Referrals"),
    ("p", "Labour inspectors referred most of the victims to the Mwanza office."),
    ("li", "Victims were recruited through brokers in Dodoma."),
    ("li", "Wages were withheld for up to eight months."),
    ("table", [["Town", "Referrals in 2023"], ["Mwanza", "96"], ["Dodoma", "12"]]),
    ("h2", "Shelters"),
    ("p", "The Kisumu shelter took in 31 survivors in 2023."),
]


def test_a_word_file_is_read_by_section_with_lists_tables_and_footnotes(tmp_path):
    from ingest.loaders import load_file
    from tests.docx_factory import make_docx

    # no title in its properties: the first heading, and never a table row
    untitled = load_file(make_docx(tmp_path / "untitled.docx", [("h1", "Referral report"), *SUBMISSION_BLOCKS[5:]]))
    assert untitled.title == "Referral report"
    one_word = load_file(make_docx(tmp_path / "referrals.docx", [("h1", "Referrals"), *SUBMISSION_BLOCKS[5:]]))
    assert one_word.title == "referrals"  # too short to be taken for a title: the file name
    path = make_docx(tmp_path / "submission.docx", SUBMISSION_BLOCKS, title="Fishing sector submission",
                     footnotes=["Source: records of the Mwanza labour office, 2023."])  # fmt: skip
    document = load_file(path)
    assert document.title == "Fishing sector submission" and document.file_type == "docx"
    first, referrals, shelters, notes = (page.text for page in document.pages)
    assert first.startswith("Submission on trafficking in the fishing sector\n\nThis submission describes")
    assert referrals.split("\n\n") == [
        "Submission on trafficking in the fishing sector › Referrals",
        "Labour inspectors referred most of the victims to the Mwanza office.",
        "• Victims were recruited through brokers in Dodoma.",
        "• Wages were withheld for up to eight months.",
        "Town | Referrals in 2023",  # the header row as printed, then each row with its headers
        "Town: Mwanza | Referrals in 2023: 96",
        "Town: Dodoma | Referrals in 2023: 12",
    ]
    assert shelters.endswith("The Kisumu shelter took in 31 survivors in 2023.")
    assert notes == "Notes\n\nNote 1: Source: records of the Mwanza labour office, 2023."


def test_a_web_page_keeps_its_main_text_and_drops_navigation_and_footer(tmp_path):
    from ingest.loaders import load_file

    page = tmp_path / "report.html"
    page.write_text(WEB_PAGE, encoding="utf-8")
    document = load_file(page)
    text = "\n\n".join(p.text for p in document.pages)
    assert document.title == "Annual trafficking report" and document.file_type == "html"
    assert "Town: Mwanza | Referrals in 2023: 96" in text and "• Wages were withheld" in text
    assert "Cookie" not in text and "Contact us" not in text


WEB_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Annual trafficking report | Ministry</title>
</head><body><nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/contact">Contact us</a></nav>
<main><h1>Annual trafficking report</h1>
<p>In 2023 labour inspectors referred most victims of trafficking to the Mwanza office of the ministry.</p>
<h2>Referrals by town</h2><p>The referral figures below come from the ministry's case records for 2023.</p>
<ul><li>Victims were recruited through brokers.</li><li>Wages were withheld for months.</li></ul>
<table><tr><th>Town</th><th>Referrals in 2023</th></tr><tr><td>Mwanza</td><td>96</td></tr>
<tr><td>Dodoma</td><td>12</td></tr></table></main>
<footer>Copyright 2024 Ministry of Labour. Cookie policy. Privacy.</footer></body></html>"""

MARKDOWN_TABLE = """# Referrals in 2023

The table below lists the referrals each office received in 2023.

| Town | Referrals in 2023 | Shelter places |
|:-----|------------------:|---------------:|
| Mwanza | 96 | 40 |
| Dodoma | 12 | 8 |
| Arusha | 57 | 22 |
"""


@pytest.mark.parametrize("kind", ["docx", "html", "md", "pdf"])
def test_a_table_row_is_answered_with_its_header_and_cited_by_section(library, tmp_path, kind):
    from tests.docx_factory import make_docx
    from tests.ingest.test_pdf import make_table_pdf

    docs = tmp_path / "docs"
    docs.mkdir()
    row = "Town: Dodoma | Referrals in 2023: 12"
    if kind == "docx":
        make_docx(docs / "submission.docx", SUBMISSION_BLOCKS)
    elif kind == "html":
        (docs / "report.html").write_text(WEB_PAGE, encoding="utf-8")
    elif kind == "md":
        (docs / "referrals.md").write_text(MARKDOWN_TABLE, encoding="utf-8")
    else:
        make_table_pdf(docs / "referrals.pdf")
        row = "Town: Dodoma | Referrals in 2022: 113 | Referrals in 2023: 107"
    assert library.ingest([docs]).summary() == "1 added"

    answer = library.ask("How many referrals did Dodoma receive in 2023?")
    assert not answer.refused
    cited = answer.citations[0]
    assert row in cited.quote  # the row, with its headers
    assert "|---" not in answer.text and "Mwanza" not in cited.quote
    page = library.store.page_text(cited.doc_id, cited.page)
    assert page[cited.start : cited.end] == cited.quote
    assert cited.location == ("p. 1" if kind in ("md", "pdf") else f"section {cited.page}")


@pytest.mark.parametrize("content", [b"\x00\x01 not a page", b"<html><body><nav>Home | About</nav></body></html>"])
def test_a_web_page_without_main_text_is_refused_with_what_to_do(tmp_path, content):
    from ingest.errors import IngestError
    from ingest.loaders import load_file

    page = tmp_path / "page.html"
    page.write_bytes(content)
    with pytest.raises(IngestError, match="no main text found in this web page: save the page as PDF"):
        load_file(page)



def test_a_table_is_searched_by_its_cells_and_its_column_names_count_once(library, tmp_path):
    from ingest.structured import searchable_text

    row = "Town: Dodoma | Referrals in 2023: 12"
    assert searchable_text(f"Referrals by town\n\nTown | Referrals in 2023\n\n{row}") == (
        "Referrals by town\n\nTown | Referrals in 2023\n\nDodoma | 12"
    )
    assert searchable_text("Note: figures are provisional.") == "Note: figures are provisional."  # prose as is

    docs = tmp_path / "docs"
    docs.mkdir()
    towns = ["Mwanza", "Dodoma", "Arusha", "Mbeya", "Morogoro", "Tanga", "Kigoma", "Tabora", "Iringa", "Singida",
             "Musoma", "Songea", "Shinyanga", "Bukoba", "Lindi", "Mtwara"]  # fmt: skip
    header = "| Town | Child victims of labour trafficking identified in 2023 | Adult victims identified in 2023 |"
    rows = "\n".join(f"| {town} | {n * 3} | {n * 7} |" for n, town in enumerate(towns, 1))
    (docs / "annex.md").write_text(f"# Annex tables\n\n{header}\n|---|---:|---:|\n{rows}\n", encoding="utf-8")
    assert library.ingest([docs]).summary() == "1 added"
    answer = library.ask("How many child victims of labour trafficking were identified in Kigoma in 2023?")
    assert answer.sentences[0].text == (
        "Town: Kigoma | Child victims of labour trafficking identified in 2023: 21 | "
        "Adult victims identified in 2023: 49"
    )  # the row with its headers; the header row alone is never an answer
