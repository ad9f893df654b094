"""Text helpers shared by every layer above them: word forms and stems, the library vocabulary, place names."""
