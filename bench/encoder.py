"""Encoder figures on this machine's device: training songs/s, embedding songs/s, data-wait share,
peak memory.

    .venv/bin/python bench/encoder.py [--device auto|cpu|cuda[:N]] [--songs N] [--seconds S]
                                      [--epochs N] [--workers N] [--full]

Generates N demo songs of the seven styles (FLAC, S seconds each, so 4 chunks of 30 s at the
default 140 s), caches them with the real chunk cache and trains with the real loader. Without
``--full`` the quick configuration (ResNet-18, 4-6 s crops, batch 32) is used; ``--full`` is the
configured model (ResNet-50 by default, batch from the settings, 5-15 s crops). ``--workers`` sets
the loader processes (default: what ``musicrec`` picks for the device, ``model.device.loader_workers``).
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musicrec_desktop.audio.build import build_cache  # noqa: E402
from musicrec_desktop.constants import SAMPLE_RATE  # noqa: E402
from musicrec_desktop.demo.styles import STYLES, render_song  # noqa: E402
from musicrec_desktop.encoders.embed import embed_songs  # noqa: E402
from musicrec_desktop.library.song import Song, song_key  # noqa: E402
from musicrec_desktop.model.train import train_encoder  # noqa: E402
from musicrec_desktop.paths import DataDirs  # noqa: E402
from musicrec_desktop.settings import Settings  # noqa: E402


def make_library(folder: Path, count: int, seconds: float) -> tuple[list[Song], dict[str, list[str]]]:
    songs, labels = [], {}
    for i in range(count):
        style = STYLES[i % len(STYLES)]
        path = folder / f"{i:04d}-{style}.flac"
        sf.write(path, render_song(style, i, seconds, SAMPLE_RATE).T, SAMPLE_RATE)
        url = path.as_uri()
        songs.append(Song(key=song_key(url), url=url, path=path, title=path.stem, genre=style,
                          length_s=seconds))
        labels[song_key(url)] = [style]
    return songs, labels


def peak_memory(device: torch.device) -> str:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    text = f"peak RSS {rss:.0f} MiB (largest worker {workers:.0f} MiB)"
    if device.type == "cuda":
        text += f", peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--songs", type=int, default=70, help="generated songs (default: 70)")
    parser.add_argument("--seconds", type=float, default=140.0, help="length of each song (default: 140)")
    parser.add_argument("--epochs", type=int, default=4, help="training epochs (default: 4)")
    parser.add_argument("--workers", type=int, help="loader and decoding processes (default: as musicrec "
                                                    "picks them for the device)")
    parser.add_argument("--full", action="store_true", help="the configured model instead of the quick one")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-encoder-") as tmp:
        root = Path(tmp)
        (root / "music").mkdir()
        started = time.monotonic()
        songs, labels = make_library(root / "music", args.songs, args.seconds)
        dirs = DataDirs.under(root / "data").create()
        settings = Settings(device=args.device)
        build_cache(songs, settings, dirs, workers=args.workers)
        print(f"library: {args.songs} songs x {args.seconds:.0f} s generated and cached in "
              f"{time.monotonic() - started:.1f} s")
        report = train_encoder(settings, dirs, songs, labels=labels, epochs=args.epochs, quick=not args.full,
                               workers=args.workers)
        # The first epoch pays for worker start-up and kernel selection; the last is the steady state.
        last = report.history[-1]
        print(f"device {report.device}, batch {report.batch_size}, {report.loader_workers} loader workers, "
              f"{report.songs_trained} training songs, {report.step} steps")
        print(f"training: {report.samples_per_s:.2f} songs/s (two views each) over {report.epochs_run} "
              f"epochs; last epoch {last['seconds']:.1f} s")
        print(f"held-out songs {report.songs_heldout}: genre mAP {report.genre_map:.3f}, "
              f"k-NN genre accuracy {report.knn_accuracy:.3f}")
        print(f"data-wait share: {100 * report.data_wait_share:.1f} % overall, "
              f"{100 * last['data_wait_share']:.1f} % in the last epoch")
        embedded = embed_songs(settings, dirs, songs, workers=args.workers)
        print(f"embedding: {embedded.songs_per_s:.2f} songs/s ({embedded.embedded} songs, "
              f"{embedded.dim}-d, whole 30 s chunks)")
        print(peak_memory(torch.device(report.device)))


if __name__ == "__main__":
    main()
