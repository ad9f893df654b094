import pytest

from prompts import PromptError, load_prompt, load_prompts


def test_shipped_prompts_load_and_fill():
    prompts = load_prompts()
    text = prompts["answer"].format(question="Q?", passages="[1] a passage")
    assert "Q?" in text and "[1] a passage" in text


def test_unknown_placeholder_is_rejected_with_the_file_named(tmp_path):
    (tmp_path / "answer.md").write_text("{question} {passages} {secret}", encoding="utf-8")
    with pytest.raises(PromptError, match=r"answer\.md.*unknown \['secret'\]"):
        load_prompt("answer", tmp_path)


def test_missing_placeholder_is_rejected(tmp_path):
    (tmp_path / "condense.md").write_text("{question}", encoding="utf-8")
    with pytest.raises(PromptError, match=r"missing \['history'\]"):
        load_prompt("condense", tmp_path)
