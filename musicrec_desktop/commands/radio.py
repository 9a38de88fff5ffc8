"""``musicrec radio --seed PATH_OR_URL`` (or ``--from-current``: the song the player plays now)."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._output import add_json_flag
from musicrec_desktop.commands._recommendations import show
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import MusicrecError

ORDER = 51


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("radio", help="a radio of songs like one song")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", metavar="PATH_OR_URL", help="the song to start from (path or file URL)")
    source.add_argument("--from-current", action="store_true",
                        help="start from the song the running player plays (the player companion)")
    parser.add_argument("--n", type=int, default=50, help="how many songs (default 50)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    if args.from_current:
        try:
            from musicrec_companion.radio import radio_from_current
        except ImportError as exc:
            raise MusicrecError("radio --from-current needs the player companion "
                                f"(musicrec_companion.radio), which is not installed: {exc}") from exc
        return int(radio_from_current(ctx, args) or 0)
    from musicrec_desktop.recommend.service import Recommender

    recs, session = Recommender.open(ctx).radio(args.seed, args.n)
    show(recs, args.json, {"seed": session.seed_key})
    return 0
