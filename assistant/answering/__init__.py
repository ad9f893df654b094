"""Answering a question: reading it, retrieving passages, composing a cited answer (extractive or generated),
as one pipeline."""
