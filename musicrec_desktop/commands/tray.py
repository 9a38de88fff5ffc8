"""``musicrec tray``: the desktop app in the system tray."""

from __future__ import annotations

import argparse

from musicrec_desktop.context import AppContext

ORDER = 5


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "tray", help="start the tray app (a second start brings up the running one)")
    parser.add_argument("--no-update", action="store_true",
                        help="do not look for library changes right after starting")
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.app.main import run_tray  # Qt only for this command

    return run_tray(ctx, update_on_start=not args.no_update)
