"""Text search figures: query time over many songs, the text encoders' time per query, alignment
training time, and (with a library) the held-out evaluation per text encoder.

    .venv/bin/python bench/search.py [--songs 100000] [--train-songs 10000] [--queries 50]
        [--text-encoders minilm,e5] [--data-dir DIR [--database STRAWBERRY_DB]] [--encoder NAME]

Query time: a saved alignment of ``--songs`` synthetic songs (384-d, as saved: float16 read back
as float32; 10 words each) ranked for one query text already embedded (``service.ranked``: the
cosines, the word overlap, the top 20, their "why"). Training time: ``learn_projection`` on
``--train-songs`` synthetic songs (200-d vectors, descriptions and 50 tags), the default
configuration, on the CPU. With
``--data-dir``: the alignment learnt on that library's songs (its settings, its stored library or
``--database``) for each text encoder, and its evaluation; the data folder is only read (the
alignment is written to a temporary folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musicrec_desktop.textsearch import service  # noqa: E402
from musicrec_desktop.textsearch.align import AlignConfig, AlignmentData, learn_projection  # noqa: E402
from musicrec_desktop.textsearch.lexical import WordIndex  # noqa: E402
from musicrec_desktop.textsearch.text_encoder import (  # noqa: E402
    TEXT_ENCODERS,
    TextEncoderMissing,
    open_text_encoder,
)

D_TEXT = 384
QUERIES = ["calm piano for a rainy evening", "orchestral", "heavy guitars", "something to dance to",
           "sad songs from the 80s"]


def query_time(songs: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((songs, D_TEXT)).astype(np.float16).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tags = rng.standard_normal((200, D_TEXT)).astype(np.float32)
    meta = {"vocabulary": [f"tag {i}" for i in range(200)],
            "songs": [[f"file:///m/{i}.flac", f"Song {i}", "Artist", "Album", f"/m/{i}.flac",
                       [int(t) for t in rng.integers(0, 200, 5)],
                       ["song", str(i), "artist", "album", *(f"w{t}" for t in rng.integers(0, 300, 6))]]
                      for i in range(songs)]}
    saved = service._Saved(meta, vectors, tags, 0.0, WordIndex([s[6] for s in meta["songs"]]))
    q = vectors[0]
    service.ranked(saved, q, "warm up", 20)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        service.ranked(saved, q, "calm piano w7 w12", 20)
        times.append(time.perf_counter() - start)
    print(f"query time at {songs} songs (after the text is embedded, top 20 with their why): "
          f"median {1000 * statistics.median(times):.1f} ms, min {1000 * min(times):.1f} ms "
          f"over {repeats} queries (goal 20 ms)")


def text_encoder_time(names: list[str], repeats: int) -> None:
    for name in names:
        start = time.perf_counter()
        try:
            encoder = open_text_encoder(name)
        except TextEncoderMissing as exc:
            print(f"text encoder {name}: not installed ({exc.package})")
            continue
        loaded = time.perf_counter() - start
        encoder.embed(["warm up"])
        times = []
        for i in range(repeats):
            start = time.perf_counter()
            encoder.embed([QUERIES[i % len(QUERIES)]])
            times.append(time.perf_counter() - start)
        descriptions = [f"rock, guitar, {1960 + i % 60}s; Song {i} by Artist {i % 97}, from Album "
                        f"{i % 31}, {1960 + i % 60}" for i in range(512)]
        start = time.perf_counter()
        encoder.embed(descriptions)
        rate = len(descriptions) / (time.perf_counter() - start)
        print(f"text encoder {name} ({encoder.name}): load {loaded:.1f} s, one query median "
              f"{1000 * statistics.median(times):.1f} ms, min {1000 * min(times):.1f} ms; "
              f"{rate:.0f} song descriptions a second")


def training_time(songs: int) -> None:
    rng = np.random.default_rng(0)
    tags = rng.standard_normal((50, D_TEXT)).astype(np.float32)
    song_tags = [list(rng.choice(50, 4, replace=False)) for _ in range(songs)]
    descriptions = rng.standard_normal((songs, D_TEXT)).astype(np.float32)
    descriptions /= np.linalg.norm(descriptions, axis=1, keepdims=True)
    data = AlignmentData(rng.standard_normal((songs, 200)).astype(np.float32), descriptions,
                         np.arange(songs), tags, song_tags)
    config = AlignConfig()
    start = time.perf_counter()
    learn_projection(data, config)
    print(f"alignment training on {songs} songs (200-d, {config.tag_epochs}+"
          f"{config.description_epochs} epochs, CPU): {time.perf_counter() - start:.1f} s "
          f"(learn_alignment fits twice: held-out, then all)")


def library_evaluation(data_dir: Path, database: Path | None, encoder: str | None,
                       names: list[str]) -> None:
    from musicrec_desktop.library import current_library
    from musicrec_desktop.library.players import read_player_database
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.settings import Settings

    dirs = DataDirs.under(data_dir)
    settings = Settings.load(dirs.settings_file) if dirs.settings_file.exists() else Settings()
    if encoder:
        settings = dataclasses.replace(settings, encoder=encoder)
    scan = read_player_database(database, "strawberry") if database else current_library(settings, dirs)
    with tempfile.TemporaryDirectory() as tmp:
        private = dataclasses.replace(dirs, models=Path(tmp))
        for name in names:
            try:
                report = service.learn_alignment(settings, private, scan, text_encoder=name)
            except TextEncoderMissing as exc:
                print(f"text encoder {name}: not installed ({exc.package})")
                continue
            print(f"--- {data_dir} with {name}")
            print(report.summary())
            for query in ("orchestral", "calm piano for a rainy evening"):
                found = service.search(private, query, 3)
                print(f"  {query!r}: " + "; ".join(f"{f.artist} - {f.title} ({f.why})" for f in found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=100_000, help="songs for the query time")
    parser.add_argument("--train-songs", type=int, default=10_000, help="songs for the training time")
    parser.add_argument("--queries", type=int, default=50, help="repeats of each timing")
    parser.add_argument("--text-encoders", default="minilm,e5",
                        help=f"comma-separated, of {', '.join(TEXT_ENCODERS)}")
    parser.add_argument("--data-dir", type=Path, help="a musicrec data folder with embeddings")
    parser.add_argument("--database", type=Path, help="read the library from this Strawberry database")
    parser.add_argument("--encoder", help="the backend whose vectors to align (default: the settings')")
    args = parser.parse_args()
    names = [n for n in args.text_encoders.split(",") if n]
    # the machine's other work slows every figure: say how busy it was
    print("load average at the start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    query_time(args.songs, args.queries)
    text_encoder_time(names, args.queries)
    training_time(args.train_songs)
    if args.data_dir:
        library_evaluation(args.data_dir, args.database, args.encoder, names)


if __name__ == "__main__":
    main()
