"""Where the shared corpus and gold sets are, seen from the project root (read-only in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
GOLD_DEV = SHARED / "eval" / "qa-dev.jsonl"
GOLD_DEV_2 = SHARED / "eval" / "qa-dev-2.jsonl"  # near misses, out-of-library, typos, follow-ups (a kind per item)
SUBMISSION = CORPUS / "UNODC-submission-SR-TIP-gender-peace-security-2024.txt"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path
