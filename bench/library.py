"""Library read figures on a large player database (default 100,000 songs).

    .venv/bin/python bench/library.py [--songs N] [--player strawberry|clementine]

Builds a database in the player's real schema (resources/schemas) with varied rows (ratings,
genres, CUE offsets, a few streams), then times: the read-only snapshot alone, the whole
``read_player_database`` (snapshot + every row to a Song + a file check per song), and genre
labelling of every song. The song files do not exist, so the file check is a failed stat.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musicrec_desktop.library.genres import GenreMapper  # noqa: E402
from musicrec_desktop.library.players import read_player_database  # noqa: E402
from musicrec_desktop.library.snapshot import snapshot  # noqa: E402
from musicrec_desktop.settings import Settings  # noqa: E402

SCHEMAS = Path(__file__).resolve().parents[1] / "resources" / "schemas"
GENRES = ["Rock", "Hip-Hop", "R&B", "Drum & Bass", "Jazz/Blues", "Pop; Dance", "Shoegaze", "", None,
          "Électronique", "Alternative Rock", "Country", "Reggae"]


def build(path: Path, player: str, songs: int) -> None:
    rng = random.Random(1)
    column = "url" if player == "strawberry" else "filename"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript((SCHEMAS / f"{player}.sql").read_text(encoding="utf-8"))
        required = [c[1] for c in db.execute("PRAGMA table_info(songs)") if c[3] and c[4] is None]
        names = [column, "title", "artist", "album", "genre", "rating", "playcount", "length",
                 "beginning", "lastplayed", *[r for r in required if r != column]]
        rows = []
        for i in range(songs):
            url = (f"http://radio.example/{i}" if i % 500 == 0 else
                   f"file:///nowhere/Artist%20{i % 3000}/Album%20{i % 9000}/{i:06d}%20Song.flac")
            rows.append((url.encode() if player == "clementine" else url, f"Song {i}", f"Artist {i % 3000}",
                         f"Album {i % 9000}", rng.choice(GENRES), rng.choice([-1, -1, -1, 0.2, 0.6, 1, 0.8]),
                         rng.randint(0, 40), 240 * 10**9, (i % 7) * 10**9 if i % 50 == 0 else 0,
                         rng.choice([-1, 1_700_000_000]), *[-1] * (len(names) - 10)))
        db.executemany(f"INSERT INTO songs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                       rows)


def best_of(runs: int, fn):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=100_000)
    parser.add_argument("--player", choices=("strawberry", "clementine"), default="strawberry")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{args.player}.db"
        build(path, args.player, args.songs)
        size_mb = path.stat().st_size / 1e6
        snap_s, _ = best_of(args.runs, lambda: snapshot(path).close())
        read_s, scan = best_of(args.runs, lambda: read_player_database(path))
        label_s, labels = best_of(args.runs, lambda: GenreMapper.from_settings(Settings()).labels(scan.songs))
    print(f"{args.player} database: {args.songs} rows, {size_mb:.1f} MB")
    print(f"snapshot (backup API into memory): {snap_s * 1000:.0f} ms")
    print(f"read_player_database: {read_s:.2f} s = {len(scan.songs) / read_s:,.0f} songs/s "
          f"({len(scan.songs)} songs, skipped {dict(scan.skipped)})")
    print(f"genre labels (fresh mapper): {label_s * 1000:.0f} ms for {len(scan.songs)} songs, "
          f"{len(labels)} labelled")


if __name__ == "__main__":
    main()
