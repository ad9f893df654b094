"""Measurement: gold-set evaluation, comparisons of two runs, retrieval benchmarks, metrics and reports. Imported
only by the eval commands, the web UI's Evaluate tab and the bench scripts, never on the path of a question."""
