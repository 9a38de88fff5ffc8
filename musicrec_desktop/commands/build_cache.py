"""``musicrec build-cache [--workers N] [--folder DIR] [--json]``: fill the audio chunk cache."""

from __future__ import annotations

import argparse
import signal
import sys

from musicrec_desktop.commands._numbers import worker_count
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.progress import CancelToken, ignore_progress

ORDER = 20


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "build-cache", help="decode every song's chunks into the audio cache (incremental)",
        description="Caches 16 kHz chunks of every local song. Only new and changed songs are "
                    "decoded; songs gone from the library are removed from the cache. Ctrl+C stops "
                    "and keeps what is done; the next build carries on.")
    parser.add_argument("--workers", type=worker_count, metavar="N",
                        help="decoding processes (default: the num_workers setting; 0: no extra processes)")
    parser.add_argument("--folder", metavar="DIR", action="append",
                        help="cache the audio files of this folder instead of the library "
                             "(repeatable; entries of other songs are kept)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.pipeline.lock import exclusive_run

    with exclusive_run(ctx):  # `musicrec run` and the tray write the chunk cache too
        return build(ctx, args)


def build(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.audio.build import build_cache
    from musicrec_desktop.commands.run import ConsoleProgress

    ctx.dirs.create()
    if args.folder:
        from musicrec_desktop.library.folders import scan_folders

        scan = scan_folders(args.folder)
    else:
        from musicrec_desktop.library import load_library

        # A fresh read (it refreshes the stored library): songs that left the library, or whose
        # drive is away, are told apart only by reading it now.
        scan = load_library(ctx.settings, ctx.dirs)
    progress = ConsoleProgress(sys.stderr) if sys.stderr.isatty() else ignore_progress
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        # All songs, not only local ones: a song whose file is away keeps its entry.
        report = build_cache(scan.songs, ctx.settings, ctx.dirs, progress, cancel,
                             workers=args.workers, collect=not args.folder)
    finally:
        signal.signal(signal.SIGINT, previous)
    if scan.source == "folders":
        # Files that were rejected while reading their tags never became songs; they are
        # skipped all the same (a player database reports its own rows in `musicrec library`).
        report.skipped.update(scan.skipped)
    if args.json:
        print_json(report.__dict__)
        return 0
    skipped = sum(report.skipped.values())
    print(f"cached {report.cached}, up to date {report.up_to_date}, skipped {skipped}, "
          f"removed {report.removed} in {report.seconds:.1f} s")
    for reason, count in report.skipped.most_common():
        print(f"  skipped {count}: {reason}")
    if report.skipped["over_budget"]:
        print(f"size budget of {ctx.settings.cache_budget_gb:g} GB reached: "
              f"{report.skipped['over_budget']} songs not cached (raise cache_budget_gb to cache them)")
    per_song = report.total_bytes / report.songs if report.songs else 0
    print(f"cache: {report.songs} songs, {report.total_bytes / 1e6:.1f} MB "
          f"({per_song / 1e6:.2f} MB a song)")
    return 0
