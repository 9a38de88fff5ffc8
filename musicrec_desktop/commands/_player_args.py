"""Options shared by the commands that drive the running player (companion)."""

from __future__ import annotations

import argparse


def add_player_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--player", choices=("strawberry", "clementine"),
                        help="the player to use (default: the companion_player setting, or the only "
                             "one running)")
    parser.add_argument("--bus", metavar="ADDRESS",
                        help="D-Bus address of the session bus (default: this desktop session's)")
