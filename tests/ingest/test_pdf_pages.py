"""Finding a quote of a page's stored (cleaned) text on the PDF page, and rendering the page: on PDFs written
by tests/pdf_factory.py, and on every PDF of the shared corpus. The boxes found are read back with PDFium's
``get_text_bounded``: what they cover must be the quoted words."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from ingest.loaders import load_file
from ingest.pdf_pages import Box, PageOutOfRange, folded, locate, page_count, quote_boxes, render_page
from tests.pdf_factory import make_text_pdf
from tests.shared_paths import CORPUS, require


def boxed_text(path: Path, number: int, boxes: list[Box]) -> list[str]:
    """The text PDFium finds inside each box, the boxes turned back from percentages into page coordinates."""
    document = pdfium.PdfDocument(str(path))
    try:
        page = document[number - 1]
        text = page.get_textpage()
        left, bottom, right, top = page.get_cropbox()
        width, height = right - left, top - bottom
        return [
            text.get_text_bounded(
                left + b.left * width / 100,
                top - (b.top + b.height) * height / 100,
                left + (b.left + b.width) * width / 100,
                top - b.top * height / 100,
            )
            for b in boxes
        ]
    finally:
        document.close()


def words(text: str) -> list[str]:
    return [folded(w)[0] for w in re.findall(r"[^\W_]{4,}", text)]


# ----- locate: the quote among a page's characters ---------------------------------------------------------
def test_an_exact_quote_is_one_range_over_the_original_characters():
    chars = "Header\r\nThe ﬁeld ofﬁce re-\r\nceived 96 referrals.\r\nNext line"
    (start, end), *more = locate(chars, "The field office received 96 referrals.")
    assert not more
    assert chars[start:end] == "The ﬁeld ofﬁce re-\r\nceived 96 referrals"  # ligatures, hyphen, line break


def test_a_quote_the_cleaning_changed_is_found_in_runs_around_what_it_left_out():
    # The stored text lost the note number "48" and the running header between the two lines.
    chars = "more than 40 million.48 In the same year, the UN\r\nGlobal Report 2024\r\nHigh Commissioner estimated"
    ranges = locate(chars, "more than 40 million. In the same year, the UN High Commissioner estimated")
    covered = "".join(chars[s:e] for s, e in ranges)
    assert ranges[0][0] == 0 and chars[: ranges[-1][1]].endswith("estimated")
    assert "Global Report" not in covered  # a header is too long a gap to bridge


def test_accents_and_case_do_not_matter():
    chars = "VICTIMES IDENTIFIÉES EN 2023"
    assert locate(chars, "victimes identifiees en 2023") == [(0, len(chars))]


def test_of_several_exact_occurrences_the_one_nearest_the_quote_s_place_is_taken():
    chars = "87 victims. " + "x" * 200 + " 87 victims."
    assert locate(chars, "87 victims.", near=0.0)[0][0] == 0
    assert locate(chars, "87 victims.", near=0.95)[0][0] == chars.rindex("87")


def test_a_quote_not_on_the_page_is_not_located():
    assert locate("Shelters received survivors in Blantyre.", "Penguins guard the borders of Antarctica.") == []
    assert locate("", "anything") == [] and locate("anything", " … ") == []


# ----- on a PDF written for the test ----------------------------------------------------------------------
PAGES = [
    "Annual Report 2023\nOverview of the year and of the work of the office.\n1",
    "Annual Report 2023\n"
    "The field office in Mwanza received 96 referrals of traf-\n"
    "ficking victims from the fishing sector during the year.\n"
    "Staff were trained on interviewing survivors.\n2",
    "Annual Report 2023\nAnnex: methods and sources of the figures.\n3",
]


@pytest.fixture
def report(tmp_path) -> Path:
    return make_text_pdf(tmp_path / "report.pdf", PAGES)


def test_a_quote_over_two_lines_gets_a_box_on_each_covering_its_words(report):
    stored = load_file(report).pages[1].text  # cleaned: header and page number gone, "trafficking" joined
    quote = "received 96 referrals of trafficking victims from the fishing sector"
    assert quote in stored and "Annual Report" not in stored

    boxes = quote_boxes(report, 2, quote, stored.index(quote) / len(stored))
    assert len(boxes) == 2
    first, second = boxed_text(report, 2, boxes)
    assert "received 96 referrals of traf" in first and "Mwanza" not in first
    assert "ficking victims from the fishing sector" in second and "during" not in second
    assert boxes[0].top < boxes[1].top  # top-left origin: the first line is higher on the page
    assert all(0 <= b.left < b.left + b.width <= 100 and 0 <= b.top < b.top + b.height <= 100 for b in boxes)
    assert 9 < boxes[1].left < 11  # the text starts 60 points into a 612-point page


def test_a_quote_from_another_page_has_no_boxes(report):
    assert quote_boxes(report, 1, "Staff were trained on interviewing survivors.") == []


def test_the_page_renders_to_a_png_of_the_page_s_proportions(report):
    image = render_page(report, 2)
    assert image.png.startswith(b"\x89PNG") and (image.width, image.height) == (918, 1188)
    assert page_count(report) == 3
    with pytest.raises(PageOutOfRange):
        render_page(report, 4)
    with pytest.raises(PageOutOfRange):
        quote_boxes(report, 0, "anything")


def test_a_file_replaced_in_place_is_read_again(report, tmp_path):
    assert quote_boxes(report, 2, "Staff were trained on interviewing survivors.")
    make_text_pdf(report, ["Another document altogether, one line long."])
    assert page_count(report) == 1
    assert quote_boxes(report, 1, "Another document altogether")


# ----- on the shared corpus -------------------------------------------------------------------------------
SENTENCE = re.compile(r"[A-Z][^.!?\n]{60,280}[.!?]")


def corpus_pdfs() -> list[Path]:
    return sorted(CORPUS.glob("*.pdf")) if CORPUS.exists() else []


@pytest.mark.slow  # reads every PDF of the corpus with pypdf, as an ingest does (25 s on two cores)
@pytest.mark.integration
@pytest.mark.parametrize("path", corpus_pdfs() or [CORPUS / "missing.pdf"], ids=lambda p: p.name[:30])
def test_sentences_of_the_stored_pages_are_boxed_on_the_real_pages(path):
    """The first, middle and last sentence of every page: nearly all are found, and what their boxes cover
    is their words (a few labels of charts, set at angles, are allowed to come out less well)."""
    require(path)
    tried, unboxed, badly_boxed = 0, [], []
    for page in load_file(path).pages:
        found = list(SENTENCE.finditer(page.text))
        for sentence in {id(m): m for m in found[:1] + found[len(found) // 2 :][:1] + found[-1:]}.values():
            tried += 1
            quote = sentence.group()
            boxes = quote_boxes(path, page.number, quote, sentence.start() / len(page.text))
            if not boxes:
                unboxed.append((page.number, quote))
                continue
            covered = folded("".join(boxed_text(path, page.number, boxes)))[0]
            if sum(w not in covered for w in words(quote)) > len(words(quote)) // 10:
                badly_boxed.append((page.number, quote))
    assert tried >= 5
    assert len(unboxed) <= 0.05 * tried, unboxed
    assert len(badly_boxed) <= 0.1 * (tried - len(unboxed)), badly_boxed
