"""``musicrec playlists``: writes the generated playlists into the playlist folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext

ORDER = 52


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("playlists", help="write Discover, genre, Forgotten favourites, ... playlists")
    parser.add_argument("--out", metavar="DIR", type=Path, help="folder (default: the output_dir setting)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.pipeline.lock import exclusive_run

    with exclusive_run(ctx):  # `musicrec run` and the tray write the playlist files too
        return write_playlist_files(ctx, args)


def write_playlist_files(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.recommend.service import Recommender, write_playlists

    lists = Recommender.latest(ctx).generated_playlists()
    files = write_playlists(ctx.settings, lists, args.out)
    if args.json:
        print_json({"playlists": {name: len(songs) for name, songs in lists.items()},
                    "files": [str(f) for f in files]})
    else:
        for name, songs in lists.items():
            print(f"{name}: {len(songs)} songs")
        for f in files:
            print(f"wrote {f}")
    return 0
