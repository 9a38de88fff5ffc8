"""``musicrec recommend``: "Play recommended" as a list, a playlist file or JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicrec_desktop.commands._numbers import positive
from musicrec_desktop.commands._output import add_json_flag
from musicrec_desktop.commands._recommendations import show
from musicrec_desktop.context import AppContext

ORDER = 50


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("recommend", help="songs you will probably like, with the reason")
    parser.add_argument("--n", type=positive, default=50, help="how many songs (default 50)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="also write the list as a playlist into DIR")
    parser.add_argument("--seed", type=int, help="the same seed gives the same list")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.recommend.service import Recommender, write_playlists

    recs = Recommender.latest(ctx).recommended(args.n, seed=args.seed)
    files = write_playlists(ctx.settings, {"Recommended": recs}, args.out) if args.out else []
    show(recs, args.json, {"files": [str(f) for f in files]})
    return 0
