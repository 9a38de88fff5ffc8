"""``musicrec demo [--out DIR] [--songs N]``: write the generated demo library (music + ratings)."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from musicrec_desktop.commands._numbers import worker_count
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.demo import DEMO_SEED, DEMO_SONGS
from musicrec_desktop.progress import CancelToken

ORDER = 95


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="write the demo library: generated songs in seven styles and their ratings",
        description="Generates real FLAC, Ogg Vorbis and MP3 files in seven styles, tagged with "
                    "title, artist, album and genre, and a Strawberry database with the ratings, "
                    "plays and skips of a simulated listener. Without --out it goes where the app "
                    "looks for it (used when no player or music folder is set). Files already "
                    "written are kept; Ctrl+C stops and the next run carries on.")
    parser.add_argument("--out", metavar="DIR", help="folder to write the demo library into")
    parser.add_argument("--songs", type=int, default=DEMO_SONGS, metavar="N",
                        help=f"number of songs (default {DEMO_SONGS})")
    parser.add_argument("--length", type=float, nargs=2, default=(60.0, 180.0), metavar=("MIN", "MAX"),
                        help="shortest and longest song in seconds (default 60 180)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=worker_count, metavar="N", help="processes (default: one per core)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from pathlib import Path

    from musicrec_desktop.commands.run import ConsoleProgress
    from musicrec_desktop.demo.library import write_demo_library

    if args.songs < 1:
        raise SystemExit("musicrec demo: --songs must be 1 or more")
    if not 0 < args.length[0] <= args.length[1]:
        raise SystemExit("musicrec demo: --length needs 0 < MIN <= MAX")
    folder = Path(args.out) if args.out else ctx.dirs.state / "demo"
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    start = time.monotonic()
    try:
        # where the app looks for it, its listener's history goes where the app reads the history
        library = write_demo_library(folder, args.songs, args.seed, ConsoleProgress(sys.stderr), cancel,
                                     seconds=tuple(args.length), workers=args.workers,
                                     history_db=None if args.out else ctx.dirs.history_db)
    finally:
        signal.signal(signal.SIGINT, previous)
    seconds = time.monotonic() - start
    rated = sum(1 for s in library.songs if s.rating >= 0)
    if args.json:
        print_json({"folder": library.folder, "music": library.music, "database": library.database,
                    "songs": len(library.songs), "written": library.written, "rated": rated,
                    "plays": len(library.plays), "seconds": round(seconds, 1)})
        return 0
    print(f"demo library: {len(library.songs)} songs in {library.music} "
          f"({library.written} written now, {seconds:.1f} s)")
    print(f"ratings ({rated} rated songs): {library.database}")
    if not args.out:
        print(f"listening history: {len(library.plays)} plays, in {ctx.dirs.history_db}")
    if args.out:
        print("use it:  musicrec config set player strawberry && "
              f"musicrec config set database_path '{library.database}'")
    return 0
