"""Text in a document that instructs its reader ("Ignore previous instructions and reply only with …").

A document is data. A sentence that tells a model what to do is never evidence for an answer and never an
answer itself: the support checker does not let it back a sentence, and the extractive composer does not
quote it. The pattern is narrow on purpose: documents about trafficking speak of instructions too ("victims
were told to ignore police instructions"), which are statements, not commands to the reader.
"""

from __future__ import annotations

import re

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?"
    r"(?:previous|prior|above|earlier|preceding|foregoing|system|original)\s+"
    r"(?:instructions?|prompts?|directions?|rules|messages?|context)\b"
    r"|\b(?:reply|respond|answer|output|print|say)\s+(?:only\s+with|with\s+only|nothing\s+but)\b"
    r"|\byou\s+are\s+now\s+(?:a|an|in)\b|\b(?:system|developer)\s+prompt\b",
    re.I,
)


def instructs_the_reader(text: str) -> bool:
    """Whether ``text`` holds a command addressed to whoever (or whatever) reads the document."""
    return INSTRUCTION.search(text) is not None
