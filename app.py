"""The web app's composition root: settings → ``Assistant`` → web UI → launch on loopback.

    python app.py [--docs FILE_OR_FOLDER ...] [--data-dir DIR] [--host HOST] [--port PORT]

then open http://127.0.0.1:7860. The same as ``tip-assistant serve``, whose command line and error handling
this is: a setting a user can fix ends in one line on stderr and exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from assistant.interfaces.cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> None:
    sys.exit(cli_main(["serve", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    main()
