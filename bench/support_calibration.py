"""Calibrate and measure the support checker on the labelled pairs (``tests/data/support_pairs.jsonl``).

Prints the confusion table, accuracy, the share of changed-number sentences labelled unsupported and the
share of sentences-as-written labelled unsupported. With ``--sweep``, also the accuracy over a grid of the
two thresholds, which is how ``SupportConfig``'s defaults were chosen. Run from the project root:

    python bench/support_calibration.py [--data-dir DIR] [--sweep]

(without ``--data-dir`` the corpus is ingested into a temporary library first).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.evaluation.support_eval import confusion_table, label_pairs, load_pairs, summarize_pairs  # noqa: E402
from assistant.grounding.support import SupportChecker, SupportConfig  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings, use_offline_mode  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "tests" / "data" / "support_pairs.jsonl"
CORPUS = ROOT.parent / "shared" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="an existing library of ../shared/corpus")
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--sweep", action="store_true", help="accuracy over a grid of thresholds")
    args = parser.parse_args()
    use_offline_mode()
    pairs = load_pairs(args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(Settings(data_dir=args.data_dir or Path(tmp) / "data"))
        if args.data_dir is None:
            assistant.ingest([CORPUS])
        passage = assistant.page_evidence
        config = SupportConfig()
        summary = summarize_pairs(label_pairs(SupportChecker(assistant.embedder, config), pairs, passage))
        print(f"{summary['pairs']} pairs; supported_at {config.supported_at}, partial_at {config.partial_at}")
        print(confusion_table(summary))
        print(f"accuracy {summary['accuracy']:.3f}")
        print(f"changed number labelled unsupported {summary['changed_number_unsupported']:.3f}")
        print(f"as written labelled unsupported {summary['as_written_unsupported']:.3f}")
        if args.sweep:
            for supported_at in (0.6, 0.65, 0.7, 0.72, 0.75, 0.8):
                for partial_at in (0.45, 0.5, 0.55, 0.6):
                    if partial_at >= supported_at:
                        continue
                    checker = SupportChecker(assistant.embedder, replace(config, supported_at=supported_at,
                                                                          partial_at=partial_at))
                    s = summarize_pairs(label_pairs(checker, pairs, passage))
                    print(f"  supported_at {supported_at:.2f} partial_at {partial_at:.2f}: accuracy "
                          f"{s['accuracy']:.3f}, number {s['changed_number_unsupported']:.3f}, "
                          f"as written unsupported {s['as_written_unsupported']:.3f}")


if __name__ == "__main__":
    main()
