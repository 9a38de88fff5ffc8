"""Demo library figures: render speed per style, encode speed per format, whole-library time and size.

    .venv/bin/python bench/demo.py [--songs N] [--workers N] [--skip-library]

Prints seconds to render a two-minute song of each style (44.1 kHz), seconds to encode it per
format, then writes a demo library of N songs (default 200) into a temporary folder with the given
number of worker processes and prints the wall time, the size on disk and the rated share.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musicrec_desktop.demo.library import encode, write_demo_library  # noqa: E402
from musicrec_desktop.demo.styles import STYLES, render_song  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-library", action="store_true")
    args = parser.parse_args()

    print("render, 120 s song at 44.1 kHz (seconds):")
    for style in STYLES:
        start = time.perf_counter()
        audio = render_song(style, 1, 120.0)
        print(f"  {style:15s} {time.perf_counter() - start:5.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        print("encode the same song (seconds, MB):")
        for ext in ("flac", "ogg", "mp3"):
            path = Path(tmp) / f"song.{ext}"
            start = time.perf_counter()
            encode(path, audio, 44100)
            print(f"  {ext:5s} {time.perf_counter() - start:5.2f} {path.stat().st_size / 1e6:6.1f}")
        if args.skip_library:
            return
        start = time.perf_counter()
        library = write_demo_library(Path(tmp) / "demo", args.songs, workers=args.workers)
        took = time.perf_counter() - start
        files = [library.path_of(s) for s in library.songs]
        size = sum(f.stat().st_size for f in files) / 1e6
        minutes = sum(s.seconds for s in library.songs) / 60
        rated = sum(s.rating >= 0 for s in library.songs) / len(library.songs)
        print(f"library: {len(files)} songs, {minutes:.0f} min of music, {took:.1f} s with "
              f"{args.workers} workers, {size:.0f} MB, rated {rated:.0%}, "
              f"formats {dict(Counter(s.ext for s in library.songs))}")


if __name__ == "__main__":
    main()
