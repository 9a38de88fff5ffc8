"""``musicrec companion``: follow the running player, record the listening history, keep a radio going."""

from __future__ import annotations

import argparse
import logging

from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.context import AppContext

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
    import threading

    from musicrec_companion.follower import Follower, open_player
    from musicrec_companion.radio import Radio, RecommenderFeed, seed_of, stop_on_signals
    from musicrec_desktop.errors import PlayerError
    from musicrec_desktop.store.history import HistoryStore

    ctx.dirs.create()
    bus, mpris, adapter = open_player(ctx, args.bus, args.player)
    with bus, HistoryStore(ctx.dirs.history_db) as history:
        radio = None
        if args.radio:
            from musicrec_desktop.recommend.service import Recommender

            now = mpris.now_playing()
            if not now.url:
                raise PlayerError("nothing is playing: start a song, then start the radio from it")
            radio = Radio(adapter, RecommenderFeed(Recommender.open(ctx), seed_of(now)))
            radio.start(now)
        follower = Follower(mpris, history, radio, wait_for_player=radio is None)
        stop = threading.Event()
        with stop_on_signals(stop):
            reason = follower.run(stop)
        log.info("companion ended: %s", reason)
    print(f"companion ended: {reason}")
    return 0
