"""PDFs beyond a plain text layer: filled-in forms, comments, scanned pages (OCR) and text layers that are
not language. The fixtures are made here: pages drawn with Pillow and saved as image-only PDFs, forms and
comments added with pypdf."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

from ingest import ocr, pdf
from ingest.errors import IngestError
from ingest.loaders import load_file
from tests.pdf_factory import make_text_pdf

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")

SCANNED_LINES = [
    "Field report on trafficking in Mwanza",
    "",
    "In 2023 the Mwanza office received 96 referrals",
    "of trafficking victims from the fishing sector.",
]


def make_scanned_pdf(path: Path, lines: list[str]) -> Path:
    """A page image of ``lines`` (dark text on white, as a scanner gives it) saved as a PDF with no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for n, line in enumerate(lines):
        draw.text((150, 200 + 60 * n), line, fill=0, font=font)
    image.save(path, resolution=200)
    return path


def reason_for(path: Path) -> str:
    with pytest.raises(IngestError) as caught:
        load_file(path)
    return caught.value.reason


@pytest.fixture
def no_tesseract(monkeypatch):
    """As on a machine without Tesseract."""
    monkeypatch.setattr(ocr, "tesseract_languages", lambda: None)
    monkeypatch.setattr("ingest.loaders.tesseract_languages", lambda: None)


# ----- scans ----------------------------------------------------------------------------------------------
@needs_tesseract
def test_a_scanned_page_is_read_by_ocr_and_the_document_says_so(tmp_path):
    document = load_file(make_scanned_pdf(tmp_path / "scan.pdf", SCANNED_LINES))
    assert document.ocr_pages == (1,)
    text = document.pages[0].text
    assert "In 2023 the Mwanza office received 96 referrals of trafficking victims" in text


def test_without_tesseract_a_scan_names_what_to_install(tmp_path, no_tesseract):
    reason = reason_for(make_scanned_pdf(tmp_path / "scan.pdf", SCANNED_LINES))
    assert reason.startswith("scanned PDF with no text layer: install Tesseract")
    assert "apt-get install tesseract-ocr tesseract-ocr-eng" in reason


@needs_tesseract
def test_a_blank_page_is_not_sent_to_ocr(tmp_path, monkeypatch):
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    path = tmp_path / "blank.pdf"
    writer.write(path)
    monkeypatch.setattr(ocr, "read_pages", lambda *a: pytest.fail("a blank page was sent to OCR"))
    assert reason_for(path) == "empty file (no text in it): check that it is the right file"


def test_a_blank_pdf_without_tesseract_asks_for_it(tmp_path, no_tesseract):
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    path = tmp_path / "blank.pdf"
    writer.write(path)
    assert reason_for(path).startswith("scanned PDF with no text layer: install Tesseract")


# ----- text layers that are not language ----------------------------------------------------------------
# What a font without a Unicode map extracts: letters, but no words of any language.
GARBLED = "7UDIILFNLQJ LQ SHUVRQV ZDV GHWHFWHG LQ 141 FRXQWULHV DQG WHUULWRULHV FRYHUHG E\\ WKH UHSRUW LQ 2022 ZLWK"


def test_a_text_layer_that_is_not_language_is_not_stored(tmp_path, no_tesseract):
    path = make_text_pdf(tmp_path / "mixed.pdf", ["Victims were detected in 141 countries and territories.", GARBLED])
    document = load_file(path)
    assert document.pages[0].text == "Victims were detected in 141 countries and territories."
    assert document.pages[1].text == ""  # not "7UDIILFNLQJ …"


def test_a_document_whose_only_text_is_garbled_is_refused(tmp_path, no_tesseract):
    reason = reason_for(make_text_pdf(tmp_path / "garbled.pdf", [GARBLED, GARBLED]))
    assert reason.startswith("no readable text: its text layer is not language") and "install Tesseract" in reason


@needs_tesseract
def test_ocr_of_a_garbled_page_that_reads_as_garbled_is_refused(tmp_path):
    assert reason_for(make_text_pdf(tmp_path / "garbled.pdf", [GARBLED])) == pdf.NO_READABLE_TEXT


# ----- forms and comments ---------------------------------------------------------------------------------
FORM_LINES = ["Referral form", "Number of victims referred:", "Referring agency:"]


def make_filled_form(path: Path, values: dict[str, tuple[str, int]], comment: str = "") -> Path:
    """The form page of ``FORM_LINES`` with a text field right of each label line (``values``: field name →
    (typed value, line index)), and a comment annotation when given."""
    source = make_text_pdf(path.with_suffix(".blank.pdf"), ["\n".join(FORM_LINES)])
    writer = PdfWriter(clone_from=PdfReader(source))
    page = writer.pages[0]
    fields, annotations = ArrayObject(), ArrayObject()
    for name, (value, line) in values.items():
        baseline = 792 - 60 - 13 * line  # pdf_factory: 10 pt text from y = 732, 13 pt leading
        widget = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject(name),
            NameObject("/V"): TextStringObject(value),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (260, baseline - 3, 420, baseline + 10)]),
        })  # fmt: skip
        reference = writer._add_object(widget)
        fields.append(reference)
        annotations.append(reference)
    if comment:
        note = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Text"),
            NameObject("/Contents"): TextStringObject(comment),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (500, 700, 520, 720)]),
        })  # fmt: skip
        annotations.append(writer._add_object(note))
    page[NameObject("/Annots")] = annotations
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): fields})
    writer.write(path)
    return path


def test_typed_form_values_are_read_with_their_printed_labels_and_comments(tmp_path):
    path = make_filled_form(
        tmp_path / "form.pdf",
        {"q7_victims": ("14", 1), "q8_agency": ("Mwanza labour office", 2)},
        comment="Figures checked against the case files in March 2024.",
    )
    paragraphs = load_file(path).pages[0].text.split("\n\n")
    assert "Number of victims referred: 14" in paragraphs
    assert "Referring agency: Mwanza labour office" in paragraphs
    assert "Comment: Figures checked against the case files in March 2024." in paragraphs


def test_an_empty_field_adds_nothing(tmp_path):
    path = make_filled_form(tmp_path / "form.pdf", {"q7_victims": ("", 1)})
    assert load_file(path).pages[0].text.split("\n\n")[-1] != "Number of victims referred:"


# ----- tables of figures ----------------------------------------------------------------------------------
TOWNS = [
    ("Mwanza", 22, 77), ("Dodoma", 113, 107), ("Arusha", 102, 13), ("Mbeya", 37, 20), ("Morogoro", 68, 102),
    ("Tanga", 62, 65), ("Kigoma", 88, 53), ("Tabora", 105, 31), ("Iringa", 17, 67), ("Singida", 8, 119),
]  # fmt: skip


def make_table_pdf(path: Path) -> Path:
    """A page with a title, a header line and ten rows of figures in columns, then a source line."""
    header = f"{'Town':<24}Referrals in 2022    Referrals in 2023"
    lines = ["Referrals of trafficking victims by town", "", header]
    lines += [f"{town:<24}{a:>17}    {b:>17}" for town, a, b in TOWNS]
    lines += ["", "Source: ministry case records, 2024. Figures are provisional and may be revised."]
    return make_text_pdf(path, ["\n".join(lines)])


def test_a_table_of_figures_becomes_rows_with_their_headers(tmp_path):
    text = load_file(make_table_pdf(tmp_path / "referrals.pdf")).pages[0].text
    paragraphs = text.split("\n\n")
    assert "Town: Dodoma | Referrals in 2022: 113 | Referrals in 2023: 107" in paragraphs
    assert sum(p.startswith("Town: ") for p in paragraphs) == len(TOWNS)  # every row, once
    assert paragraphs[0].startswith("Referrals of trafficking victims by town")  # the title, with the header line
    assert paragraphs[-1].startswith("Source: ministry case records")


def test_prose_with_a_few_figures_is_left_as_it_is(tmp_path):
    prose = (
        "In 2023 the Mwanza office received 96 referrals, 41 more than in 2022, and the Dodoma office 12.\n"
        "Most victims were recruited by brokers who promised work on fishing boats and withheld wages."
    )
    assert load_file(make_text_pdf(tmp_path / "note.pdf", [prose])).pages[0].text == " ".join(prose.split("\n"))
