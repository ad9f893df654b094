"""The Chat tab: what survives of an answer's HTML in the Chatbot."""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pytest

from assistant.interfaces.web import render
from assistant.types import REFUSAL_TEXT, Answer, SentenceSupport, SupportLabel
from tests.test_app import ChatMessage, checked_answer, make_citation, make_support


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
