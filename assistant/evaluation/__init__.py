"""Measurement: gold-set evaluation, retrieval benchmarks, metrics and reports. Imported only by the eval commands
and the bench scripts, never on the path of a question."""
