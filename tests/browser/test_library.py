"""Someone keeping the library, in the Library tab: a good file and a broken one uploaded together, and a
document removed only after confirming."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.browser.conftest import FEES, SHELTERS, UI_TIMEOUT_MS, start_server
from tests.ports import free_port
from tests.shared_paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    """A library of its own: these tests change it."""
    running = start_server(tmp_path_factory.mktemp("library") / "data", embedder,
                           {"shelters-2023.txt": SHELTERS, "fees-brief.txt": FEES})  # fmt: skip
    yield running
    running.close()


def open_library(page):
    page.get_by_role("tab", name="Library").click()
    page.get_by_role("button", name="Add to library").wait_for()


def test_a_good_file_is_added_and_a_broken_one_is_reported(page, tmp_path):
    good = tmp_path / "kisumu-2024.txt"
    good.write_text("In 2024 the Kisumu outreach team referred 17 possible victims to shelters.", encoding="utf-8")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a PDF")
    open_library(page)
    page.locator("input[type=file]").first.set_input_files([str(good), str(broken)])
    page.get_by_role("button", name="Add to library").click()
    report = page.get_by_label("Ingest report")
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('in the library'))"
    )
    text = report.input_value()
    assert "✅ kisumu-2024.txt: added" in text and "❌ broken.pdf: failed" in text
    assert "1 added, 1 failed; 3 documents in the library" in text
    listed(page, "kisumu-2024.txt").wait_for()  # the table shows it


def test_removal_asks_first_and_cancel_keeps_the_document(page):
    open_library(page)
    choose_document(page, "fees-brief.txt")
    page.get_by_role("button", name="Remove…").click()
    status = page.get_by_label("Removal")
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('cannot be undone'))"
    )
    assert "Remove fees-brief.txt" in status.input_value()
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('Nothing was removed'))"
    )
    assert listed(page, "fees-brief.txt").is_visible()

    page.get_by_role("button", name="Remove…").click()
    page.get_by_role("button", name="Confirm removal").click()
    page.wait_for_function("() => [...document.querySelectorAll('textarea')].some(t => t.value.startsWith('Removed'))")
    assert "Removed fees-brief.txt" in status.input_value()
    listed(page, "fees-brief.txt").wait_for(state="detached")


def listed(page, source: str):
    """The cell of the Documents table that shows ``source``."""
    return page.get_by_role("gridcell").filter(has_text=source).first


def choose_document(page, source: str) -> None:
    page.get_by_role("combobox", name="Document to remove").click()
    page.get_by_role("option", name=source).first.click()


def test_a_page_opened_during_start_up_shows_the_stage_then_the_library(browser, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "shelters-2023.txt").write_text(SHELTERS, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "TIP_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.interfaces.cli", "serve", "--port", str(port), "--docs", str(docs)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        while "listening on" not in (line := server.stdout.readline()):
            assert line, "the server stopped before listening"
        page.goto(f"http://127.0.0.1:{port}/")
        stage = page.locator("#tip-startup")
        stage.get_by_text("⏳").wait_for()  # the model is loading, or the documents are being added
        stage.wait_for(state="hidden")
        open_library(page)
        listed(page, "shelters-2023.txt").wait_for()  # refreshed once the start-up added it
        page.screenshot(path=str(tmp_path / "shot.png"), full_page=True)
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=30)
