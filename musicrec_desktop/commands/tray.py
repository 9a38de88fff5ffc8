"""``musicrec tray``: the desktop app in the system tray."""

from __future__ import annotations

import argparse

from musicrec_desktop.context import AppContext

ORDER = 5


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "tray", help="start the tray app (a second start brings up the running one)",
        description="Starts the tray app. When it is already running, this asks the running one "
                    "to show its progress window, or to do what an option asks (the desktop "
                    "entry's actions use them), so that two never work at once.")
    parser.add_argument("--no-update", action="store_true",
                        help="do not look for library changes right after starting")
    request = parser.add_mutually_exclusive_group()
    for flag, text in (("--rebuild", "rebuild the model"),
                       ("--play-recommended", "play recommended songs in the player"),
                       ("--radio", "start a radio from the song the player plays")):
        request.add_argument(flag, dest="request", action="store_const", const=flag[2:],
                             help=f"{text}, in the running tray (started first when none is)")
    parser.set_defaults(run=run, request="show")


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.app.main import run_tray  # Qt only for this command

    return run_tray(ctx, update_on_start=not args.no_update, request=args.request)
