"""Grounding: whether a sentence is supported by the passage it cites."""
