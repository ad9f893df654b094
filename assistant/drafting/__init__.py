"""Drafting: cited summaries across documents, sources attached to a draft, and their export (Markdown, Word)."""
