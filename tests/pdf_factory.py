"""Small real PDFs for tests, written by hand: one Helvetica text line per input line, no dependencies.

pypdf reads these back line by line, so tests can shape the raw text a loader sees (headers, page
numbers, hyphenated line ends) without shipping binary fixtures.
"""

from __future__ import annotations

from pathlib import Path

_PAGE_WIDTH, _PAGE_HEIGHT = 612, 792
_FONT_SIZE, _LEADING, _MARGIN = 10, 13, 60


def _escape(line: str) -> bytes:
    # Helvetica with WinAnsiEncoding: cp1252 bytes; characters outside it become "?".
    raw = line.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _content_stream(text: str) -> bytes:
    lines = text.split("\n")
    if not text:
        return b""
    parts = [
        b"BT",
        f"/F1 {_FONT_SIZE} Tf {_LEADING} TL {_MARGIN} {_PAGE_HEIGHT - _MARGIN} Td".encode(),
    ]
    for n, line in enumerate(lines):
        if n:
            parts.append(b"T*")
        parts.append(b"(" + _escape(line) + b") Tj")
    parts.append(b"ET")
    return b"\n".join(parts)


def _pdf_string(value: str) -> bytes:
    return b"(" + _escape(value) + b")"


def make_text_pdf(
    path: str | Path,
    pages: list[str],
    *,
    title: str | None = None,
    creation_date: str | None = None,
) -> Path:
    """Write a PDF with one page per item of ``pages`` (lines split on "\\n"); return its path.

    ``title`` and ``creation_date`` (PDF date, e.g. "D:20210314120000Z") go to the document information
    dictionary when given. An empty string makes a page without any text.
    """
    path = Path(path)
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the page tree exists
    tree = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids: list[int] = []
    for text in pages:
        stream = _content_stream(text)
        contents = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                % (tree, _PAGE_WIDTH, _PAGE_HEIGHT, font, contents)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    objects[tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )
    info = None
    if title is not None or creation_date is not None:
        entries = b""
        if title is not None:
            entries += b" /Title " + _pdf_string(title)
        if creation_date is not None:
            entries += b" /CreationDate " + _pdf_string(creation_date)
        info = add(b"<<" + entries + b" >>")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    trailer = b"<< /Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
    if info is not None:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))
    return path
