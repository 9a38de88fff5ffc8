"""``musicrec-companion [--data-dir DIR] [-v] [companion options]``: the same as ``musicrec companion``."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from musicrec_desktop.cli import main as musicrec

    args = list(sys.argv[1:] if argv is None else argv)
    # Options of ``musicrec`` itself go before the subcommand name.
    leading: list[str] = []
    while args and (args[0] in ("-v", "-vv", "--verbose") or args[0].startswith("--data-dir")):
        leading.append(args.pop(0))
        if leading[-1] == "--data-dir" and args:
            leading.append(args.pop(0))
    return musicrec([*leading, "companion", *args])


if __name__ == "__main__":
    sys.exit(main())
