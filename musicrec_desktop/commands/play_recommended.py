"""``musicrec play-recommended``: the "Recommended" playlist in the running player, playing."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._numbers import positive
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.context import AppContext
from musicrec_desktop.recommend.playlists import RECOMMENDED

ORDER = 60


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "play-recommended", help="play recommended songs in the running player",
        description=f"Creates (or replaces) the playlist {RECOMMENDED!r} in the running Strawberry or "
                    "Clementine and starts it. It stays in the player's playlists and in desktop media "
                    "controls (MPRIS Playlists).")
    parser.add_argument("-n", "--count", type=positive, help="how many songs (default: the playlist_length "
                                                        "setting)")
    parser.add_argument("--seed", type=int, help="the same seed gives the same songs")
    parser.add_argument("--name", default=RECOMMENDED, help="the playlist's name in the player")
    add_player_options(parser)
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_companion.session import play_recommended

    player, playlist, songs = play_recommended(ctx, count=args.count, seed=args.seed, name=args.name,
                                               bus_address=args.bus, player=args.player)
    if args.json:
        print_json({"player": player, "playlist": playlist.name, "playlist_id": playlist.id,
                    "songs": [str(s.path) for s in songs]})
    else:
        print(f"{player}: playing {playlist.name!r} ({len(songs)} songs)")
    return 0
