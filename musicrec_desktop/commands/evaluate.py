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
    from musicrec_desktop.library import current_library
    from musicrec_desktop.recommend.evaluate import evaluate, summary
    from musicrec_desktop.recommend.service import _table
    from musicrec_desktop.recommend.taste import history_events

    scan = current_library(ctx.settings, ctx.dirs)
    table = _table(ctx.settings, ctx.dirs, scan)
    events = history_events(ctx.dirs.history_db, scan.songs)
    result = evaluate(table, events, settings=ctx.settings)
    if args.json:
        print_json(result)
    else:
        print(summary(result))
    return 0
