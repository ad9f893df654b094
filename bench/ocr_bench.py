"""OCR time per page, against reading a text layer, on pages made here (a scan of a page of prose).

    python bench/ocr_bench.py [--pages 4]

Prints seconds per page for loading an image-only PDF (rendering + Tesseract in English, French and
Spanish) and for loading the same text as a PDF with a text layer, and their ratio: this machine is shared,
so only the ratio measured in one run is comparable between runs. Needs Tesseract (README: optional OCR).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.loaders import load_file  # noqa: E402
from ingest.ocr import OCR_DPI, tesseract_languages  # noqa: E402
from tests.pdf_factory import make_text_pdf  # noqa: E402

PROSE = [
    "In 2023 the Mwanza office received 96 referrals of trafficking victims from the fishing sector.",
    "Most victims were recruited by brokers who promised work on boats and withheld their wages.",
    "Labour inspectors and the police referred them to shelters in Mwanza, Dodoma and Arusha.",
] * 8  # a page of 24 lines


def scanned_pdf(path: Path, pages: int) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=34)
    images = []
    for _ in range(pages):
        image = Image.new("L", (1700, 2200), 255)
        draw = ImageDraw.Draw(image)
        for n, line in enumerate(PROSE):
            draw.text((120, 150 + 52 * n), line, fill=0, font=font)
        images.append(image)
    images[0].save(path, resolution=200, save_all=True, append_images=images[1:])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=4)
    args = parser.parse_args()
    if tesseract_languages() is None:
        sys.exit("Tesseract is not installed: see README.md, 'Optional — OCR for scanned PDFs'")
    with tempfile.TemporaryDirectory() as folder:
        scan = scanned_pdf(Path(folder) / "scan.pdf", args.pages)
        text = make_text_pdf(Path(folder) / "text.pdf", ["\n".join(PROSE)] * args.pages)
        load_file(text)  # imports and word lists loaded before timing
        started = time.perf_counter()
        document = load_file(scan)
        ocr_seconds = (time.perf_counter() - started) / args.pages
        started = time.perf_counter()
        load_file(text)
        text_seconds = (time.perf_counter() - started) / args.pages
    words = sum(len(p.text.split()) for p in document.pages) / args.pages
    print(f"OCR ({tesseract_languages()}, {OCR_DPI} dpi): {ocr_seconds:.2f} s/page, {words:.0f} words/page read")
    print(f"text layer:                       {text_seconds * 1000:.1f} ms/page")
    print(f"ratio OCR / text layer: {ocr_seconds / text_seconds:.0f}x; pages read by OCR: {document.ocr_pages}")


if __name__ == "__main__":
    main()
