"""``musicrec search "calm piano for a rainy evening" [--n 20] [--play] [--json]``: songs found by
words, through the text search the pipeline aligned to the song embeddings (issue 16);
``--evaluate`` prints how well it finds held-out songs, against matching the words to the tags."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING

from musicrec_desktop.commands._numbers import positive
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import EXIT_USAGE, MusicrecError

if TYPE_CHECKING:
    from musicrec_desktop.textsearch.service import Found

ORDER = 55
COUNT = 20  # songs without --n


class EmptySearchError(MusicrecError):
    """A search with no words: a usage mistake, like a bad argument."""

    exit_code = EXIT_USAGE

    def __init__(self) -> None:
        super().__init__('search: give the words to search for, e.g. musicrec search "calm piano" '
                         "(or --evaluate)")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "search", help="find songs by words (\"calm piano for a rainy evening\")",
        description="Finds the songs of your library that best match the words, also words that "
                    "none of their tags contain (the text search learns from your library's tags "
                    "and sounds; `musicrec run` trains it). --play plays them in the running player "
                    "as a playlist; --evaluate shows how well it finds held-out songs.")
    parser.add_argument("query", nargs="*", metavar="WORDS", help="what to look for (quotes optional)")
    parser.add_argument("-n", "--n", dest="count", type=positive, default=COUNT, metavar="N",
                        help=f"how many songs (default {COUNT})")
    parser.add_argument("--play", action="store_true", help="play the songs found in the running player")
    parser.add_argument("--evaluate", action="store_true",
                        help="show Recall@1/5/10 and MRR on held-out songs, against tag matching")
    add_player_options(parser)
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.textsearch.evaluate import summary
    from musicrec_desktop.textsearch.service import evaluation, search

    if args.evaluate:
        figures = evaluation(ctx.dirs)
        if args.json:
            print_json(figures)
        else:
            print(f"{figures.get('songs', 0)} songs held out of the learning, each searched for by its "
                  "own tags:")
            print(summary(figures))
        return 0
    query = " ".join(" ".join(args.query).split())
    if not query:
        raise EmptySearchError()
    found = search(ctx.dirs, query, args.count)
    player = playlist = None
    if args.play:
        from musicrec_companion.session import play_found

        player, played, _files = play_found(ctx, query, found, bus_address=args.bus, player=args.player)
        playlist = played.name
    if args.json:
        print_json({"query": query, "songs": [dataclasses.asdict(f) for f in found], "player": player,
                    "playlist": playlist})
        return 0
    if not found:
        print(f"no songs found for {query!r}")
    for i, song in enumerate(found, 1):
        print(f"{i:3d}. {song_name(song)}  {song.score:.3f}  {song.why}")
    if player:
        print(f"{player}: playing {playlist!r}")
    return 0


def song_name(found: Found) -> str:
    """"Artist – Title" as the other commands print a song; the file name when untagged."""
    if found.artist and found.title:
        return f"{found.artist} – {found.title}"
    return found.title or (found.path.rsplit("/", 1)[-1] if found.path else found.key)
