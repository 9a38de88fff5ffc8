"""``musicrec train-classifier``: the recommender (the rating model unless the ``recommender``
setting says otherwise), with its measured report: the pipeline's rating stage, run now."""

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
    from musicrec_desktop.pipeline import LibraryStage, Pipeline, PipelineState, RatingStage

    state = PipelineState(force={"rating"})
    outcome = Pipeline([LibraryStage(), RatingStage()]).run(ctx, state)
    if outcome.error is not None:
        raise outcome.error
    report = state.reports["rating"]
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 0
