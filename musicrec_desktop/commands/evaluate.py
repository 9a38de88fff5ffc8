"""``musicrec evaluate``: time-split offline metrics of the recommenders, with 95 % intervals."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext

ORDER = 53


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("evaluate", help="measure the recommendations on your later listening")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.library import load_library
    from musicrec_desktop.recommend.evaluate import evaluate, history_events, summary
    from musicrec_desktop.recommend.rating import RatingConfig
    from musicrec_desktop.recommend.service import _table

    scan = load_library(ctx.settings, ctx.dirs)
    table = _table(ctx.settings, ctx.dirs, scan)
    events = None
    if ctx.dirs.history_db.exists():
        events = history_events(ctx.dirs.history_db, {s.url: s.key for s in scan.songs})
    config = RatingConfig(epochs=ctx.settings.rating_epochs, seed=ctx.settings.seed)
    result = evaluate(table, events, config=config)
    if args.json:
        print_json(result)
    else:
        print(summary(result))
    return 0
