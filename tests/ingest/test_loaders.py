"""Loading files: good PDFs and text files, and every bad file turned into a clear IngestError."""

from __future__ import annotations

import codecs
import hashlib
import logging
import random
import re
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from ingest.errors import IngestError
from ingest.loaders import SUPPORTED_SUFFIXES, load_file
from tests.pdf_factory import make_text_pdf
from tests.shared_paths import CORPUS, require


def reason_for(path: Path) -> str:
    with pytest.raises(IngestError) as caught:
        load_file(path)
    assert caught.value.source == path.name
    return caught.value.reason


# --- good files -------------------------------------------------------------------------------------------


def test_pdf_pages_are_numbered_from_one_and_cleaned(tmp_path):
    path = make_text_pdf(
        tmp_path / "report.pdf",
        ["Trafficking flows\nThe traf-\nficking of  children\nis reported.", "", "Page three."],
    )
    doc = load_file(path)
    assert [page.number for page in doc.pages] == [1, 2, 3]
    assert doc.pages[0].text.endswith("The trafficking of children is reported.")
    assert "\n" not in doc.pages[0].text.replace("\n\n", "")
    assert doc.pages[1].text == ""
    assert doc.file_type == "pdf"
    assert doc.source == "report.pdf"
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_pdf_title_and_year_come_from_metadata(tmp_path):
    path = make_text_pdf(
        tmp_path / "glotip.pdf",
        ["Body text of the report."],
        title="Global Report on Trafficking in Persons",
        creation_date="D:20241210112801+01'00'",
    )
    doc = load_file(path)
    assert doc.title == "Global Report on Trafficking in Persons"
    assert doc.year == 2024


@pytest.mark.parametrize("meta_title", ["Microsoft Word - draft_v3.docx", "untitled", "Report", "report.pdf", ""])
def test_meaningless_metadata_title_gives_way_to_the_first_heading(tmp_path, meta_title):
    body = [
        "The text of the report starts here and goes on for a while in a long line",
        "and it carries on in the next line of the same paragraph, as long as the",
        "first one, to end in a column of text.",
    ]
    pages = [
        "\n".join(["12", "Child Labour in Mining Areas", *body]),
        "\n".join(["13", "Other words fill the second page of the report", "in two lines."]),
        "\n".join(["14", "And the third page has its own words as well", "in two lines too."]),
    ]
    path = make_text_pdf(tmp_path / "x.pdf", pages, title=meta_title)
    assert load_file(path).title == "Child Labour in Mining Areas"


def test_title_falls_back_to_the_file_name(tmp_path):
    path = make_text_pdf(tmp_path / "annual-figures.pdf", ["A sentence of text that is no title at all."])
    doc = load_file(path)
    assert doc.title == "annual-figures"
    assert doc.year is None


def test_text_file_is_one_cleaned_page(tmp_path):
    path = tmp_path / "submission.txt"
    path.write_text("UNODC Submission on Gender\n\nThe  first paragraph\nwraps here.\n\nSecond one.", "utf-8")
    doc = load_file(path)
    assert [page.number for page in doc.pages] == [1]
    assert doc.pages[0].text == "UNODC Submission on Gender\n\nThe first paragraph wraps here.\n\nSecond one."
    assert doc.title == "UNODC Submission on Gender"
    assert (doc.file_type, doc.year) == ("txt", None)


def test_markdown_headings_lose_their_marks(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Field Notes on Recruitment\nSome *text* here.\n## Next Part\nMore.\n", "utf-8")
    doc = load_file(path)
    assert doc.pages[0].text == "Field Notes on Recruitment\n\nSome *text* here.\n\nNext Part\n\nMore."
    assert doc.title == "Field Notes on Recruitment"
    assert doc.file_type == "md"


def test_text_that_is_not_utf8_is_decoded_with_a_warning(tmp_path, caplog):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 \u201cquoted\u201d text.".encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="ingest.loaders"):
        doc = load_file(path)
    assert doc.pages[0].text == "Café “quoted” text."
    assert "not UTF-8; read as" in caplog.text


FRENCH = "Note d’information sur la main-d’œuvre : les victimes ont été identifiées par la police à Lyon en 2023."
RUSSIAN = "Доклад о торговле людьми в 2023 году. Жертвы были выявлены в нескольких регионах страны."
SPANISH = "Informe sobre la trata de personas: víctimas identificadas en Madrid y en Sevilla en 2023."


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (FRENCH, "utf-16"),  # Python writes the byte-order mark
        (FRENCH, "utf-8-sig"),
        (SPANISH, "utf-32"),
        (FRENCH, "cp1252"),  # no mark: the detector's cleanest decodings, told apart by their words
        (RUSSIAN, "cp1251"),
    ],
)
def test_a_text_file_is_read_in_its_own_encoding(tmp_path, text, encoding):
    path = tmp_path / "note.txt"
    path.write_bytes(text.encode(encoding))
    assert load_file(path).pages[0].text == text


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (bytes(range(256)) * 8, "binary data"),  # NUL bytes
        (bytes((i * 37 + 11) % 255 + 1 for i in range(4000)), "not a text file"),  # no NUL, still not text
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "starts like utf-16 but is not"),  # a lone surrogate
    ],
)
def test_binary_data_is_not_a_text_file(tmp_path, data, detail):
    path = tmp_path / "data.txt"
    path.write_bytes(data)
    reason = reason_for(path)
    assert reason.startswith("not a text file") and detail in reason and "save it as UTF-8" in reason


def test_pypdf_warnings_are_silenced_while_loading_and_the_level_restored(tmp_path, caplog):
    path = make_text_pdf(tmp_path / "sloppy.pdf", ["Some text."])
    # A wrong cross-reference pointer: pypdf recovers, with warnings.
    path.write_bytes(re.sub(rb"startxref\n\d+", b"startxref\n12", path.read_bytes()))
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="pypdf"):
            assert load_file(path).pages[0].text == "Some text."
        assert not [r for r in caplog.records if r.name.startswith("pypdf")]
        assert pypdf_logger.level == logging.DEBUG
    finally:
        pypdf_logger.setLevel(logging.NOTSET)


def test_supported_suffixes():
    assert set(SUPPORTED_SUFFIXES) == {".pdf", ".txt", ".md", ".docx", ".html", ".htm"}


# --- bad files --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("slides.pptx", "slides are not supported: save them as PDF"),
        ("draft.doc", "this word-processor format is not supported: save it as .docx or PDF"),
        ("notes.xyz", ".xyz files are not supported: save it as PDF, .txt or .md"),
        ("README", "files without an extension are not supported: save it as PDF, .txt or .md"),
    ],
)
def test_unsupported_file_type(tmp_path, name, reason):
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 something")
    assert reason_for(path) == reason


def test_a_docx_that_is_not_a_word_file_is_named_damaged(tmp_path):
    path = tmp_path / "draft.docx"
    path.write_bytes(b"PK\x03\x04 not really a docx")
    assert reason_for(path).startswith("damaged or not a real Word file")


@pytest.mark.parametrize("name", ["empty.pdf", "empty.txt", "empty.md"])
def test_zero_byte_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    assert "empty file" in reason_for(path)


def test_text_file_without_any_text(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\t \n", "utf-8")
    assert "empty file" in reason_for(path)


def test_random_bytes_named_pdf_are_a_damaged_pdf(tmp_path):
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(random.Random(0).randbytes(4096))
    reason = reason_for(path)
    assert "damaged or not a real PDF" in reason and "export it again" in reason


def test_truncated_pdf_is_reported_not_raised(tmp_path):
    data = make_text_pdf(tmp_path / "whole.pdf", ["Some text on a page.", "More text."]).read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    assert reason_for(path)  # an IngestError with a reason, whatever pypdf made of it


def test_encrypted_pdf_needs_its_password_removed(tmp_path):
    source = make_text_pdf(tmp_path / "plain.pdf", ["Confidential text."])
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt("secret", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    writer.write(path)
    assert reason_for(path) == "encrypted PDF: remove the password and add it again"


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_encrypted_with_an_empty_password_opens(tmp_path, algorithm):
    source = make_text_pdf(tmp_path / "plain.pdf", ["Readable text."])
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt("", owner_password="owner", algorithm=algorithm)  # copy-protected, opens without a password
    path = tmp_path / "restricted.pdf"
    writer.write(path)
    assert load_file(path).pages[0].text == "Readable text."


def test_pdf_with_a_real_aes_password_says_so(tmp_path):
    source = make_text_pdf(tmp_path / "plain.pdf", ["Confidential text."])
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt("secret", algorithm="AES-256")
    path = tmp_path / "locked.pdf"
    writer.write(path)
    assert reason_for(path) == "encrypted PDF: remove the password and add it again"


def test_missing_file_is_reported(tmp_path):
    assert "cannot read the file" in reason_for(tmp_path / "gone.pdf")


# --- the shared corpus ------------------------------------------------------------------------------------

LIGATURES = re.compile("[\ufb00-\ufb06]")
# A word broken at a line end that survived: "traf- ficking", "inter- nal".
BROKEN_WORD = re.compile(r"\b[a-z]{2,}- [a-z]{2,}\b")


@pytest.fixture(scope="module")
def corpus_documents():
    paths = sorted(p for p in require(CORPUS).iterdir() if p.suffix.lower() == ".pdf")
    return {path.name: load_file(path) for path in paths}


@pytest.mark.slow
def test_corpus_pdfs_load_with_sequential_pages(corpus_documents):
    assert len(corpus_documents) >= 9
    for name, doc in corpus_documents.items():
        assert [page.number for page in doc.pages] == list(range(1, doc.page_count + 1)), name
        assert sum(len(page.text) for page in doc.pages) > 1000, name


@pytest.mark.slow
def test_corpus_has_no_ligatures_left(corpus_documents):
    for name, doc in corpus_documents.items():
        assert not [page.number for page in doc.pages if LIGATURES.search(page.text)], name


@pytest.mark.slow
def test_corpus_words_broken_at_line_ends_are_rare(corpus_documents):
    words = sum(len(page.text.split()) for doc in corpus_documents.values() for page in doc.pages)
    broken = [m.group() for doc in corpus_documents.values() for p in doc.pages for m in BROKEN_WORD.finditer(p.text)]
    # The few left are in the PDFs' own lines ("frame- work"), or suspended hyphens ("low- and middle-income").
    assert len(broken) <= words / 5_000, broken
    in_prose = re.compile(r"(?<![/\w-])traf- ficking")  # one is left inside a URL of GLOTIP's endnotes
    assert not any(in_prose.search(p.text) for doc in corpus_documents.values() for p in doc.pages)


@pytest.mark.slow
def test_glotip_running_headers_are_gone_from_most_pages(corpus_documents):
    doc = corpus_documents["GLOTIP2024_Chapter_2.pdf"]
    for header in ("Global Report on Trafficking in Persons 2024", "II — Trafficking in persons in and from Africa"):
        pages_with_header = [page.number for page in doc.pages if header in page.text]
        assert len(pages_with_header) <= doc.page_count // 10, (header, pages_with_header)
    starting_with_number = [page.number for page in doc.pages if re.match(r"\d{2,3}\n", page.text)]
    assert not starting_with_number


def test_text_without_metadata_is_dated_by_a_year_near_its_top(tmp_path):
    path = tmp_path / "submission.txt"
    path.write_text("UNODC Submission\n\nJune 2024\n\nIn 2019 the programme began.", encoding="utf-8")
    assert load_file(path).year == 2024
    undated = tmp_path / "notes.txt"
    undated.write_text("Field notes without any date at all.", encoding="utf-8")
    assert load_file(undated).year is None
