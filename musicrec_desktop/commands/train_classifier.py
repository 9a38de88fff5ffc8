"""``musicrec train-classifier``: the rating model, with its cross-validated report."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext

ORDER = 40


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train-classifier", help="learn your ratings from the song embeddings")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.recommend.service import train_rating_model

    report = train_rating_model(ctx.settings, ctx.dirs)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 0
