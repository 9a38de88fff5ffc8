"""``musicrec radio --seed PATH_OR_URL [--play]`` or ``--from-current``: songs like one song, listed or
played as an endless radio in the running player (the player companion)."""

from __future__ import annotations

import argparse
import logging

from musicrec_desktop.commands._numbers import positive
from musicrec_desktop.commands._output import add_json_flag
from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.commands._recommendations import show
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import MusicrecError

ORDER = 51
LISTED = 50  # songs listed without --n

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "radio", help="a radio of songs like one song",
        description="Lists songs like the seed, or with --play (and --from-current) plays them in the "
                    "running player as an endless radio: topped up as you listen until Ctrl+C, "
                    "SIGTERM or other music.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", metavar="PATH_OR_URL", help="the song to start from (path or file URL)")
    source.add_argument("--from-current", action="store_true",
                        help="play a radio from the song the running player plays")
    parser.add_argument("--play", action="store_true",
                        help="play the radio from --seed in the running player: the seed now, then "
                             "songs like it")
    parser.add_argument("--n", type=positive, help=f"how many songs (default {LISTED}); in the player: the "
                                              "first batch and each top-up (default 5)")
    add_player_options(parser)
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    if args.from_current or args.play:
        return play_radio(ctx, args)
    from musicrec_desktop.recommend.service import Recommender

    recs, session = Recommender.open(ctx).radio(args.seed, args.n or LISTED)
    show(recs, args.json, {"seed": session.seed_key})
    return 0


def play_radio(ctx: AppContext, args: argparse.Namespace) -> int:
    try:
        from musicrec_companion.follower import Follower, open_player
        from musicrec_companion.radio import (
            BATCH_SIZE,
            require_playing,
            start_recommended_radio,
            stop_on_signals,
        )
        from musicrec_companion.tracker import library_keys
    except ImportError as exc:
        raise MusicrecError("playing a radio needs the player companion (musicrec_companion), which is "
                            f"not installed: {exc}") from exc
    from musicrec_desktop.recommend.service import Recommender
    from musicrec_desktop.store.history import HistoryStore

    # The player first: without one, or with nothing playing, say so before the recommender loads.
    bus, mpris, adapter = open_player(ctx, args.bus, args.player)
    with bus:
        if args.from_current:
            require_playing(mpris.now_playing())
        recommender = Recommender.open(ctx)
        radio = start_recommended_radio(adapter, recommender, None if args.from_current else args.seed,
                                        args.n or BATCH_SIZE)
        print(f"radio from {radio.seed_name}: {len(radio.queued)} songs added", flush=True)
        ctx.dirs.create()
        with HistoryStore(ctx.dirs.history_db) as history, stop_on_signals() as stop:
            follower = Follower(mpris, history, radio, wait_for_player=False,
                                key_for_url=library_keys(recommender.table.songs))
            reason = follower.run(stop)
    log.info("radio ended: %s", reason)
    print(f"radio ended: {reason} ({len(radio.queued)} songs added)")
    return 0
