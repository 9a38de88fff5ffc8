"""``musicrec backends [--measure] [--json]``: every encoder backend, measured on this library."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext

ORDER = 36

COLUMNS = (  # (title, BackendFigures field, format)
    ("dim", "dimension", "{:d}"),
    ("size", "disk_bytes", "size"),
    ("songs", "songs", "{:d}"),
    ("songs/s", "songs_per_s", "{:.2f}"),
    ("rating r", "rating_pearson", "{:.3f}"),
    ("album P@10", "same_album", "{:.3f}"),
    ("artist P@10", "same_artist", "{:.3f}"),
    ("folder P@10", "same_folder", "{:.3f}"),
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "backends", help="every encoder backend: available, size, speed and quality on your library",
        description="Lists every encoder backend: whether it can run here (or why not), its vector "
                    "size, weights on disk, the speed of its last `musicrec embed` here and its "
                    "quality measured on your library: the rating model's out-of-fold correlation "
                    "from its vectors alone (with 30 rated songs or more) and the precision@10 of "
                    "same-album, same-artist and same-folder songs among each song's nearest. "
                    "`musicrec embed --backend NAME` fills one; the encoder setting auto uses the "
                    "best measured.")
    parser.add_argument("--measure", action="store_true",
                        help="measure the quality of every embedded backend now (else: the figures "
                             "kept from the last measurement)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.encoders.measure import (
        best_backend,
        chance_at_k,
        choice_headline,
        figures_table,
        measure_backends,
        song_groups,
    )
    from musicrec_desktop.library import current_library

    songs = current_library(ctx.settings, ctx.dirs).local_songs
    if args.measure:
        measure_backends(ctx.settings, ctx.dirs, songs)
    rows = figures_table(ctx.settings, ctx.dirs)
    auto = best_backend(rows)
    chance = {name: chance_at_k(groups) for name, groups in song_groups(songs).items()}
    if args.json:
        print_json({"encoder": ctx.settings.encoder, "auto": auto, "chance": chance,
                    "backends": [r.as_dict() for r in rows]})
        return 0
    print(_table(rows))
    print(f"\nchance level: album {_fmt(chance['same_album'])}, artist {_fmt(chance['same_artist'])}, "
          f"folder {_fmt(chance['same_folder'])}")
    for r in rows:
        if not r.available:
            print(f"{r.name}: not available: {r.why_not}")
    print(f"encoder = {ctx.settings.encoder}: {choice_headline(rows, ctx.settings.encoder)}")
    return 0


def _table(rows: Sequence) -> str:
    header = ["backend", "available"] + [title for title, _, _ in COLUMNS]
    lines = [[r.name, "yes" if r.available else "no"]
             + [_cell(getattr(r, field), fmt) for _, field, fmt in COLUMNS] for r in rows]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) if i < 2 else str(cell).rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                     for row in [header, *lines])


def _cell(value: object, fmt: str) -> str:
    if value is None:
        return "-"
    if fmt == "size":
        return f"{value / 1e6:.1f} MB" if value else "none"
    return fmt.format(value)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
