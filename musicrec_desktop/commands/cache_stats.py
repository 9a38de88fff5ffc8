"""``musicrec cache-stats [--json]``: what the audio chunk cache holds."""

from __future__ import annotations

import argparse

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext

ORDER = 21


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("cache-stats", help="songs, chunks and size of the audio chunk cache")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.audio.cache import cache_root, cache_stats

    stats = cache_stats(cache_root(ctx.settings, ctx.dirs)).as_dict()
    if args.json:
        print_json(stats)
        return 0
    print(f"cache folder:   {stats['root']}")
    print(f"songs:          {stats['songs']}")
    print(f"chunks:         {stats['chunks']}")
    print(f"size:           {stats['bytes'] / 1e6:.1f} MB ({stats['bytes_per_song'] / 1e6:.2f} MB a song)")
    print("format:         " + (", ".join(f"{k} {v}" for k, v in stats["formats"].items()) or "-"))
    print(f"oldest entry:   {stats['oldest'] or '-'}")
    print(f"newest entry:   {stats['newest'] or '-'}")
    skipped = stats["skipped"]
    print(f"skipped:        {sum(skipped.values())}")
    for reason, count in sorted(skipped.items(), key=lambda kv: -kv[1]):
        print(f"  {reason}: {count}")
    if stats["over_budget"]:
        print(f"over budget:    {stats['over_budget']} songs not cached by the last build "
              "(raise cache_budget_gb to cache them)")
    return 0
