"""The Draft tab: the preview shows a cited text as a reader sees it (note numbers linked to the Notes, the
References, [citation needed] highlighted), and Summarize or Attach sources with nothing to work on asks for
it and leaves the current preview and files in place."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import gradio as gr
import pytest

from assistant.drafting.drafts import CitedText, DraftSentence, Section
from assistant.drafting.export import to_markdown
from assistant.interfaces.web import handlers, render, ui
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import Citation, PageSpan
from tests.test_app import BRIEF, NOTES
from tests.test_web_removal import component, on

REPORT = ("d1", "report.pdf", "Annual <b>report</b>")
BRIEFING = ("d2", "brief.docx", "Briefing & notes")


def note(n: int, doc: tuple[str, str, str], page: int, quote: str) -> Citation:
    return Citation.of_span(n, PageSpan(*doc, page, 10 * n, 10 * n + len(quote), quote))


CITED = CitedText(
    "Fees: a <summary>",
    (
        Section(
            "Costs & wages",
            (
                (
                    DraftSentence("Agencies charged <i>fees</i>.", (1, 2), "supported"),
                    DraftSentence("Fees were banned in 1850.", (), "unsupported"),
                ),
                (DraftSentence("Wages fell.", (2,), "supported"),),
            ),
        ),
        Section("Registers", ((DraftSentence("A register was proposed.", (3,), "supported"),),)),
    ),
    (
        note(1, REPORT, 12, "Agencies charged fees\nof up to three months' wages."),
        note(2, REPORT, 3, "Wages fell by a <third>."),
        note(3, BRIEFING, 2, "The ministry proposed a register."),
    ),
    ("The model could not write “Registers”; quoted sentences are shown there.",),
)


class Page(HTMLParser):
    """A preview read back: each element's attributes, the text of each element with an id, and the text of
    the paragraphs as shown."""

    def __init__(self, preview: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text_of: dict[str, str] = {}
        self.paragraphs: list[str] = []
        self._open: list[str | None] = []  # the id of each open element with one
        self._in_paragraph = False
        self.feed(preview)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        self._open.append(attributes.get("id"))
        if "id" in attributes:
            self.text_of[attributes["id"]] = ""
        if tag == "p" and not attributes:
            self._in_paragraph = True
            self.paragraphs.append("")

    def handle_endtag(self, tag):
        self._open.pop()
        if tag == "p":
            self._in_paragraph = False

    def handle_data(self, data):
        for element_id in filter(None, self._open):
            self.text_of[element_id] += data
        if self._in_paragraph:
            self.paragraphs[-1] += data


def test_the_preview_links_each_note_number_to_its_note_and_back():
    page = Page(render.render_draft(CITED))
    ids = [attrs["id"] for _, attrs in page.elements if "id" in attrs]
    links = [attrs["href"] for tag, attrs in page.elements if tag == "a"]

    assert len(ids) == len(set(ids))  # every anchor once
    assert sorted(h for h in links if h.startswith("#tip-note-")) == ["#tip-note-1", "#tip-note-2", "#tip-note-2",
                                                                      "#tip-note-3"]  # fmt: skip
    assert {h[1:] for h in links} <= set(ids)  # every link lands on something: a note, or where it is first cited
    # superscript numbers after each sentence; a note cited twice points back to its first citation
    assert page.paragraphs == [
        "Agencies charged <i>fees</i>.1,2 Fees were banned in 1850. [citation needed]",
        "Wages fell.2",
        "A register was proposed.3",
    ]
    assert page.text_of["tip-cite-1"] == "1" and page.text_of["tip-cite-2"] == "2"
    assert sum(1 for _, attrs in page.elements if attrs.get("id") == "tip-cite-2") == 1


def test_the_preview_lists_notes_with_source_location_and_quote_and_the_references():
    preview = render.render_draft(CITED)
    page = Page(preview)

    assert page.text_of["tip-note-1"] == (
        "Annual <b>report</b> (report.pdf), p. 12: “Agencies charged fees\nof up to three months' wages.” ↩"
    )
    assert page.text_of["tip-note-3"].startswith("Briefing & notes (brief.docx), section 2: “The ministry proposed")
    references = preview[preview.index("<h2>References</h2>") :]
    assert "<li>Annual &lt;b&gt;report&lt;/b&gt; — report.pdf, pp. 3, 12</li>" in references
    assert "<li>Briefing &amp; notes — brief.docx, section 2</li>" in references
    assert "<b>" not in preview and "<i>" not in preview and "<third>" not in preview and "<summary>" not in preview
    assert "[^" not in preview  # no footnote syntax: the notes are rendered
    assert preview.index("⚠️ The model could not write") < preview.index("<h1>Fees: a &lt;summary&gt;</h1>")
    assert '<p class="tip-summary">4 sentences, 2 documents cited, 1 marked [citation needed]</p>' in preview
    assert Counter(tag for tag, _ in page.elements)["h2"] == 4  # two sections, Notes, References


def test_citation_needed_is_highlighted_by_the_stylesheet():
    preview = render.render_draft(CITED)
    assert '1850. <mark class="tip-needed">[citation needed]</mark>' in preview
    assert ".tip-needed { background:" in render.SOURCES_CSS and ".tip-notes li:target" in render.SOURCES_CSS


def test_the_markdown_download_is_unchanged_by_the_preview():
    markdown = to_markdown(CITED)
    assert "Agencies charged \\<i\\>fees\\</i\\>.[^1][^2] Fees were banned in 1850. **[citation needed]**" in markdown
    assert "[^1]: Annual \\<b\\>report\\</b\\> (report.pdf), p. 12:" in markdown


# ----- asking for text, and keeping what is there -------------------------------------------------------
@pytest.fixture
def library(tmp_path, embedder) -> Assistant:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fees-brief.txt").write_text(BRIEF, encoding="utf-8")
    (docs / "shelter notes.md").write_text(NOTES, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    assert assistant.ingest([docs]).ok
    return assistant


@pytest.mark.parametrize("empty", [None, "", "  \n\n "])
def test_attach_sources_with_an_empty_box_asks_for_text_and_drafts_nothing(library, tmp_path, empty):
    message, preview, files = handlers.cite_tab(library, empty, tmp_path / "cited")
    assert message == '<div class="tip-sources"><p class="tip-note">Paste your draft into “Or cite your own draft” ' \
                      "first.</p></div>"  # fmt: skip
    assert preview is None and files is None  # the tab keeps what it shows
    assert not (tmp_path / "cited").exists()


@pytest.mark.integration
def test_a_finished_summary_and_its_files_stay_when_attach_sources_has_no_text(library):
    demo = ui.build_ui(library)
    summarize = on(demo, component(demo, gr.Button, "Summarize"), "click")
    attach = on(demo, component(demo, gr.Button, "Attach sources"), "click")

    assert not component(demo, gr.File, "Download").visible  # no empty box before anything is drafted
    message, preview, shown = summarize("recruitment fees", "auto", None)
    assert message == "" and "<h1>What the library says on “recruitment fees”</h1>" in preview
    files = shown["value"]
    assert shown["visible"] and [Path(f).suffix for f in files] == [".md", ".docx"]
    assert all(Path(f).exists() for f in files)

    message, preview_update, files_update = attach("", None)
    assert "Paste your draft" in message
    # Gradio leaves a component as it is for a skipped output: the summary and its files stay on screen
    assert preview_update == gr.skip() and files_update == gr.skip()
    assert all(Path(f).exists() for f in files)

    message, preview, shown = attach("Agencies charged workers fees of up to three months' wages.", None)
    assert message == "" and "<h1>Cited draft</h1>" in preview and len(shown["value"]) == 2  # a new draft replaces it


def test_the_preview_is_html_with_the_stylesheet(tmp_path):
    demo = ui.build_ui(Assistant(Settings(data_dir=tmp_path / "data")))
    [preview] = [b for b in demo.blocks.values() if isinstance(b, gr.HTML) and b.value == render.EMPTY_DRAFT]
    assert preview.css_template == render.SOURCES_CSS
    assert not [b for b in demo.blocks.values() if isinstance(b, gr.Markdown) and "cited summary" in str(b.value)]
