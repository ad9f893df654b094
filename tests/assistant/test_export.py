"""Writing a cited text as Markdown (footnotes) and as Word (numbered notes)."""

from __future__ import annotations

import re

import pytest

from assistant.drafting.drafts import CITATION_NEEDED, CitedText, DraftSentence, Section
from assistant.drafting.export import QUOTE_LIMIT, md_escape, shorten, to_docx, to_markdown, write
from assistant.types import Citation, PageSpan

GLOTIP = ("glotip", "glotip_2022.pdf", "Global Report on Trafficking in Persons 2022")
# A title that would inject a heading, a link, HTML and emphasis if written out as it is.
PROTOCOL = ("palermo", "palermo_protocol.pdf", "# Protocol [annex](http://x.test) <b>draft</b> *2000*")
LONG_QUOTE = "Victims of trafficking were detected in 141 countries, " * 12  # well over the quote limit


def note(n: int, doc: tuple[str, str, str], page: int, start: int, quote: str) -> Citation:
    doc_id, source, title = doc
    return Citation.of_span(n, PageSpan(doc_id, source, title, page, start, start + len(quote), quote))


def sentence(text: str, *notes: int) -> DraftSentence:
    return DraftSentence(text, tuple(notes), "supported" if notes else "unsupported")


S_FELL = sentence("Detections fell by 11 per cent in 2020.", 1, 3)
S_INJECT = sentence("# Not a heading [^9] [link](http://x.test) <script>alert(1)</script> *stars* _under_", 2)
S_UNSUPPORTED = sentence("Most victims are never identified.")
S_CHILDREN = sentence("Children account for a third of detected victims.", 4)
S_DEFINES = sentence("The Protocol defines trafficking by act, means and purpose.", 2)

CITED = CitedText(
    title="Trafficking trends: a summary",
    sections=(
        Section("Findings", ((S_FELL, S_INJECT), (S_UNSUPPORTED, S_CHILDREN))),
        Section("Definitions [scope] #", ((S_DEFINES,),)),
    ),
    notes=(
        note(1, GLOTIP, 12, 100, "Detected victims fell by 11 per cent in 2020."),
        note(2, PROTOCOL, 3, 0, "“Trafficking in persons” shall mean\nthe recruitment, <i>transportation</i> [^1]"),
        note(3, GLOTIP, 12, 400, LONG_QUOTE),  # the same page as note 1, another passage
        note(4, GLOTIP, 5, 20, "One in three detected victims is a child."),
    ),
)
SENTENCES = [S_FELL, S_INJECT, S_UNSUPPORTED, S_CHILDREN, S_DEFINES]


# --- Markdown --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def markdown() -> str:
    return to_markdown(CITED)


def test_markdown_headings_in_order(markdown):
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# Trafficking trends: a summary",
        "## Findings",
        r"## Definitions \[scope\] \#",
        "## References",
    ]


def test_markdown_paragraphs_carry_footnote_refs_after_their_sentences(markdown):
    lines = markdown.splitlines()
    assert "Detections fell by 11 per cent in 2020.[^1][^3] \\# Not a heading" in markdown
    assert f"{md_escape(S_INJECT.text)}[^2]" in markdown
    assert "Children account for a third of detected victims.[^4]" in markdown
    assert "The Protocol defines trafficking by act, means and purpose.[^2]" in lines
    # each paragraph is one block of its sentences: two in "Findings", one in "Definitions"
    body = markdown.split("## References")[0]
    paragraphs = [b for b in body.split("\n\n") if b and not b.startswith(("#", "[^"))]
    assert len(paragraphs) == 3


def test_markdown_citation_needed_follows_the_unsupported_sentence(markdown):
    assert f"Most victims are never identified. **{CITATION_NEEDED}** Children account" in markdown
    assert markdown.count(CITATION_NEEDED) == 1


def test_markdown_every_footnote_ref_has_exactly_one_definition(markdown):
    definitions = re.findall(r"^\[\^(\d+)\]: ", markdown, flags=re.M)
    body = re.sub(r"^\[\^\d+\]: ", "", markdown, flags=re.M)
    used = set(re.findall(r"(?<!\\)\[\^(\d+)\]", body))
    assert sorted(definitions) == sorted(set(definitions))  # each defined once
    assert set(definitions) == used == {"1", "2", "3", "4"}


def test_markdown_footnote_definitions(markdown):
    lines = markdown.splitlines()
    assert (
        "[^1]: Global Report on Trafficking in Persons 2022 (glotip_2022.pdf), p. 12: "
        "“Detected victims fell by 11 per cent in 2020.”" in lines
    )
    [long] = [line for line in lines if line.startswith("[^3]: ")]
    quote = long.split(": “", 1)[1]
    assert quote.endswith("…”") and len(quote) <= QUOTE_LIMIT + 1
    assert quote.startswith("Victims of trafficking were detected in 141 countries, Victims")
    [protocol] = [line for line in lines if line.startswith("[^2]: ")]
    assert "shall mean the recruitment" in protocol  # the newline in the quote collapsed to a space
    assert protocol.endswith(r"\<i\>transportation\</i\> \[^1\]”")


def test_markdown_references_list_each_document_once_with_pages_sorted(markdown):
    references = markdown.split("## References\n\n", 1)[1].strip().splitlines()
    assert references == [
        "- Global Report on Trafficking in Persons 2022 — glotip_2022.pdf, pp. 5, 12",
        r"- \# Protocol \[annex\](http://x.test) \<b\>draft\</b\> \*2000\* — palermo_protocol.pdf, p. 3",
    ]


def test_markdown_escapes_document_text(markdown):
    assert "<script>" not in markdown and "<b>" not in markdown and "<i>" not in markdown
    assert "[link]" not in markdown and "[annex]" not in markdown and "[^9]" not in markdown
    assert r"\<script\>alert(1)\</script\> \*stars\* \_under\_" in markdown
    assert "glotip_2022.pdf" in markdown  # an underscore inside a word cannot make emphasis: left alone
    assert not any(line.startswith("# ") for line in markdown.splitlines()[1:])


def test_markdown_parses_to_only_our_structure(markdown):
    markdown_it = pytest.importorskip("markdown_it")
    tokens = markdown_it.MarkdownIt("commonmark").parse(markdown)
    headings = [(t.tag, tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [
        ("h1", "Trafficking trends: a summary"),
        ("h2", "Findings"),
        ("h2", r"Definitions \[scope\] \#"),
        ("h2", "References"),
    ]
    children = [c for t in tokens if t.type == "inline" for c in t.children]
    kinds = {c.type for c in children}
    assert not kinds & {"html_inline", "link_open", "code_inline", "em_open", "image"}
    assert {t.type for t in tokens}.isdisjoint({"html_block", "blockquote_open", "code_block", "fence"})
    text = "".join(c.content for c in children if c.type == "text")
    assert "# Not a heading [^9] [link](http://x.test) <script>alert(1)</script> *stars* _under_" in text
    strong = [children[i + 1].content for i, c in enumerate(children) if c.type == "strong_open"]
    assert strong == [CITATION_NEEDED]


def test_markdown_without_headings_or_notes():
    plain = CitedText("Draft", (Section(None, ((sentence("Unsupported claim."),),)),), ())
    assert to_markdown(plain) == f"# Draft\n\nUnsupported claim. **{CITATION_NEEDED}**\n"


def test_sentences_citing_missing_notes_are_rejected():
    broken = CitedText("Draft", (Section(None, ((sentence("Claim.", 7),),)),), ())
    with pytest.raises(ValueError, match=r"\[7\]"):
        to_markdown(broken)


def test_shorten_and_escape_helpers():
    assert shorten("a  b\n\tc") == "a b c"
    cut = shorten("word " * 100, limit=50)
    assert cut.endswith("word…") and len(cut) <= 50
    assert md_escape("1. first") == r"1\. first"
    assert md_escape("- item") == r"\- item"
    assert md_escape("> quote & &amp; `code`") == r"\> quote & \&amp; \`code\`"
    assert md_escape("snake_case _emph_") == r"snake_case \_emph\_"


# --- Word ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def word(tmp_path_factory):
    docx = pytest.importorskip("docx")
    path = to_docx(CITED, tmp_path_factory.mktemp("export") / "out" / "summary.docx")
    assert path.name == "summary.docx" and path.is_file()
    return docx.Document(str(path))


def paragraph_texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def test_docx_headings_and_styles(word):
    headings = [(p.style.name, p.text) for p in word.paragraphs if p.style.name in ("Title", "Heading 1")]
    assert headings == [
        ("Title", "Trafficking trends: a summary"),
        ("Heading 1", "Findings"),
        ("Heading 1", "Definitions [scope] #"),
        ("Heading 1", "Notes"),
        ("Heading 1", "References"),
    ]
    assert word.core_properties.title == "Trafficking trends: a summary"


def test_docx_paragraphs_hold_sentences_and_superscript_note_numbers(word):
    texts = paragraph_texts(word)
    assert f"{S_FELL.text}[1,3] {S_INJECT.text}[2]" in texts  # document text is kept as it is in Word
    assert f"{S_UNSUPPORTED.text} {CITATION_NEEDED} {S_CHILDREN.text}[4]" in texts
    assert f"{S_DEFINES.text}[2]" in texts
    superscripts = [r.text for p in word.paragraphs for r in p.runs if r.font.superscript]
    assert superscripts == ["[1,3]", "[2]", "[4]", "[2]"]
    sentence_runs = [r.text.strip() for p in word.paragraphs for r in p.runs]
    assert all(s.text in sentence_runs for s in SENTENCES)


def test_docx_citation_needed_is_bold_and_highlighted(word):
    from docx.enum.text import WD_COLOR_INDEX

    flagged = [r for p in word.paragraphs for r in p.runs if r.text == CITATION_NEEDED]
    assert len(flagged) == 1
    assert flagged[0].font.highlight_color == WD_COLOR_INDEX.YELLOW and flagged[0].bold
    assert not flagged[0].font.superscript
    others = [r for p in word.paragraphs for r in p.runs if r.text != CITATION_NEEDED]
    assert all(r.font.highlight_color is None for r in others)


def test_docx_notes_and_references(word):
    texts = paragraph_texts(word)
    notes = texts[texts.index("Notes") + 1 : texts.index("References")]
    assert [t.split(".", 1)[0] for t in notes] == ["1", "2", "3", "4"]
    assert notes[0] == (
        "1. Global Report on Trafficking in Persons 2022 (glotip_2022.pdf), p. 12: "
        "“Detected victims fell by 11 per cent in 2020.”"
    )
    assert notes[1].startswith(
        f"2. {PROTOCOL[2]} (palermo_protocol.pdf), p. 3: ““Trafficking in persons” shall mean the recruitment"
    )
    assert notes[2].endswith("…”")
    notes_paragraphs = word.paragraphs[texts.index("Notes") + 1 : texts.index("References")]
    for paragraph in notes_paragraphs:
        italic = [r.text for r in paragraph.runs if r.italic]
        assert len(italic) == 1 and italic[0].startswith("“") and italic[0].endswith("”")  # the quote only
    assert texts[texts.index("References") + 1 :] == [
        "Global Report on Trafficking in Persons 2022 — glotip_2022.pdf, pp. 5, 12",
        f"{PROTOCOL[2]} — palermo_protocol.pdf, p. 3",
    ]


def test_docx_drops_characters_xml_cannot_hold(tmp_path):
    docx = pytest.importorskip("docx")
    cited = CitedText(
        "Form\x0cfeed",
        (Section(None, ((sentence("Page\x0cbreak\x00 text.", 1),),)),),
        (note(1, GLOTIP, 2, 0, "quote\x0bwith control"),),
    )
    document = docx.Document(str(to_docx(cited, tmp_path / "control.docx")))
    assert paragraph_texts(document)[:2] == ["Form feed", "Page break text.[1]"]
    assert document.core_properties.title == "Form feed"


# --- Either ----------------------------------------------------------------------------------------------------


def test_write_dispatches_on_format(tmp_path):
    md = write(CITED, tmp_path / "a.md", "md")
    assert md.read_text(encoding="utf-8") == to_markdown(CITED)
    assert write(CITED, tmp_path / "b.markdown").read_text(encoding="utf-8") == to_markdown(CITED)
    docx = pytest.importorskip("docx")
    out = write(CITED, tmp_path / "c.docx", "DOCX")
    assert docx.Document(str(out)).core_properties.title == CITED.title


def test_write_rejects_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match="'pdf'.*md, docx"):
        write(CITED, tmp_path / "a.pdf", "pdf")
    with pytest.raises(ValueError, match="suffix '.txt'.*md, docx"):
        write(CITED, tmp_path / "a.txt")
    assert not list(tmp_path.iterdir())
