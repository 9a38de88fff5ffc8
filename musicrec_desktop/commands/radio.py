"""``musicrec radio --seed PATH_OR_URL [--seed ...] [--play]`` or ``--from-current``: songs like one
song or several, listed or played as an endless radio in the running player (the player companion)."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._numbers import positive
from musicrec_desktop.commands._output import add_json_flag
from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.commands._recommendations import show
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import MusicrecError

ORDER = 51
LISTED = 50  # songs listed without --n


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "radio", help="a radio of songs like one song or several",
        description="Lists songs like the seed (or the seeds: they take turns), or with --play (and "
                    "--from-current) plays them in the running player as an endless radio: topped "
                    "up as you listen until Ctrl+C, SIGTERM or other music. Never a seed or a "
                    "near-duplicate of one. Among songs near the seed, those that suit what you "
                    "have been listening to in this session (since a break of over 30 minutes, the "
                    "radio's own songs included) come first.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", metavar="PATH_OR_URL", action="append",
                        help="a song to start from (path or file URL); repeat it for a radio from "
                             "several songs")
    source.add_argument("--from-current", action="store_true",
                        help="play a radio from the song the running player plays")
    parser.add_argument("--play", action="store_true",
                        help="play the radio from --seed in the running player: the (first) seed now, "
                             "then songs like the seeds")
    parser.add_argument("--n", type=positive, help=f"how many songs (default {LISTED}); in the player: the "
                                              "first batch and each top-up (default 5)")
    add_player_options(parser)
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    if args.from_current or args.play:
        return play_radio(ctx, args)
    from musicrec_desktop.recommend.service import Recommender

    recs, session = Recommender.latest(ctx).radio(args.seed, args.n or LISTED)
    show(recs, args.json, {"seed": session.seed_key, "seeds": session.seed_keys})
    return 0


def play_radio(ctx: AppContext, args: argparse.Namespace) -> int:
    try:
        from musicrec_companion.radio import BATCH_SIZE, stop_on_signals
        from musicrec_companion.session import run_radio
    except ImportError as exc:
        raise MusicrecError("playing a radio needs the player companion (musicrec_companion), which is "
                            f"not installed: {exc}") from exc

    def started(radio) -> None:
        print(f"radio from {radio.seed_name}: {len(radio.queued)} songs added", flush=True)

    with stop_on_signals() as stop:
        radio, reason = run_radio(ctx, seed=None if args.from_current else args.seed, stop=stop,
                                  bus_address=args.bus, player=args.player, batch_size=args.n or BATCH_SIZE,
                                  on_start=started)
    print(f"radio ended: {reason} ({len(radio.queued) if radio else 0} songs added)")
    return 0
