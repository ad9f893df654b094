"""Reading PDF pages that have no usable text layer: rendered with pypdfium2, read with Tesseract.

A page is read by OCR when its text layer is empty but it shows an image (a scan; a blank page or a page of
drawn lines is left alone), or when its text layer is not language (a font without a Unicode map extracts
"7UDIILFNLQJ" for "Trafficking", while the rendered glyphs are right). Tesseract is a system program
(Debian: ``apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra tesseract-ocr-spa``); without it
those pages stay empty and the loader says what to install. Pages are rendered at ``OCR_DPI`` and read in
the installed ones of English, French and Spanish together, one Tesseract thread (about 3 s for a dense page
here; ``bench/ocr_bench.py``).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from ingest.pdf_pages import PDFIUM_LOCK

log = logging.getLogger(__name__)

OCR_DPI = 300
OCR_LANGUAGES = ("eng", "fra", "spa")
INSTALL_HINT = (
    "install Tesseract to read it (Debian/Ubuntu: apt-get install tesseract-ocr tesseract-ocr-eng "
    "tesseract-ocr-fra tesseract-ocr-spa), or add a PDF with a text layer"
)
_IMAGE_OBJECT = 3  # pypdfium2's FPDF_PAGEOBJ_IMAGE
_FORM_OBJECT = 5  # FPDF_PAGEOBJ_FORM: a form XObject, which may hold the image


@lru_cache(maxsize=1)
def tesseract_languages() -> str | None:
    """The Tesseract language argument ("eng+fra+spa", those installed), or None without Tesseract."""
    if shutil.which("tesseract") is None:
        return None
    import pytesseract

    try:
        installed = set(pytesseract.get_languages(config=""))
    except Exception as exc:  # a broken install is, to the user, no install
        log.warning("Tesseract is installed but does not answer (%s): no OCR", exc)
        return None
    chosen = [language for language in OCR_LANGUAGES if language in installed]
    return "+".join(chosen) or None


def pages_with_images(data: bytes, indexes: Sequence[int]) -> list[int]:
    """Those of the 0-based page ``indexes`` that show an image: the pages worth reading by OCR."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(data)
        try:
            shown = (_IMAGE_OBJECT, _FORM_OBJECT)
            return [i for i in indexes if any(o.type in shown for o in document[i].get_objects())]
        finally:
            document.close()


def read_pages(data: bytes, indexes: Sequence[int]) -> dict[int, str]:
    """The text Tesseract reads on each of the 0-based page ``indexes``; requires ``tesseract_languages()``."""
    import pypdfium2 as pdfium
    import pytesseract

    languages = tesseract_languages()
    if languages is None:
        raise RuntimeError("Tesseract is not installed")
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(data)
    try:
        read = {}
        with _one_thread():
            for i in indexes:
                with PDFIUM_LOCK:  # only while rendering: a page shown in the web UI meanwhile need not wait for OCR
                    image = document[i].render(scale=OCR_DPI / 72).to_pil()
                read[i] = pytesseract.image_to_string(image, lang=languages)
        return read
    finally:
        with PDFIUM_LOCK:
            document.close()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Tesseract's OpenMP threads fight over a small CPU: one thread read a page 4x faster here (3.1 s
    against 13.3 s on 2 cores, ``bench/ocr_bench.py``). Only the Tesseract process sees the setting; a
    value the user set is kept."""
    if "OMP_THREAD_LIMIT" in os.environ:
        yield
        return
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        os.environ.pop("OMP_THREAD_LIMIT", None)
