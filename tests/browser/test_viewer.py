"""Opening the cited page: a click on [1] in an answer shows the PDF page it cites with a box over the quoted
words, pages turn, the original downloads, and Escape closes the viewer."""

from __future__ import annotations

import pytest

from tests.browser.conftest import start_server

COVER = "Kigoma task force\nAnnual report 2022\nPrepared for the regional coordination office"
FINDINGS = (
    "Findings\n"
    "In 2022 the Kigoma task force identified 58 victims of forced labour\n"
    "on fishing boats on Lake Tanganyika.\n"
    "Most of them were boys between 14 and 17 years old."
)


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    running = start_server(tmp_path_factory.mktemp("library") / "data", embedder,
                           pdfs={"kigoma-2022.pdf": [COVER, FINDINGS]})  # fmt: skip
    yield running
    running.close()


def test_clicking_a_marker_opens_the_cited_page_with_the_quote_boxed(page, tmp_path):
    box = page.get_by_role("textbox", name="Question")
    box.fill("How many victims of forced labour did the Kigoma task force identify in 2022?")
    box.press("Enter")
    marker = page.locator("#tip-chat .tip-marker", has_text="[1]").first
    marker.wait_for()
    marker.click()

    dialog = page.locator("#tip-viewer [role=dialog]")
    dialog.wait_for()
    assert "page 2 of 2" in dialog.inner_text() and "kigoma-2022.pdf" in dialog.inner_text()
    image = dialog.locator(".tip-page img")
    highlights = dialog.locator(".tip-page .tip-highlight")
    assert image.is_visible() and highlights.count() >= 1
    page_box, first = image.bounding_box(), highlights.first.bounding_box()
    assert page_box["y"] < first["y"] < page_box["y"] + page_box["height"] / 2  # on the page, in its upper half
    assert first["width"] > page_box["width"] / 4  # a box over a line of words, not a speck
    page.screenshot(path=str(tmp_path / "viewer.png"))

    page.locator("#tip-viewer-previous").click()
    dialog.get_by_text("page 1 of 2").wait_for()
    assert page.locator("#tip-viewer-previous").is_disabled()
    page.locator("#tip-viewer-next").click()
    dialog.get_by_text("page 2 of 2").wait_for()

    with page.expect_download() as pending:
        page.locator("#tip-viewer-download").click()
    saved = tmp_path / "original.pdf"
    pending.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")


def test_a_checked_sentence_opens_its_page_and_escape_gives_the_focus_back_to_its_button(page):
    page.get_by_role("tab", name="Check text").click()
    page.get_by_label("Text to check").fill("In 2022 the Kigoma task force identified 58 victims of forced labour.")
    page.get_by_role("button", name="Check", exact=True).click()
    opener = page.locator(".tip-checked button.tip-open")
    opener.wait_for()
    assert opener.inner_text() == "Open page 2"
    opener.focus()
    page.keyboard.press("Enter")

    dialog = page.locator("#tip-viewer [role=dialog]")
    dialog.wait_for()
    assert "page 2 of 2" in dialog.inner_text() and "the cited page" in dialog.inner_text()
    assert dialog.locator(".tip-page .tip-highlight").count() >= 1
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.wait_for_function("() => document.activeElement?.matches('.tip-checked button.tip-open')", timeout=5_000)
