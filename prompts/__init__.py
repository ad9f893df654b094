"""Prompt templates, kept as files: data that can be read and changed without touching code.

``load_prompts()`` reads and validates every template at start, so a broken template fails loudly then
rather than in the middle of an answer. The extractive default uses none of them; LLM composers do.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import TipError

PROMPT_DIR = Path(__file__).parent

# Each template and the placeholders it must contain (and may not go beyond).
REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    "system": frozenset(),  # the rules, sent as the system message
    "answer": frozenset({"question", "passages"}),
    "condense": frozenset({"history", "question"}),
    "summary": frozenset({"passages", "topic", "heading"}),  # one section of a cited summary
}


class PromptError(TipError, ValueError):
    """A prompt file is missing or its placeholders do not match what the code fills in."""


@dataclass(frozen=True)
class Prompt:
    name: str
    template: str

    def format(self, **values: str) -> str:
        return self.template.format(**values)


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def load_prompt(name: str, directory: Path = PROMPT_DIR) -> Prompt:
    path = directory / f"{name}.md"
    if not path.exists():
        fix = "restore it from the distribution" if directory == PROMPT_DIR else f"copy it from {PROMPT_DIR}"
        raise PromptError(f"prompt file {path} is missing: {fix}")
    template = path.read_text(encoding="utf-8")
    found, required = placeholders(template), REQUIRED_FIELDS[name]
    if found != required:
        missing, unknown = sorted(required - found), sorted(found - required)
        raise PromptError(
            f"prompt file {path}: placeholders must be exactly {sorted(required)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unknown {unknown} (write literal braces as {{{{ and }}}})" if unknown else "")
        )
    return Prompt(name, template)


def load_prompts(directory: Path = PROMPT_DIR) -> dict[str, Prompt]:
    return {name: load_prompt(name, directory) for name in REQUIRED_FIELDS}
