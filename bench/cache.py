"""Chunk cache figures: build speed against plain decoding, bytes per song, crop-load time.

    .venv/bin/python bench/cache.py [--workers N] [--songs N] [--crops N] [--music DIR] [--generate]

Uses ../shared/audio when present, else generated songs (3-4 minutes of noise and tones, FLAC).
"Plain decoding" runs the same decoder on the same spans in the same number of worker processes,
without resampling, encoding or writing; "decode+resample" adds soxr to 16 kHz stereo, which any
reader of the raw files would also have to do.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Spawned decoding workers import this file before their initializer sets the thread limits, so
# it imports only what is light at the top, like the build's own worker module; the rest is
# imported where it is used.
from musicrec_desktop.audio._worker import init_worker  # noqa: E402

if TYPE_CHECKING:
    import numpy as np

    from musicrec_desktop.audio.cache import ChunkCache

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "audio"
AUDIO_SUFFIXES = {".mp3", ".ogg", ".flac", ".wav", ".m4a", ".opus"}


def decode_song(path: str, also_resample: bool) -> int:
    """Decodes the song's planned spans as the build does; returns samples decoded."""
    from musicrec_desktop.audio.chunks import plan_chunks
    from musicrec_desktop.audio.decode import AudioReader, SpanError, resample, to_stereo

    total = 0
    with AudioReader(Path(path)) as reader:
        for span in plan_chunks(0.0, reader.info.duration_s):
            try:
                audio = reader.read_native(span)
            except SpanError:
                continue
            if also_resample:
                audio = resample(to_stereo(audio), reader.info.samplerate)
            total += len(audio)
    return total


def cpu_seconds() -> float:
    """CPU time of this process and of its finished (joined) worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def plain_decode(files: list[Path], workers: int, also_resample: bool) -> tuple[float, float]:
    """(songs per second of wall time, songs per CPU second)."""
    started, cpu = time.perf_counter(), cpu_seconds()
    if workers <= 0:
        for f in files:
            decode_song(str(f), also_resample)
    else:
        with cf.ProcessPoolExecutor(workers, initializer=init_worker,
                                    mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(decode_song, map(str, files), [also_resample] * len(files)))
    return len(files) / (time.perf_counter() - started), len(files) / (cpu_seconds() - cpu)


def crop_times(cache: ChunkCache, count: int, rng: np.random.Generator) -> np.ndarray:
    import numpy as np

    from musicrec_desktop.constants import CROP_MAX_SECONDS, CROP_MIN_SECONDS

    entries = cache.entries()
    times = []
    for _ in range(count):
        entry = entries[rng.integers(len(entries))]
        index = int(rng.integers(entry.chunks))
        duration = float(rng.uniform(CROP_MIN_SECONDS, CROP_MAX_SECONDS))
        start = float(rng.uniform(0, max(entry.chunk_seconds[index] - duration, 0)))
        t = time.thread_time()  # CPU time of this thread: the goal is "ms of one core"
        cache.load_crop(entry.song_key, index, start, duration)
        times.append(time.thread_time() - t)
    return np.array(times) * 1e3


def generated_songs(folder: Path, count: int) -> list[Path]:
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    files = []
    for i in range(count):
        sr, seconds = 44100, 180 + 6 * i
        t = np.arange(sr * seconds) / sr
        noise = rng.standard_normal((len(t), 2)).astype(np.float32)
        noise = np.cumsum(noise, axis=0) * 0.002  # brown-ish noise: energy where music has it
        noise -= np.convolve(noise[:, 0], np.ones(400) / 400, "same")[:, None]
        tones = 0.2 * np.sin(2 * np.pi * np.outer(t, [220 * (1 + i % 5), 330 * (1 + i % 3)]))
        path = folder / f"song{i:02d}.flac"
        sf.write(path, np.clip(noise + tones, -1, 1), sr)
        files.append(path)
    return files


def main() -> None:
    import numpy as np

    from musicrec_desktop.audio.build import build_cache
    from musicrec_desktop.audio.cache import ChunkCache, cache_root
    from musicrec_desktop.audio.formats import FORMATS
    from musicrec_desktop.library.song import Song
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=Settings().num_workers)
    parser.add_argument("--songs", type=int, default=17, help="songs to generate without shared audio")
    parser.add_argument("--crops", type=int, default=300)
    parser.add_argument("--music", type=Path, help="a folder of songs to use instead")
    parser.add_argument("--generate", action="store_true", help="use generated songs even with shared audio")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as tmp:
        folder = args.music or (SHARED if SHARED.is_dir() and not args.generate else None)
        if folder is not None:
            files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            source = f"{len(files)} songs from {folder.resolve()}"
        else:
            files = generated_songs(Path(tmp), args.songs)
            source = f"{len(files)} generated songs (FLAC, 3-4.6 min)"
        songs = [Song(key=p.as_uri(), url=p.as_uri(), path=p) for p in files]
        print(f"chunk cache bench: {source}, {args.workers} worker processes")

        plain, plain_cpu = plain_decode(files, args.workers, also_resample=False)
        plain_rs, plain_rs_cpu = plain_decode(files, args.workers, also_resample=True)
        print(f"plain decoding of the same spans: {plain:6.2f} songs/s, {plain_cpu:6.2f} songs/CPU-s")
        print(f"decoding + resampling to 16 kHz:  {plain_rs:6.2f} songs/s, {plain_rs_cpu:6.2f} songs/CPU-s")
        for fmt in FORMATS:
            dirs = DataDirs.under(Path(tmp) / fmt)
            settings = Settings().replace(cache_format=fmt)
            cpu = cpu_seconds()
            report = build_cache(songs, settings, dirs, workers=args.workers)
            rate, rate_cpu = report.cached / report.seconds, report.cached / (cpu_seconds() - cpu)
            cache = ChunkCache.open(cache_root(settings, dirs))
            sizes = np.array([e.bytes for e in cache.entries()])
            full = np.array([e.bytes for e in cache.entries() if e.chunks == 4])
            crop_times(cache, 20, np.random.default_rng(1))  # warm the page cache and imports
            ms = crop_times(cache, args.crops, np.random.default_rng(2))
            print(f"\n[{fmt}] build: {report.cached} songs in {report.seconds:.2f} s = {rate:.2f} songs/s, "
                  f"{rate_cpu:.2f} songs/CPU-s")
            print(f"[{fmt}] build / plain decoding: {rate / plain:.0%} (wall), "
                  f"{rate_cpu / plain_cpu:.0%} (CPU); build / decoding + resampling: "
                  f"{rate / plain_rs:.0%} (wall), {rate_cpu / plain_rs_cpu:.0%} (CPU)")
            print(f"[{fmt}] size: {sizes.mean() / 1e6:.3f} MB a song (all songs), "
                  + (f"{full.mean() / 1e6:.3f} MB a song with 4 chunks (max {full.max() / 1e6:.3f})"
                     if len(full) else "no song has 4 chunks"))
            print(f"[{fmt}] crop load (5-15 s, CPU time of one core): mean {ms.mean():.2f} ms, p95 "
                  f"{np.percentile(ms, 95):.2f} ms, max {ms.max():.2f} ms over {len(ms)} crops")


if __name__ == "__main__":
    main()
