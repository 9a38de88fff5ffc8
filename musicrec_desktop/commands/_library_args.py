"""``--db`` and ``--player``: the library options of every command (``musicrec --db PATH ...``)
and of ``musicrec library`` after its name."""

from __future__ import annotations

import argparse

from musicrec_desktop.settings import options


def add_library_choice(parser: argparse.ArgumentParser) -> None:
    """``--db`` and ``--player``: which library this run reads, whatever the settings say.

    ``musicrec library`` takes them after its name too; both land in the same place, and
    ``argparse.SUPPRESS`` keeps an absent one from undoing the other.
    """
    choices = next(f.metadata["choices"] for f in options() if f.name == "player")
    parser.add_argument("--db", dest="library_db", metavar="PATH", default=argparse.SUPPRESS,
                        help="read the library from this Strawberry or Clementine database "
                             "(this run only)")
    parser.add_argument("--player", dest="library_player", choices=choices,
                        default=argparse.SUPPRESS,
                        help="which library to read (this run only; default: the player setting)")
