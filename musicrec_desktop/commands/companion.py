"""``musicrec companion``: follow the running player, record the listening history, keep a radio going."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import MusicrecError

if TYPE_CHECKING:
    from musicrec_desktop.library.song import Song

ORDER = 62
log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "companion", help="follow the player: listening history and endless radio",
        description="Runs beside the player until Ctrl+C (or SIGTERM): records each song start, finish "
                    "and skip in the app's own history, and with --radio keeps a radio from the song "
                    "playing now going. Waits for the player when it is not running.")
    parser.add_argument("--radio", action="store_true",
                        help="start a radio from the song playing now and keep it topped up")
    add_player_options(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_companion.radio import stop_on_signals

    if args.radio:
        from musicrec_companion.session import run_radio

        with stop_on_signals() as stop:
            _radio, reason = run_radio(ctx, stop=stop, bus_address=args.bus, player=args.player)
    else:
        reason = _follow(ctx, args)
    log.info("companion ended: %s", reason)
    print(f"companion ended: {reason}")
    return 0


def _follow(ctx: AppContext, args: argparse.Namespace) -> str:
    """Records the listening history, waiting for the player when it is not running."""
    from musicrec_companion.follower import Follower, open_player
    from musicrec_companion.radio import stop_on_signals
    from musicrec_companion.tracker import library_keys
    from musicrec_desktop.store.history import HistoryStore

    ctx.dirs.create()
    bus, mpris, _adapter = open_player(ctx, args.bus, args.player)
    with bus, HistoryStore(ctx.dirs.history_db) as history:
        follower = Follower(mpris, history, None, wait_for_player=True,
                            key_for_url=library_keys(_library_songs(ctx)))
        with stop_on_signals() as stop:
            return follower.run(stop)


def _library_songs(ctx: AppContext) -> list[Song]:
    """The library's songs, so that the history names them by their keys.

    None for the built-in demo library (its songs are not in the person's player) and none, with
    a warning, when the library cannot be read: the history is still worth recording without keys.
    """
    from musicrec_desktop.library import current_library, resolve_source

    try:
        if resolve_source(ctx.settings)[0] == "demo":
            return []
        return current_library(ctx.settings, ctx.dirs).songs
    except MusicrecError as exc:
        log.warning("the history will not name songs by their library keys: %s", exc)
        return []
