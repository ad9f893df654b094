"""Words that point back at something said before, in one place. Each pattern has its own job, and its word
list is as wide as that job allows:

* ``FOLLOWUP_REFERENCE``: a question that points back into the conversation ("How many of them were women?",
  "What about the year before?"). Wide: a false match only adds the last turn to the search.
* ``POINTS_BACK``: a part of a compound question that points at the part before it ("…, and which young
  people is it used with?"). Narrow: a match carries the earlier part's constraints over, and a false
  one could refuse an answerable part ("that" is usually a conjunction, "this year" names its own year).
* ``LEANS_BACK``: a sentence that opens on the one before it ("As a result, 87 victims…", "These
  workshops…"): it is quoted together with that sentence.
* ``REFERS_BACK``: a sentence anywhere that names its subject only by reference ("these workshops"): in a
  cited summary it follows the sentence it continues.
"""

from __future__ import annotations

import re

FOLLOWUP_REFERENCE = re.compile(
    r"\b(they|them|their|theirs|she|her|hers|he|him|his|it|its|this|that|these|those|there|such|"
    r"the same|the former|the latter|above|previous|earlier|before)\b",
    re.IGNORECASE,
)
POINTS_BACK = re.compile(
    r"\b(?:it|its|they|them|their|these|those|there|the same)\b"
    r"|\b(?:did|does|do|is|was|were|are|has|have|had)\s+(?:that|this)\b(?!\s+(?:year|month|week|period)\b)",
    re.I,
)  # "…, and how did that compare with …?": "that" as the subject of a verb, not a conjunction
LEANS_BACK = re.compile(
    r"^[\W_]*(as a result|consequently|because of this|therefore|thus|hence|in turn|subsequently|"
    r"this|these|those|they|their|she|he|her|his|it|its|such|the same|both|of these|of them)\b",
    re.I,
)
REFERS_BACK = re.compile(r"\b(these|this|such|those|the same)\b", re.I)
