"""``musicrec push-playlists``: each generated playlist as a named playlist in the running player."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.context import AppContext

ORDER = 61


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "push-playlists", help="put the generated playlists into the running player",
        description="Adds each generated playlist (Discover, Forgotten favourites, ...) to the running "
                    "player under its own name. Playlists already there are kept unless --replace "
                    "(replacing one switches the player to it, and the player then plays it).")
    parser.add_argument("--only", action="append", metavar="NAME", help="push only this playlist "
                                                                        "(repeatable)")
    parser.add_argument("--replace", action="store_true", help="replace playlists of the same name")
    add_player_options(parser)
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_companion.follower import open_player

    # The player first: without one, say so before the recommender loads its model.
    bus, mpris, adapter = open_player(ctx, args.bus, args.player)
    with bus:
        results = {name: {"result": adapter.push_playlist(name, songs, replace=args.replace),
                          "songs": len(songs)}
                   for name, songs in _local_playlists(ctx, args.only).items()}
    if args.json:
        print_json({"player": mpris.player, "playlists": results})
    else:
        for name, result in results.items():
            print(f"{mpris.player}: {name!r} {result['result']} ({result['songs']} songs)")
    return 0


def _local_playlists(ctx: AppContext, only: list[str] | None) -> dict[str, list]:
    """The generated playlists (those named in ``only``, if given), each with its local songs."""
    from musicrec_desktop.errors import NotReadyError
    from musicrec_desktop.recommend.service import Recommender

    playlists = {}
    for name, recommendations in Recommender.open(ctx).generated_playlists().items():
        songs = [r.song for r in recommendations if r.song.path is not None]
        if songs and (not only or name in only):
            playlists[name] = songs
    if not playlists:
        raise NotReadyError("no generated playlists with local songs to push")
    return playlists
