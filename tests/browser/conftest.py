"""Real-browser tests: Debian's Chromium driven by Playwright for Python, against a server each module starts
on a free loopback port over a small library written here. Each test keeps a screenshot of the page as it
left it under its pytest temporary folder (``shot.png``).

Chromium is the system one (`/usr/bin/chromium`, installed by `.ci/run` with apt-get); Playwright's own
browser download is never used. Without it, the tests are skipped with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.interfaces import server
from assistant.service import Assistant
from assistant.settings import Settings
from tests.pdf_factory import make_text_pdf
from tests.ports import free_port

CHROMIUM = Path("/usr/bin/chromium")
UI_TIMEOUT_MS = 120_000  # the first answer on a busy two-core machine can take several seconds

SHELTERS = (
    "Shelter network annual report\n\n"
    "In 2023, the Arusha shelter network hosted 212 survivors of trafficking. Most survivors were women "
    "recruited for domestic work abroad.\n\n"
    "In 2023, the Arusha network referred 64 of these survivors to legal aid clinics."
)
FEES = (
    "Recruitment fees brief\n\n"
    "Recruitment agencies in Mombasa charged migrant workers fees of up to three months' wages in 2022. "
    "Workers who could not pay were held in debt bondage."
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed: apt-get install chromium (as .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def start_server(
    data_dir: Path, embedder, docs: dict[str, str] | None = None, pdfs: dict[str, list[str]] | None = None, **settings
) -> server.BackgroundServer:
    """A running server over a library in ``data_dir`` holding ``docs`` (file name → text) and ``pdfs`` (file
    name → the text of each page, written as a real PDF)."""
    assistant = Assistant(Settings(data_dir=data_dir, port=free_port(), **settings), embedder=embedder)
    folder = data_dir.parent / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (docs or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    for name, pages in (pdfs or {}).items():
        make_text_pdf(folder / name, pages)
    if docs or pdfs:
        assert assistant.ingest([folder]).ok
    return server.serve(assistant, background=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[server.BackgroundServer]:
    """A server over a two-document library, shared by a module's tests that do not change the library."""
    running = start_server(tmp_path_factory.mktemp("library") / "data", embedder,
                           {"shelters-2023.txt": SHELTERS, "fees-brief.txt": FEES})  # fmt: skip
    yield running
    running.close()


@pytest.fixture
def page(browser, served, tmp_path):
    """A fresh page on the module's server; its screenshot is kept in ``tmp_path / "shot.png"``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(UI_TIMEOUT_MS)
    opened.goto(served.url + "/")
    opened.get_by_role("tab", name="Chat").wait_for()
    yield opened
    opened.screenshot(path=str(tmp_path / "shot.png"), full_page=True)
    context.close()
