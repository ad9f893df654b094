"""The page viewer of the web UI: its HTML (escaped, the quote highlighted, page bounds), and the handlers that
open it on passage n of an answer in the chat, from its [n] marker or its source card, and on the passage of a
checked sentence, on real temporary libraries (a PDF written by tests/pdf_factory.py and a text file)."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pytest

from assistant.interfaces.web import handlers, render, ui
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import Answer, Citation
from ingest.pdf_pages import Box, PageImage
from tests.pdf_factory import make_text_pdf
from vectorstore.originals import ORIGINALS_DIR


def citation(n: int = 1, source: str = "report.pdf", page: int = 3, quote: str = "gamma", **fields) -> Citation:
    values = {"doc_id": "d1", "title": "Annual report", "start": 6, "end": 6 + len(quote), "context": quote}
    return Citation(source=source, page=page, quote=quote, n=n, **{**values, **fields})


PNG = base64.b64decode(  # a 1 x 1 white PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"
)


# ----- the viewer's HTML ----------------------------------------------------------------------------------
def test_a_printed_page_has_a_highlight_box_placed_over_each_line_of_the_quote():
    boxes = (Box(10.0, 20.5, 50.25, 1.5), Box(10.0, 22.125, 30.0, 1.5))
    view = render.PageView(citation(), 3, 12, PageImage(PNG, 918, 1188), boxes)
    page = render.render_viewer_page(view)

    boxes = re.findall(r'<div class="tip-highlight" style="([^"]*)"></div>', page)
    assert boxes == [
        "left: 10.000%; top: 20.500%; width: 50.250%; height: 1.500%;",
        "left: 10.000%; top: 22.125%; width: 30.000%; height: 1.500%;",
    ]
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in page
    assert 'width="918" height="1188"' in page and "aspect-ratio: 918 / 1188" in page
    assert 'alt="Page 3 of report.pdf"' in page and "tip-page-text" not in page


def test_stored_text_is_escaped_with_the_passage_marked():
    text = 'Before <img src="x"> the <b>quoted</b> passage & after.'
    quote = "the <b>quoted</b> passage"
    start = text.index(quote)
    view = render.PageView(citation(source="notes.txt", page=1), 1, 1, text=text, mark=(start, start + len(quote)))
    page = render.render_viewer_page(view)

    assert '<mark class="tip-highlight">the &lt;b&gt;quoted&lt;/b&gt; passage</mark>' in page
    assert "&lt;img src=&#34;x&#34;&gt;" in page and "<img" not in page and "<b>" not in page
    assert page.count("tip-highlight") == 1 and " &amp; after." in page


def test_the_heading_says_which_page_of_how_many_and_whether_it_is_the_cited_one():
    cited = citation(title="<i>Annual</i> report", source="a&b.pdf")
    on_it = render.render_viewer_heading(render.PageView(cited, 3, 12, notes=("A note <here>.",)))
    assert "[1]</span> &lt;i&gt;Annual&lt;/i&gt; report" in on_it and "<i>" not in on_it
    assert 'a&amp;b.pdf · <span class="tip-viewer-page-number">page 3 of 12</span> · the cited page' in on_it
    assert '<p class="tip-note">A note &lt;here&gt;.</p>' in on_it

    next_page = render.render_viewer_heading(render.PageView(cited, 4, 12))
    assert "page 4 of 12</span> · cited on page 3" in next_page
    section = render.render_viewer_heading(render.PageView(citation(source="guide.docx", page=2), 2, 5))
    assert "section 2 of 5</span> · the cited section" in section


def test_each_source_card_has_a_button_opening_its_page():
    cited = (citation(1), citation(2, page=7, quote="delta"))
    answer = Answer("q", "gamma [1] delta [2]", (), cited, False, "q")
    panel = render.render_sources(answer)
    assert re.findall(r'<button type="button" class="tip-open" data-n="(\d+)"[^>]*>([^<]*)</button>', panel) == [
        ("1", "Open page 3"),
        ("2", "Open page 7"),
    ]


# ----- opening it from an answer --------------------------------------------------------------------------
REPORT_PAGES = [
    "Annual report of the Mwanza field office\nOverview of the year and of the work of the office.",
    "Referrals\nThe field office in Mwanza received 96 referrals of trafficking\n"
    "victims from the fishing sector during the year.\nMost of them were young men.",
    "Annex\nMethods and sources of the figures given in this report.",
]
SHELTER = (
    'Shelter notes. The Blantyre shelter received 41 survivors in 2023 <img src="http://example.org/x.png"> '
    "and referred them onwards.\n"
)


@pytest.fixture
def library(tmp_path, embedder) -> Assistant:
    docs = tmp_path / "docs"
    docs.mkdir()
    make_text_pdf(docs / "report.pdf", REPORT_PAGES, title="Mwanza field office report")
    (docs / "shelter.txt").write_text(SHELTER, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    assert assistant.ingest([docs]).ok
    return assistant


def asked(library: Assistant, question: str) -> list[dict]:
    """The conversation kept after one question, as the chat tab keeps it."""
    return handlers.chat_turn(library, question, [], None).conversation


@pytest.mark.integration
def test_marker_1_of_an_answer_opens_its_pdf_page_with_the_quote_boxed(library, tmp_path):
    entries = asked(library, "How many referrals did the field office in Mwanza receive?")
    first = entries[1]["cited"][0]
    assert first.source == "report.pdf" and first.page == 2 and "96 referrals" in first.quote

    step = handlers.open_cited(library, entries, 1, message=1)  # the answer is the chat's second message
    assert step.viewing == (first, 2)
    assert "Mwanza field office report" in step.heading and "page 2 of 3</span> · the cited page" in step.heading
    assert "data:image/png;base64," in step.page
    assert step.page.count('<div class="tip-highlight"') >= 2  # the quote runs over two printed lines
    assert "tip-page-text" not in step.page  # found on the page: no stored text needed
    assert (step.previous, step.next) == (True, True)
    assert Path(step.download).name == "report.pdf"
    assert Path(step.download).read_bytes() == (tmp_path / "docs" / "report.pdf").read_bytes()

    assert handlers.open_cited(library, entries, 1) == step  # the Sources panel's card: the latest answer's [1]


@pytest.mark.integration
def test_previous_and_next_stay_within_the_document(library):
    entries = asked(library, "How many referrals did the field office in Mwanza receive?")
    step = handlers.open_cited(library, entries, 1, message=1)

    last = handlers.turn_page(library, step.viewing, 1)
    assert last.viewing[1] == 3 and (last.previous, last.next) == (True, False)
    assert "page 3 of 3</span> · cited on page 2" in last.heading and "tip-highlight" not in last.page
    assert handlers.turn_page(library, last.viewing, 1).viewing[1] == 3  # no page after the last
    first = handlers.turn_page(library, handlers.turn_page(library, last.viewing, -1).viewing, -1)
    assert first.viewing[1] == 1 and (first.previous, first.next) == (False, True)
    assert handlers.turn_page(library, step.viewing, -1).viewing[1] == 1
    assert handlers.turn_page(library, first.viewing, -1).viewing[1] == 1  # no page before the first
    assert handlers.turn_page(library, last.viewing, -1) == step  # back on the cited page, boxed again


@pytest.mark.integration
def test_a_text_document_shows_the_passage_marked_in_its_stored_text(library, tmp_path):
    entries = asked(library, "How many survivors did the Blantyre shelter receive in 2023?")
    step = handlers.open_cited(library, entries, 1, message=1)

    marked = re.search(r'<mark class="tip-highlight">(.*?)</mark>', step.page, re.S).group(1)
    assert "41 survivors" in marked and "data:image" not in step.page
    assert "&lt;img src=" in step.page and "<img" not in step.page  # the document's markup is shown as text
    assert 'shelter.txt · <span class="tip-viewer-page-number">page 1 of 1</span>' in step.heading
    assert (step.previous, step.next) == (False, False)
    assert Path(step.download).read_text(encoding="utf-8") == SHELTER


@pytest.mark.integration
def test_only_an_answer_kept_in_the_conversation_opens(library):
    entries = asked(library, "How many referrals did the field office in Mwanza receive?")
    assert handlers.open_cited(library, entries, 1, message=0) is None  # the question
    assert handlers.open_cited(library, entries, 1, message=3) is None  # an answer still being checked
    assert handlers.open_cited(library, entries, 1, message=-1) is None
    assert handlers.open_cited(library, entries, 99, message=1) is None  # no passage [99]
    assert handlers.open_cited(library, [], 1) is None  # nothing asked yet


@pytest.mark.integration
def test_a_library_without_original_files_shows_the_stored_text(library, tmp_path):
    shutil.rmtree(tmp_path / "data" / ORIGINALS_DIR)  # as a library ingested before originals were kept
    entries = asked(library, "How many referrals did the field office in Mwanza receive?")
    step = handlers.open_cited(library, entries, 1, message=1)

    assert step.download is None and handlers.NO_ORIGINAL in step.heading
    assert "data:image" not in step.page
    marked = re.search(r'<mark class="tip-highlight">(.*?)</mark>', step.page, re.S).group(1)
    assert marked == entries[1]["cited"][0].quote


@pytest.mark.integration
def test_a_removed_or_changed_document_is_said_to_be_so(library, tmp_path):
    entries = asked(library, "How many survivors did the Blantyre shelter receive in 2023?")
    (tmp_path / "docs" / "shelter.txt").write_text("Shelter notes, rewritten. Nothing on survivors.\n", "utf-8")
    library.ingest([tmp_path / "docs"])
    changed = handlers.open_cited(library, entries, 1, message=1)
    assert handlers.CHANGED in changed.heading and "tip-highlight" not in changed.page
    assert "Nothing on survivors." in changed.page  # the page as it now is

    library.remove("shelter.txt")
    gone = handlers.open_cited(library, entries, 1, message=1)
    assert handlers.DOCUMENT_GONE in gone.heading and (gone.previous, gone.next, gone.download) == (False, False, None)


@pytest.mark.integration
def test_a_checked_sentence_opens_the_page_of_its_passage_as_a_chat_citation_does(library):
    text = "The field office in Mwanza received 96 referrals of trafficking victims.\n\nPenguins guard Lake Malawi."
    shown, passages = handlers.check_text(library, text)
    assert 'data-n="0"' in shown
    step = handlers.open_checked(library, passages, 0)
    assert step.viewing == (passages[0], 2) and passages[0].source == "report.pdf"
    assert "page 2 of 3</span> · the cited page" in step.heading and "[0]" not in step.heading
    assert step.page.count('<div class="tip-highlight"') >= 1 and Path(step.download).name == "report.pdf"
    assert handlers.turn_page(library, step.viewing, 1).viewing[1] == 3  # pages turn as from the chat
    assert handlers.open_checked(library, passages, len(passages)) is None  # no such sentence
    assert handlers.open_checked(library, passages, -1) is None
    assert handlers.open_checked(library, (None,), 0) is None  # a sentence without a passage


def test_the_open_events_get_the_browser_s_event_data(tmp_path):
    """Gradio hands event data only to a parameter whose annotation resolves to gr.EventData."""
    import gradio as gr
    from gradio.utils import get_type_hints

    demo = ui.build_ui(Assistant(Settings(data_dir=tmp_path / "data")))
    opening = [f.fn for f in demo.fns.values() if f.fn is not None and f.fn.__name__.startswith("open_from_")]
    assert len(opening) == 3 and all(get_type_hints(fn)["evt"] is gr.EventData for fn in opening)
