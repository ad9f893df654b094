"""The web front end (Gradio): ``ui.serve`` launches it; ``render`` makes its HTML; ``handlers`` does its work.
The library packages know nothing of Gradio."""
