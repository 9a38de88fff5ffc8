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
    from musicrec_companion.session import generated_playlists, push_playlists

    player, pushed = push_playlists(ctx, lambda: generated_playlists(ctx, args.only), replace=args.replace,
                                    bus_address=args.bus, player=args.player)
    results = {name: {"result": result, "songs": songs} for name, (result, songs) in pushed.items()}
    if args.json:
        print_json({"player": player, "playlists": results})
    else:
        for name, result in results.items():
            print(f"{player}: {name!r} {result['result']} ({result['songs']} songs)")
    return 0
