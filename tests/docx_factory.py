"""Small Word files for tests, written with python-docx; footnotes added by hand (python-docx writes none).

    make_docx(path, [("h1", "Title"), ("p", "Text."), ("li", "An item"), ("table", [["A", "B"], ["1", "2"]])],
              footnotes=["Source: ministry records, 2023."])

The footnotes part and its relationship are added to the saved package the way Word writes them; the first
paragraph carries the reference marks.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
FOOTNOTES_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
FOOTNOTES_CONTENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"


def make_docx(path: Path, blocks: list[tuple[str, object]], title: str = "", footnotes: list[str] = ()) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for kind, content in blocks:
        if kind.startswith("h"):
            document.add_heading(str(content), int(kind[1:]))
        elif kind == "li":
            document.add_paragraph(str(content), style="List Bullet")
        elif kind == "table":
            rows = list(content)
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        else:
            document.add_paragraph(str(content))
    document.save(path)
    if footnotes:
        _add_footnotes(path, list(footnotes))
    return path


def _add_footnotes(path: Path, notes: list[str]) -> None:
    with zipfile.ZipFile(path) as source:
        files = {name: source.read(name) for name in source.namelist()}
    body = "".join(
        f'<w:footnote w:id="{i}"><w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p></w:footnote>'
        for i, text in enumerate(notes, start=1)
    )
    separator = '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    files["word/footnotes.xml"] = f'<w:footnotes xmlns:w="{W}">{separator}{body}</w:footnotes>'.encode()
    rels = files["word/_rels/document.xml.rels"].decode()
    rel = f'<Relationship Id="rIdNotes" Type="{FOOTNOTES_TYPE}" Target="footnotes.xml"/>'
    files["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", rel + "</Relationships>").encode()
    types = files["[Content_Types].xml"].decode()
    override = f'<Override PartName="/word/footnotes.xml" ContentType="{FOOTNOTES_CONTENT}"/>'
    files["[Content_Types].xml"] = types.replace("</Types>", override + "</Types>").encode()
    refs = "".join(f'<w:r><w:footnoteReference w:id="{i}"/></w:r>' for i in range(1, len(notes) + 1))
    xml = files["word/document.xml"].decode()
    first_paragraph_end = xml.index("</w:p>")
    files["word/document.xml"] = (xml[:first_paragraph_end] + refs + xml[first_paragraph_end:]).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in files.items():
            target.writestr(name, data)
