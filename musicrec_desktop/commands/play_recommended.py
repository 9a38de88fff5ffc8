"""``musicrec play-recommended``: the "Recommended" playlist in the running player, playing."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._numbers import positive
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.context import AppContext

ORDER = 60
PLAYLIST_NAME = "Recommended"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "play-recommended", help="play recommended songs in the running player",
        description=f"Creates (or replaces) the playlist {PLAYLIST_NAME!r} in the running Strawberry or "
                    "Clementine and starts it. It stays in the player's playlists and in desktop media "
                    "controls (MPRIS Playlists).")
    parser.add_argument("-n", "--count", type=positive, help="how many songs (default: the playlist_length "
                                                        "setting)")
    parser.add_argument("--seed", type=int, help="the same seed gives the same songs")
    parser.add_argument("--name", default=PLAYLIST_NAME, help="the playlist's name in the player")
    add_player_options(parser)
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_companion.follower import open_player
    from musicrec_desktop.errors import NotReadyError
    from musicrec_desktop.recommend.service import Recommender

    # The player first: without one, say so before the recommender loads its model.
    bus, mpris, adapter = open_player(ctx, args.bus, args.player)
    with bus:
        count = args.count or ctx.settings.playlist_length
        recommendations = Recommender.open(ctx).recommended(count, args.seed)
        songs = [r.song for r in recommendations if r.song.path is not None]
        if not songs:
            raise NotReadyError("no songs to recommend yet (the library has no local songs with "
                                "embeddings)")
        playlist = adapter.play_playlist(args.name, songs)
    if args.json:
        print_json({"player": mpris.player, "playlist": playlist.name, "playlist_id": playlist.id,
                    "songs": [str(s.path) for s in songs]})
    else:
        print(f"{mpris.player}: playing {playlist.name!r} ({len(songs)} songs)")
    return 0
