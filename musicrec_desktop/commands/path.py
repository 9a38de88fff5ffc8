"""``musicrec path --from A --to B --steps N [--play]``: a playlist that walks from one song to
another in smooth steps, the target last; written as XSPF/M3U8, and with --play played in the
running player (the player companion)."""

from __future__ import annotations

import argparse
from pathlib import Path

from musicrec_desktop.commands._numbers import positive
from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.commands._player_args import add_player_options
from musicrec_desktop.commands._recommendations import as_dict
from musicrec_desktop.context import AppContext

ORDER = 54
STEPS = 8  # steps without --steps


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "path", help="a playlist walking from one song to another in smooth steps",
        description="Makes a playlist of --steps songs that walks from the --from song to the --to "
                    "song (the last step), each step the nearest unused song to its point on the "
                    "way, no song twice. Writes it into the playlist folder; --play also plays it, "
                    "from the --from song, in the running player.")
    parser.add_argument("--from", dest="start", required=True, metavar="PATH_OR_URL",
                        help="the song to start from")
    parser.add_argument("--to", dest="target", required=True, metavar="PATH_OR_URL",
                        help="the song to arrive at")
    parser.add_argument("--steps", type=positive, default=STEPS,
                        help=f"how many songs after the start, the target included (default {STEPS})")
    parser.add_argument("--out", metavar="DIR", type=Path, help="folder (default: the output_dir setting)")
    parser.add_argument("--play", action="store_true", help="play the path in the running player")
    add_player_options(parser)
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.recommend.service import write_playlists

    player = None
    if args.play:
        from musicrec_companion.session import play_path

        player, path = play_path(ctx, args.start, args.target, args.steps, bus_address=args.bus,
                                 player=args.player)
    else:
        from musicrec_desktop.recommend.service import Recommender

        path = Recommender.latest(ctx).path(args.start, args.target, args.steps)
    name = path.name
    files = write_playlists(ctx.settings, {name: [path.start, *path.steps]}, args.out)
    if args.json:
        print_json({"playlist": name, "start": as_dict(path.start), "songs": [as_dict(s) for s in path.steps],
                    "hops": path.hops, "direct": path.direct, "smooth": path.smooth,
                    "files": [str(f) for f in files], "player": player})
        return 0
    print(f"  0. {path.start.song.display_name}  (start)")
    for i, (step, hop) in enumerate(zip(path.steps, path.hops, strict=True), 1):
        print(f"{i:3d}. {step.song.display_name}  (similarity to the song before {hop:.2f})")
    if len(path.steps) < args.steps:
        print(f"only {len(path.steps)} of {args.steps} steps: the library has no more songs on the way "
              "that the settings allow")
    print(f"{'smooth' if path.smooth else 'not smooth'}: every hop at similarity {min(path.hops):.2f} or "
          f"more; straight from the start to the target: {path.direct:.2f}")
    for f in files:
        print(f"wrote {f}")
    if player:
        print(f"{player}: playing {name!r}")
    return 0

