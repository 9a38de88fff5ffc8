"""``musicrec study``: every encoder backend x every recommender on your listening sessions, the
design study's table; the best on the validation sessions is what ``recommender = auto`` uses."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.commands._study_table import table_text
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.progress import CancelToken, ignore_progress

ORDER = 54


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "study", help="measure every recommender on your listening sessions and choose the best",
        description="Splits the listening history at a cut-off: recommenders learn from the time "
                    "before it; each listening session after it is asked about from its first "
                    "songs and should find the new songs it went on to play. Sessions alternate "
                    "into a validation half (which chooses what recommender = auto uses) and a "
                    "test half (the table). Needs a listening history: musicrec history import FILE.")
    parser.add_argument("--csv", type=Path, metavar="FILE",
                        help="where to write the table as CSV (default: reports/study.csv in the "
                             "data folder)")
    parser.add_argument("--with-heard", action="store_true",
                        help="also count the songs heard before the cut-off (favourites coming back), "
                             "not only new ones; this measures only: the choice follows the default")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.pipeline.lock import exclusive_run

    with exclusive_run(ctx):  # `musicrec run` and the tray write the recommender's choice too
        return study(ctx, args)


def study(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.commands.run import ConsoleProgress
    from musicrec_desktop.library import current_library
    from musicrec_desktop.plugpoints import AUTO
    from musicrec_desktop.recommend.evaluate import TooLittleListening
    from musicrec_desktop.recommend.service import decided_recommender, train_recommender
    from musicrec_desktop.recommend.study_run import run_study, write_csv

    scan = current_library(ctx.settings, ctx.dirs)
    progress = ConsoleProgress(sys.stderr) if sys.stderr.isatty() else ignore_progress
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    before = decided_recommender(ctx.dirs)
    try:
        result = run_study(ctx.settings, ctx.dirs, scan, with_heard=args.with_heard, progress=progress,
                           cancel=cancel)
        trained = None
        if (ctx.settings.recommender == AUTO and not args.with_heard and result["chosen"]
                and result["chosen"] != before):
            # radio and Play recommended read the saved model of the choice: it must exist now
            train_recommender(ctx.settings, ctx.dirs, scan, progress=progress, cancel=cancel)
            trained = result["chosen"]
    except TooLittleListening as exc:
        raise NotReadyError(f"no study: {exc.reason}") from exc
    finally:
        signal.signal(signal.SIGINT, previous)
    default = "study-with-heard.csv" if args.with_heard else "study.csv"
    csv_path = write_csv(result, args.csv or ctx.dirs.reports / default)
    result["csv"] = str(csv_path)
    if args.json:
        print_json(result)
        return 0
    print(table_text(result))
    if args.with_heard:
        print(f"(measured only: recommender = auto keeps what the default study chose, {before})")
    elif ctx.settings.recommender == AUTO:
        print(f"recommender = auto uses {result['chosen']}" + (" (trained now)" if trained else ""))
    else:
        print(f"recommender = {ctx.settings.recommender}; auto would use {result['chosen']}")
    print(f"table written to {csv_path}")
    return 0
