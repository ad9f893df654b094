"""The model that writes a section of a cited summary, when ``TIP_LLM`` is set (``drafting.SectionWriter``).

It writes from the section's notes, as the generative composer answers from passages, and what it writes is
checked the same way (``assistant.answering.generative``): each sentence must be supported by a note it
cites, or is re-cited to the note that supports it; unsupported ones are flagged or dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assistant.answering.generative import as_data, check_drafted, message_text, parse_markers
from assistant.drafting.drafts import DraftSentence
from assistant.grounding.support import SupportChecker
from assistant.settings import Settings
from assistant.types import Citation, SupportLabel
from prompts import Prompt


class ModelSectionWriter:
    """Writes one section of a cited summary with the model, from the section's notes, then checks it:
    each sentence must be supported by a note it cites (or is re-cited to the note that supports it);
    unsupported ones are flagged or dropped as for answers. Raises whatever the client raises on failure."""

    def __init__(self, model, prompts: Mapping[str, Prompt], checker: SupportChecker, settings: Settings):
        self.model = model
        self.prompts = prompts
        self.checker = checker
        self.settings = settings

    def write(self, topic: str, heading: str | None, notes: Sequence[Citation]) -> list[DraftSentence]:
        """The model's prose for one section, from its notes, each sentence checked and cited (see the class)."""
        passages = "\n".join(
            f'<passage n="{i}" page="{n.page}">\n{as_data(n.quote)}\n</passage>' for i, n in enumerate(notes, 1)
        )
        prompt = self.prompts["summary"].format(passages=passages, topic=topic, heading=heading or topic)
        reply = self.model.invoke([("system", self.prompts["system"].template), ("human", prompt)])
        drafted = parse_markers(message_text(reply.content), len(notes))
        evidence = [n.span() for n in notes]
        own, anywhere = check_drafted(self.checker, drafted, evidence)
        sentences = []
        for d, mine, best in zip(drafted, own, anywhere, strict=True):
            chosen = next((s for s in (mine, best) if s.label is SupportLabel.SUPPORTED), None)
            if chosen is not None:
                note = next(n for n in notes if (n.doc_id, n.page) == (chosen.doc_id, chosen.page)
                            and n.start <= chosen.start < n.end)  # fmt: skip
                sentences.append(DraftSentence(d.text, (note.n,), chosen.label.value))
            elif self.settings.unsupported != "drop":
                sentences.append(DraftSentence(d.text, (), best.label.value))
        return sentences
