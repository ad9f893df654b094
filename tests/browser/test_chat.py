"""A policy officer in the Chat tab, with the keyboard: a question sent with Enter, its cited answer and
sources, a follow-up, and a question the library cannot answer."""

from __future__ import annotations


def ask(page, question: str) -> None:
    box = page.get_by_role("textbox", name="Question")
    box.fill(question)
    box.press("Enter")  # Enter sends, as a chat box should


def test_a_question_sent_with_enter_gets_a_cited_answer_and_its_sources(page):
    ask(page, "How many survivors did the Arusha shelter network host in 2023?")
    chat = page.get_by_role("log", name="chatbot conversation")
    answer = chat.get_by_text("212 survivors").first
    answer.wait_for()
    assert "[1]" in answer.inner_text()
    source = page.locator(".tip-source").first
    source.wait_for()
    assert "shelters-2023.txt" in source.inner_text() and "212 survivors" in source.inner_text()
    for page_reference in (source.locator(".tip-where"), source.locator("button.tip-open")):  # never "page" / "1"
        assert page_reference.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    same_colour = "e => getComputedStyle(e).color === getComputedStyle(e.parentElement).color"
    assert source.locator(".tip-where").evaluate(same_colour)  # subdued as the rest of its line

    ask(page, "How many of them were referred to legal aid?")  # a follow-up, read with the first question
    chat.get_by_text("64 of these survivors").first.wait_for()


def test_a_screen_reader_hears_each_message_as_text_not_as_its_html(page):
    ask(page, "How many survivors did the Arusha shelter network host in 2023?")
    chat = page.get_by_role("log", name="chatbot conversation")
    chat.get_by_text("212 survivors").first.wait_for()
    named = "() => [...document.querySelectorAll('#tip-chat [aria-label*=\"s message: \"]')].map(e => e.ariaLabel)"
    page.wait_for_function(f"({named})().every(name => !name.includes('<'))", timeout=10_000)
    question, answer = page.evaluate(named)
    assert question == "user's message: How many survivors did the Arusha shelter network host in 2023?"
    assert answer.startswith("bot's message: In 2023, the Arusha shelter network hosted 212 survivors")
    assert "✅" in answer and "tip-badge" not in answer and "style=" not in answer


def test_a_question_the_library_cannot_answer_says_so_and_why(page):
    ask(page, "How many survivors did the shelters in Antarctica host in 2023?")
    chat = page.get_by_role("log", name="chatbot conversation")
    refusal = chat.locator(".message", has_text="Not in the library").last
    refusal.wait_for()
    assert "does not appear to contain" in refusal.inner_text() and "Why:" in refusal.inner_text()
    assert "212" not in refusal.inner_text()


def test_every_control_of_every_tab_has_a_name_and_the_question_box_has_the_focus(page):
    question = page.get_by_role("textbox", name="Question")
    assert question.evaluate("e => e === document.activeElement")  # the page opens ready to type a question
    for tab in ("Chat", "Check text", "Draft", "Library", "Evaluate"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        for role in ("button", "textbox", "combobox", "radio", "checkbox"):
            for control in page.get_by_role(role).all():
                if control.is_visible():
                    name = control.evaluate(
                        "e => e.getAttribute('aria-label') || e.labels?.[0]?.innerText || e.innerText || e.title"
                    )
                    shown = control.evaluate("e => e.outerHTML")[:200]
                    assert name and name.strip(), f"{tab} tab: a {role} without a name: {shown}"


def test_tab_moves_from_the_question_to_ask_and_on_to_the_filters(page):
    page.get_by_role("textbox", name="Question").fill("How many survivors did the Arusha network host in 2023?")
    names = []
    for _ in range(4):
        page.keyboard.press("Tab")
        names.append(
            page.evaluate("document.activeElement.getAttribute('aria-label') || document.activeElement.innerText")
        )
    assert names.index("Ask") < names.index("Search only these documents")
    page.keyboard.press("Shift+Tab")  # back to Ask, then press it with the keyboard
    while page.evaluate("document.activeElement.innerText") != "Ask":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.get_by_role("log", name="chatbot conversation").get_by_text("212 survivors").first.wait_for()
