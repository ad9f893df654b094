"""The Chat tab: what survives of an answer's HTML in the Chatbot, and the conversation exported with its
citations to Markdown and Word."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr
import pytest

from assistant.drafting import transcript
from assistant.drafting.export import md_escape
from assistant.interfaces.web import handlers, render, ui
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import REFUSAL_TEXT, Answer, SentenceSupport, SupportLabel
from tests.test_app import BRIEF, MARKUP, ChatMessage, checked_answer, make_citation, make_support
from tests.test_web_removal import component, on

WHEN = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)


# ----- what the Chatbot keeps of an answer's HTML ------------------------------------------------------------
def chatbot_sanitiser() -> tuple[set[str], set[str]]:
    """The elements and attributes the installed Gradio's Chatbot keeps in a message (its sanitiser, in the
    packaged front end: an allow-list of elements, less ``style``, ``link`` and ``meta``, and of attributes)."""
    assets = Path(gr.__file__).parent / "templates" / "frontend" / "assets"
    for path in sorted(assets.glob("*.js")):
        source = path.read_text(encoding="utf-8", errors="replace")
        if "getDefaultConfiguration" not in source or "allowElements" not in source:
            continue
        elements = re.search(r"`(a\.abbr\.acronym\.[\w.-]+)`\.split", source)
        attributes = re.search(r"`(abbr\.accept\.[\w.-]+)`\.split", source)
        dropped = re.search(r"filter\(\w+=>(\w+!==`style`[^)]*)\)", source)  # the elements taken off the list
        if elements and attributes and dropped:
            removed = set(re.findall(r"`([\w:]+)`", dropped.group(1)))
            return set(elements.group(1).split(".")) - removed, set(attributes.group(1).split("."))
    pytest.fail("the Chatbot's sanitiser was not found in the installed Gradio: check what a message keeps")


def test_an_answer_in_the_chat_uses_only_what_the_chatbot_keeps():
    elements, attributes = chatbot_sanitiser()
    assert {"span", "div", "details", "summary", "ul", "li"} <= elements and "style" not in elements
    answer = checked_answer(
        ("Fees rose.", make_support(SupportLabel.SUPPORTED, "Fees rose.", 1.0)),
        ("Fees rose by half.", make_support(SupportLabel.PARTIAL, "Fees rose somewhat.")),
        ("Fees <style>doubled</style>.", make_support(SupportLabel.UNSUPPORTED, "Wages.", 0.2, ("names: X",))),
        ("Nothing.", SentenceSupport.nothing()),
    )
    related = make_citation(1, context="A <script>nearby</script> passage.", quote="A", context_start=0)
    refusal = Answer("q", REFUSAL_TEXT, (), (), True, "q", related=(related,), refusal_reason="“<b>why</b>”")

    for message in (render.answer_html(answer), render.answer_html(refusal)):
        shown = ChatMessage(message)
        assert shown.tags, message
        for tag, attrs in shown.tags:
            assert tag in elements, tag
            assert set(attrs) <= attributes and set(attrs) <= {"class", "title", "style"}, attrs
    # each badge keeps its tooltip: the reason is a title attribute, which the sanitiser keeps
    assert [mark for mark, _ in ChatMessage(render.answer_html(answer)).badges] == ["✅", "⚠️", "❌", "❌"]


# ----- the conversation exported -----------------------------------------------------------------------
@pytest.fixture
def library(tmp_path, embedder) -> Assistant:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fees-brief.txt").write_text(BRIEF, encoding="utf-8")
    (docs / "shelter.txt").write_text(MARKUP, encoding="utf-8")
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder)
    assert assistant.ingest([docs]).ok
    return assistant


FEES = "What fees did recruitment agencies charge workers?"
PENGUINS = "How many penguins guard the borders of Antarctica?"


def converse(library: Assistant, *questions: str) -> list:
    kept: list = []
    for question in questions:
        kept = handlers.chat_turn(library, question, kept, None).conversation
    return kept


def one_line(text: str) -> str:
    """``text`` with its runs of whitespace (line breaks of a PDF page) as one space, as the export writes it."""
    return " ".join(text.split())


def docx_paragraphs(path: Path) -> list[tuple[str, str]]:
    import docx

    return [(p.style.name, p.text) for p in docx.Document(str(path)).paragraphs]


@pytest.mark.integration
def test_the_conversation_is_exported_with_each_answer_and_its_sources_under_it(library, tmp_path):
    kept = converse(library, FEES, PENGUINS)
    answered, refused = kept[1]["answer"], kept[3]["answer"]
    assert not answered.refused and answered.citations and refused.refused and refused.related

    files, message = handlers.export_conversation(kept, tmp_path / "export", WHEN)
    md, word = (Path(f) for f in files)
    assert message == "" and (md.name, word.name) == ("conversation.md", "conversation.docx")

    text = md.read_text(encoding="utf-8")
    assert text.startswith(
        "# Conversation with the library assistant\n\nExported on 2025-03-04 05:06 UTC · 2 questions\n"
    )
    first, second = text.split(f"## 1. {FEES}\n\n")[1].split(f"## 2. {PENGUINS}\n\n")
    assert first.startswith(md_escape(answered.text))  # the answer with its citation markers, as composed
    assert "\\[1\\]" in first and "**Sources**" in first
    for c in answered.citations:  # each source under its answer: number, document, file, page, the quote whole
        assert library.page_text(c.doc_id, c.page)[c.start : c.end] == c.quote
        line = f"- \\[{c.n}\\] {md_escape(c.title)} ({md_escape(c.source)}), {c.location}: “{md_escape(c.quote)}”"
        assert line in first
    assert second.startswith(f"**Not in the library.** {REFUSAL_TEXT} Why: {md_escape(refused.refusal_reason)}.\n")
    assert "**Possibly related passages (not an answer)**" in second and "**Sources**" not in second
    assert f"({md_escape(refused.related[0].source)}), {refused.related[0].location}: “" in second

    paragraphs = docx_paragraphs(word)
    assert ("Title", "Conversation with the library assistant") in paragraphs
    assert ("Heading 1", f"1. {FEES}") in paragraphs and ("Heading 1", f"2. {PENGUINS}") in paragraphs
    at = paragraphs.index(("Heading 1", f"1. {FEES}"))
    assert paragraphs[at + 1] == ("Normal", one_line(answered.text)) and paragraphs[at + 2] == ("Heading 2", "Sources")
    for i, c in enumerate(answered.citations, at + 3):
        assert paragraphs[i] == ("Normal", f"[{c.n}] {c.title} ({c.source}), {c.location}: “{one_line(c.quote)}”")
    at = paragraphs.index(("Heading 1", f"2. {PENGUINS}"))
    assert paragraphs[at + 1] == ("Normal", f"Not in the library. {REFUSAL_TEXT} Why: {refused.refusal_reason}.")
    assert paragraphs[at + 2] == ("Heading 2", "Possibly related passages (not an answer)")


def test_sentences_not_fully_supported_keep_their_mark_and_reason_in_the_export(tmp_path):
    answer = checked_answer(
        ("Fees rose.", make_support(SupportLabel.SUPPORTED, "Fees rose.", 1.0)),
        ("Fees rose by half.", make_support(SupportLabel.PARTIAL, "Fees rose somewhat.")),
        ("Fees *doubled* in 2020.", make_support(SupportLabel.UNSUPPORTED, "Fees rose.", 0.4, ("numbers: 2020",))),
    )
    exchange = [transcript.Exchange("Fees?", replace(answer, notices=("The model was unreachable.",)))]

    text = transcript.to_markdown(exchange, WHEN)
    assert (
        "Fees rose. \\[1\\] Fees rose by half. \\[2\\] **\\[partly supported\\]** "
        "Fees \\*doubled\\* in 2020. \\[3\\] **\\[not supported by its source: numbers: 2020\\]**"
    ) in text
    assert "> ⚠️ The model was unreachable." in text

    paragraphs = docx_paragraphs(transcript.to_docx(exchange, tmp_path / "c.docx", WHEN))
    assert ("Normal", "Fees rose. [1] Fees rose by half. [2] [partly supported] Fees *doubled* in 2020. [3] "
            "[not supported by its source: numbers: 2020]") in paragraphs  # fmt: skip
    import docx

    marks = [r for p in docx.Document(str(tmp_path / "c.docx")).paragraphs for r in p.runs if r.bold]
    assert [r.text for r in marks] == [" [partly supported]", " [not supported by its source: numbers: 2020]"]
    assert all(r.font.highlight_color is not None for r in marks)


def test_nothing_to_export_says_so(tmp_path):
    assert handlers.export_conversation([], tmp_path / "x") == ([], handlers.NOTHING_TO_EXPORT)
    assert not (tmp_path / "x").exists()


def test_a_reply_kept_without_its_answer_is_exported_as_its_text():
    kept = [render.chat_entry("user", "First question?"), render.chat_entry("assistant", "First answer [1]")]
    [exchange] = handlers.exchanges(kept)
    assert exchange.question == "First question?" and exchange.answer.text == "First answer [1]"
    assert "## 1. First question?\n\nFirst answer \\[1\\]\n" in transcript.to_markdown([exchange], WHEN)


@pytest.mark.integration
def test_the_export_button_writes_the_conversation_kept_and_the_bin_clears_it(library, tmp_path):
    demo = ui.build_ui(library)
    export = on(demo, component(demo, gr.Button, "Export conversation"), "click")
    kept = converse(library, FEES)

    box = component(demo, gr.File, "Conversation with its sources")
    assert not box.visible  # no empty box before anything is exported
    shown = export(kept)
    files = shown["value"]
    assert shown["visible"] and [Path(f).suffix for f in files] == [".md", ".docx"]
    assert FEES in Path(files[0]).read_text(encoding="utf-8")
    nothing = {"__type__": "update", "value": None, "visible": False}
    with pytest.warns(UserWarning, match="Ask a question first"):  # a notice in the page, outside a test
        assert export([]) == nothing
    chatbot = component(demo, gr.Chatbot, "Conversation")
    assert on(demo, chatbot, "clear")() == (render.EMPTY_SOURCES, [], nothing)  # sources, conversation, files


@pytest.mark.integration
def test_a_question_shows_in_the_chat_at_once_with_a_line_saying_it_is_answered(library):
    demo = ui.build_ui(library)
    submit = on(demo, component(demo, gr.Textbox, "Question"), "submit")
    steps = submit(f"  {FEES}  ", [], None, None)
    chat, panel, box, kept = next(steps)  # before any work: the first answer after a start waits for the model
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert chat[0]["content"] == FEES and chat[1]["content"] == handlers.SEARCHING
    assert box == "" and panel == gr.skip() and kept == gr.skip()
    *_, (chat, panel, box, kept) = steps
    assert chat[1]["content"] != handlers.SEARCHING and [e["role"] for e in kept] == ["user", "assistant"]
