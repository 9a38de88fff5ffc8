"""``musicrec embed [--device D] [--workers N] [--json]``: vectors for every song without one."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys

from musicrec_desktop.commands._numbers import worker_count
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.plugpoints import encoder_choices
from musicrec_desktop.progress import CancelToken, ignore_progress

ORDER = 35


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "embed", help="embed new songs with the chosen encoder backend",
        description="Writes a vector for every song that has none from the encoder backend "
                    "(the encoder setting, or --backend): a pretrained one listens to the song files, "
                    "the trained one to the chunk cache it was trained on; songs already embedded are "
                    "skipped, so new songs need no retraining.")
    parser.add_argument("--backend", choices=encoder_choices(), metavar="NAME",
                        help="the encoder backend to fill: " + ", ".join(encoder_choices())
                             + " (default: the encoder setting; see musicrec backends)")
    parser.add_argument("--device", default="auto",
                        help="auto, cpu, cuda or cuda:N (default: the device setting)")
    parser.add_argument("--workers", type=worker_count, metavar="N",
                        help="loader processes (default: the num_workers setting, on a GPU at least "
                             "one per core but one, up to 8; 0: none)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.pipeline.lock import exclusive_run

    with exclusive_run(ctx):  # `musicrec run` and the tray write the song embeddings too
        return embed(ctx, args)


def embed(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.commands.run import ConsoleProgress
    from musicrec_desktop.encoders.embed import embed_songs
    from musicrec_desktop.library import load_library

    ctx.dirs.create()
    songs = load_library(ctx.settings, ctx.dirs).local_songs  # fresh: new songs get their vectors
    progress = ConsoleProgress(sys.stderr) if sys.stderr.isatty() else ignore_progress
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        settings = ctx.settings if args.backend is None else ctx.settings.replace(encoder=args.backend)
        report = embed_songs(settings, ctx.dirs, songs, device=args.device, workers=args.workers,
                             progress=progress, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.json:
        print_json(dataclasses.asdict(report))
        return 0
    print(f"embedded {report.embedded} songs with {report.model_id} ({report.dim}-d) on {report.device}; "
          f"{report.up_to_date} already up to date ({report.songs_per_s:.1f} songs/s)")
    if report.unheard:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(report.unheard.items()))
        print(f"{sum(report.unheard.values())} songs could not be read ({reasons}); the log names them")
    return 0
