"""A drafter and an evaluator at work: Check text labels each sentence, Draft makes a summary whose Word file
downloads, and Evaluate runs a five-item gold file and shows its figures."""

from __future__ import annotations

import json
import zipfile


def test_check_text_labels_each_sentence(page):
    page.get_by_role("tab", name="Check text").click()
    page.get_by_label("Text to check").fill(
        "The Arusha shelter network hosted 212 survivors of trafficking in 2023. "
        "The Arusha shelter network hosted 950 survivors of trafficking in 2023."
    )
    page.get_by_role("button", name="Check", exact=True).click()
    page.get_by_text("1 supported, 0 partial, 1 with no support in the library").wait_for()
    shown = page.locator("body").inner_text()
    assert "✅ supported" in shown and "❌" in shown and "shelters-2023.txt" in shown


def test_a_summary_is_drafted_and_its_word_file_downloads(page, tmp_path):
    page.get_by_role("tab", name="Draft").click()
    box = page.locator(".block").filter(has=page.get_by_text("Download", exact=True)).filter(visible=True)
    assert box.count() == 0  # no empty box before anything is drafted
    page.get_by_label("Summarize a topic").fill("recruitment fees and debt bondage")
    page.get_by_role("button", name="Summarize").click()
    download_link = page.locator('a[data-testid="download-link"][download$=".docx"]')
    download_link.wait_for()
    assert box.count() == 1 and ".md" in box.inner_text()
    # The preview shows notes as a reader sees them: superscript numbers linking to a list of notes.
    note_link = page.locator(".tip-draft sup.tip-ref a").first
    assert note_link.inner_text() == "1" and note_link.get_attribute("href") == "#tip-note-1"
    assert page.locator(".tip-draft #tip-note-1").is_visible() and "[^1]" not in page.locator(".tip-draft").inner_text()
    with page.expect_download() as pending:
        download_link.click()
    word = tmp_path / "summary.docx"
    pending.value.save_as(word)
    with zipfile.ZipFile(word) as docx:  # a real Word file, with the quoted source in it
        body = docx.read("word/document.xml").decode("utf-8")
    assert "three months" in body or "debt bondage" in body


def test_an_evaluation_of_five_questions_shows_its_figures(page, tmp_path):
    gold = tmp_path / "five.jsonl"
    items = [
        (
            "b-1",
            "factoid",
            "How many survivors did the Arusha shelter network host in 2023?",
            ["212"],
            "shelters-2023.txt",
        ),
        ("b-2", "factoid", "How many survivors were referred to legal aid clinics?", ["64"], "shelters-2023.txt"),
        ("b-3", "factoid", "How much could recruitment fees in Mombasa reach?", ["three months"], "fees-brief.txt"),
        ("b-4", "unanswerable", "How many survivors did the shelters in Antarctica host in 2023?", [], None),
        ("b-5", "unanswerable", "What fees did agencies in Lima charge in 2019?", [], None),
    ]
    lines = [json.dumps({"id": i, "type": t, "question": q, "history": [], "answer": " ".join(m), "must_contain": m,
                         "source": s, "pages": None, "evidence": []}) for i, t, q, m, s in items]  # fmt: skip
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page.get_by_role("tab", name="Evaluate").click()
    report = page.locator(".block", has_text="Download the report")
    assert report.count() == 0 or not report.first.is_visible()  # no empty box before a run
    page.get_by_role("button", name="Run evaluation").click()
    message = page.get_by_text("Choose a gold set, or upload a gold file (.jsonl), first.")
    message.wait_for()
    upload = page.locator(".block", has_text="Or upload a gold file").locator("input[type=file]").first
    upload.set_input_files(str(gold))
    message.wait_for(state="hidden")  # the choice made, the message is no longer true
    page.get_by_role("button", name="Run evaluation").click()
    figures = page.get_by_text("gold set five.jsonl · 5 items (3 answerable, 2 unanswerable)")
    figures.wait_for()
    assert report.first.is_visible() and "results.json" in report.first.inner_text()
    table = page.locator("table").filter(has_text="answer correct").first
    assert "refusal" in table.inner_text()
