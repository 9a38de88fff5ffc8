"""``musicrec library``: what the app reads from the person's library."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._library_args import add_library_choice
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.library.snapshot import DEFAULT_WAIT_S
from musicrec_desktop.settings import genre_title

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "library", help="show the songs, ratings and genres read from your library",
        description="Reads the player's database (read-only, from a snapshot) or the music "
                    "folders and shows what was found.")
    add_library_choice(parser)  # also global options; here for `musicrec library --db PATH`
    parser.add_argument("--wait", type=float, default=DEFAULT_WAIT_S, metavar="SECONDS",
                        help="how long to wait while the player keeps its database locked "
                             f"(default {DEFAULT_WAIT_S:g})")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.library import load_library
    from musicrec_desktop.library.genres import GenreMapper
    from musicrec_desktop.library.summary import library_summary

    scan = load_library(ctx.settings, ctx.dirs, wait_s=args.wait)
    summary = library_summary(scan, GenreMapper.from_settings(ctx.settings))
    if args.json:
        print_json(summary)
    else:
        print_text(summary)
    return 0


def print_text(summary: dict) -> None:
    print(f"Library: {summary['source']}" + (f" ({summary['location']})" if summary["location"]
                                              else ""))
    print(f"  songs                {summary['songs']}")
    print(f"  local files present  {summary['local_files_present']}")
    print(f"  rated songs          {summary['rated_songs']}")
    print(f"  played songs         {summary['played_songs']}")
    print("Ratings (stars):")
    for stars, count in summary["rating_histogram_stars"].items():
        if count:
            print(f"  {stars:>3}  {count}")
    print(f"Genre categories ({summary['songs_with_genre_category']} songs labelled, "
          f"{summary['songs_without_genre']} without a genre tag):")
    for category, count in summary["songs_per_genre_category"].items():
        print(f"  {genre_title(category):<20} {count}")
    _print_counts("Most frequent unmapped genres", summary["top_unmapped_genres"])
    _print_counts("Skipped rows", summary["skipped_rows"])
    _print_counts("Notes", summary["notes"])


def _print_counts(title: str, counts: dict[str, int]) -> None:
    if counts:
        print(f"{title}:")
        for name, count in counts.items():
            print(f"  {count:>6}  {name}")
