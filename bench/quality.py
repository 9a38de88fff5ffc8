"""Song embeddings on real music against bliss, side by side: ``python bench/quality.py [--music DIR]``.

The library is a folder with one sub-folder per source (``../shared/data/make-dev-library.sh``
builds one from the music of eight free games; the game is the label). For each of two runs, "tags"
(the files' own artist/album/title/genre tags) and "no tags" (every tag blanked, so the audio alone
is measured), the bench writes a Strawberry database of the folder with a simulated listener in it
and runs musicrec as a person does: a fresh HOME and data folder, ``musicrec run`` with default
settings on the CPU. bliss-audio (a bench dependency: ``pip install bliss-audio``) analyses the same
files with the same number of worker processes, in the same run.

Prints, for musicrec and bliss:
- same-source precision@10: for every song, the share of its 10 nearest neighbours (leave-one-out)
  from the same folder; overall and per folder, beside chance;
- analysis songs/s: songs / seconds of decoding, caching and embedding (musicrec's cache and embed
  stages; bliss's whole analysis);
- the rating model of the simulated listener (likes some sources, dislikes others, rates 60 % of
  the songs): the model report's out-of-fold Pearson of each variant and of the k-NN baseline, and
  the predicted rating against the hidden taste on the 40 % it did not rate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import fresh_machine, musicrec  # noqa: E402  (bench/run.py: the same fresh-machine run)

from musicrec_desktop.demo.catalog import DemoSong  # noqa: E402
from musicrec_desktop.demo.strawberry import write_strawberry_db  # noqa: E402
from musicrec_desktop.library.song import song_key  # noqa: E402
from musicrec_desktop.library.urls import file_url  # noqa: E402
from musicrec_desktop.store.embeddings import EmbeddingStore  # noqa: E402

DEFAULT_MUSIC = Path(os.environ.get("TMPDIR", "/tmp")) / "musicrec-dev-library" / "music"
AUDIO_SUFFIXES = {".ogg", ".mp3", ".flac", ".opus", ".wav"}
K = 10
RATED_SHARE = 0.6
SEED = 7


@dataclass
class Library:
    files: list[Path]
    labels: list[str]  # the folder of each file
    taste: np.ndarray  # the simulated listener's hidden taste of each song, 0..1
    rated: np.ndarray  # bool: the listener rated this song (the rest is kept hidden)

    @property
    def sources(self) -> list[str]:
        return sorted(set(self.labels))


@dataclass
class Result:
    name: str
    vectors: np.ndarray | None = None  # songs x D, rows in Library.files order
    metric: str = "cosine"
    songs_per_s: float = float("nan")
    extra: dict = field(default_factory=dict)


def load_library(music: Path) -> Library:
    files = sorted(p for p in music.glob("*/*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    labels = [p.parent.name for p in files]
    rng = np.random.default_rng(SEED)
    sources = sorted(set(labels))
    # the listener likes a third of the sources, dislikes a third, is lukewarm about the rest
    order = rng.permutation(len(sources))
    liking = {s: (0.9, 0.2, 0.55)[int(order[i]) % 3] for i, s in enumerate(sources)}
    taste = np.clip(np.array([liking[label] for label in labels]) + rng.normal(0, 0.1, len(files)), 0, 1)
    rated = rng.random(len(files)) < RATED_SHARE
    return Library(files, labels, taste, rated)


def write_database(library: Library, music: Path, path: Path, with_tags: bool) -> None:
    """A Strawberry database of the folder: tags as the files carry them (or none), the listener's
    rated songs with their rating (in half stars)."""
    import mutagen
    import soundfile

    songs = []
    for i, file in enumerate(library.files):
        tags: dict = {}
        if with_tags:
            with contextlib.suppress(mutagen.MutagenError):
                found = mutagen.File(file, easy=True)
                tags = dict(found.tags or {}) if found is not None else {}
        first = {k: (v[0] if isinstance(v, list) and v else "") for k, v in tags.items()}
        rating = round(float(library.taste[i]) * 10) / 10 if library.rated[i] else -1.0
        songs.append(DemoSong(
            style="", variant="", seed=0, seconds=soundfile.info(str(file)).duration,
            artist=first.get("artist", ""), album=first.get("album", ""), title=first.get("title", ""),
            track=0, year=0, genre=first.get("genre", ""), ext=file.suffix.lower().lstrip(".") or "ogg",
            relpath=str(file.relative_to(music)), rating=rating,
            playcount=0))  # no plays: the taste has to come from the audio
    write_strawberry_db(path, music, songs, int(time.time()))


def run_musicrec(library: Library, music: Path, root: Path, with_tags: bool, device: str) -> Result:
    name = "musicrec" + ("" if with_tags else " (no tags)")
    env, data, db = fresh_machine(root), root / "data", root / "strawberry.db"
    write_database(library, music, db, with_tags)
    musicrec(data, env, "config", "set", "database_path", str(db))  # the person's player database
    started = time.monotonic()
    run = musicrec(data, env, "run", "--device", device, "--json")
    wall = time.monotonic() - started
    report = json.loads(run.stdout)
    if not report["ok"]:
        raise SystemExit(f"{name}: the run failed: {report['error']}")
    seconds = {s["name"]: s["seconds"] for s in report["stages"]}
    analysis = seconds.get("cache", 0.0) + seconds.get("embed", 0.0)
    keys = [song_key(file_url(f)) for f in library.files]
    with EmbeddingStore(data / "state" / "embeddings.sqlite") as store:
        model = store.current_model()
        found, vectors = store.load(model, keys)
    position = {k: i for i, k in enumerate(found)}
    missing = [k for k in keys if k not in position]
    if missing:
        raise SystemExit(f"{name}: {len(missing)} songs have no vector, e.g. {missing[0]}")
    result = Result(name, vectors[[position[k] for k in keys]], "cosine",
                    len(keys) / analysis if analysis else float("nan"))
    result.extra = {"stages": seconds, "wall": wall, "model": model,
                    "backend": report["figures"].get("embed", {}).get("backend"),
                    "rating": report["figures"].get("rating", {}),
                    "encoder": report["figures"].get("encoder", {})}
    result.extra["hidden"] = hidden_taste_pearson(library, data, env, keys)
    return result


def run_backends(library: Library, root: Path, musicrec_run: Result, device: str, train: bool
                 ) -> list[Result]:
    """Every other available encoder backend on the same data folder: ``musicrec embed --backend
    NAME`` (with ``train``, a backend that learns is trained first, as "Rebuild model" does, on the
    chunk cache built for it). Analysis songs/s counts the backend's own embedding (decoding
    included) and, for one that reads the cache, the cache's build; not the training."""
    env, data = fresh_machine(root), root / "data"
    listed = json.loads(musicrec(data, env, "backends", "--json").stdout)
    keys = [song_key(file_url(f)) for f in library.files]
    cache_s = musicrec_run.extra["stages"].get("cache", 0.0)
    if train and any(b["needs_training"] for b in listed["backends"]):
        started = time.monotonic()  # a pretrained backend served: the run built no cache
        musicrec(data, env, "build-cache", "--json")
        cache_s += time.monotonic() - started
    results = []
    for backend in listed["backends"]:
        name = backend["name"]
        if name == musicrec_run.extra.get("backend"):
            continue
        if not backend["available"] and backend["needs_training"] and train:
            # what "Rebuild model" gives on this machine: the quick training of the encoder
            trained = musicrec(data, env, "train-encoder", "--quick", "--device", device, "--json")
            if trained.returncode != 0:
                print(f"backend {name}: training failed (exit {trained.returncode})", file=sys.stderr)
                continue
        elif not backend["available"]:
            continue
        out = musicrec(data, env, "embed", "--backend", name, "--device", device, "--json")
        if out.returncode != 0:
            print(f"backend {name}: embed failed (exit {out.returncode})", file=sys.stderr)
            continue
        report = json.loads(out.stdout)
        with EmbeddingStore(data / "state" / "embeddings.sqlite") as store:
            found, vectors = store.load(report["model_id"], keys)
        if len(found) != len(keys):
            print(f"backend {name}: {len(keys) - len(found)} songs without a vector", file=sys.stderr)
            continue
        position = {k: i for i, k in enumerate(found)}
        caching = cache_s / len(keys) if backend["needs_training"] else 0.0
        per_song = caching + 1.0 / max(report["songs_per_s"], 1e-9)
        suffix = "" if "no tags" not in musicrec_run.name else " (no tags)"
        rows = [position[k] for k in keys]
        results.append(Result(f"{name}{suffix}", vectors[rows], "cosine", 1.0 / per_song))
    return results


def hidden_taste_pearson(library: Library, data: Path, env: dict, keys: list[str]) -> float | None:
    """Pearson of the model's predicted rating against the hidden taste of the unrated songs."""
    musicrec(data, env, "config", "set", "artist_cap", "1000")
    out = musicrec(data, env, "recommend", "--n", str(len(keys)), "--json")
    predicted = {row["key"]: row["predicted_rating"] for row in json.loads(out.stdout)["songs"]}
    pairs = [(predicted[k], library.taste[i]) for i, k in enumerate(keys)
             if not library.rated[i] and predicted.get(k) is not None]
    if len(pairs) < 3:
        return None
    p, t = np.array(pairs).T
    return float(np.corrcoef(p, t)[0, 1])


def _bliss_one(path: str) -> list[float] | None:
    """bliss's 23 features, or None where it cannot decode the file (it panics on some Ogg files)."""
    from bliss_audio import Song

    try:
        return list(Song(path).analysis)
    except BaseException:  # noqa: BLE001  (pyo3's PanicException derives from BaseException)
        return None


def run_bliss(library: Library, workers: int) -> Result:
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        features = list(pool.map(_bliss_one, [str(f) for f in library.files], chunksize=2))
    seconds = time.monotonic() - started
    failed = [library.files[i] for i, f in enumerate(features) if f is None]
    for file in failed:
        print(f"bliss-audio could not analyse {file}", file=sys.stderr)
    # bliss ranks songs by the Euclidean distance of its 23 features (its README's way); a song it
    # could not analyse is left out of every system's table (see ``print_report``)
    vectors = np.array([f if f is not None else [np.nan] * 23 for f in features], dtype=np.float64)
    return Result("bliss-audio", vectors, "euclidean", len(library.files) / seconds,
                  {"failed": len(failed)})


def neighbours(vectors: np.ndarray, metric: str, k: int) -> np.ndarray:
    """songs x k indexes of each song's nearest other songs."""
    if metric == "cosine":
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        distance = -(unit @ unit.T)
    else:
        squared = (vectors ** 2).sum(axis=1)
        distance = squared[:, None] + squared[None, :] - 2 * vectors @ vectors.T
    np.fill_diagonal(distance, np.inf)
    return np.argsort(distance, axis=1, kind="stable")[:, :k]


def precision_at_k(vectors: np.ndarray, labels: list[str], metric: str, k: int = K) -> np.ndarray:
    """Per song: the share of its k nearest other songs that share its label."""
    label = np.asarray(labels)
    return (label[neighbours(vectors, metric, k)] == label[:, None]).mean(axis=1)


def chance(labels: list[str]) -> float:
    label = np.asarray(labels)
    same = np.array([(label == x).sum() - 1 for x in label])
    return float(np.mean(same / (len(label) - 1)))


def mean_cosine(vectors: np.ndarray) -> float:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit.T
    n = len(unit)
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))


def print_report(library: Library, results: list[Result]) -> None:
    # only the songs every system analysed
    kept = np.all([~np.isnan(r.vectors).any(axis=1) for r in results if r.vectors is not None], axis=0)
    if not kept.all():
        print(f"\n{int((~kept).sum())} songs left out: not every system could analyse them")
        library = Library([f for f, k in zip(library.files, kept, strict=True) if k],
                          [x for x, k in zip(library.labels, kept, strict=True) if k],
                          library.taste[kept], library.rated[kept])
        results = [Result(r.name, r.vectors[kept], r.metric, r.songs_per_s, r.extra) for r in results]
    labels = library.labels
    print(f"\n{len(labels)} songs, {len(library.sources)} sources; same-source precision@{K} "
          f"(leave-one-out), chance {chance(labels):.3f}")
    scored = [(r, precision_at_k(r.vectors, labels, r.metric)) for r in results if r.vectors is not None]
    header = f"{'':<22}" + "".join(f"{r.name:>20}" for r, _ in scored)
    print(header)
    print(f"{'all songs':<22}" + "".join(f"{p.mean():>20.3f}" for _, p in scored))
    for source in library.sources:
        rows = np.asarray(labels) == source
        print(f"{source + f' ({rows.sum()})':<22}" + "".join(f"{p[rows].mean():>20.3f}" for _, p in scored))
    print(f"{'analysis songs/s':<22}" + "".join(f"{r.songs_per_s:>20.2f}" for r, _ in scored))
    print(f"{'mean pairwise cosine':<22}" + "".join(
        f"{mean_cosine(r.vectors) if r.metric == 'cosine' else float('nan'):>20.3f}" for r, _ in scored))
    bliss = next((p.mean() for r, p in scored if r.name == "bliss-audio"), None)
    for r, p in scored:
        if r.name.startswith("musicrec"):
            ratio = f", {p.mean() / bliss:.2f} x bliss" if bliss else ""
            served = r.extra.get("backend")
            print(f"\n{r.name} (encoder backend {served}): precision@{K} {p.mean():.3f}{ratio}; stages (s): "
                  + ", ".join(f"{k} {v:.0f}" for k, v in r.extra["stages"].items())
                  + f"; wall {r.extra['wall']:.0f} s")
            encoder = r.extra["encoder"]
            if encoder:
                print(f"  encoder: {encoder.get('epoch')} epochs, {encoder.get('step')} steps, genre mAP "
                      f"{_num(encoder.get('genre_map'))}")
            rating = r.extra["rating"]
            rows = {**rating.get("variants", {}), **rating.get("baselines", {})}
            print("  rating model, out-of-fold Pearson: " + ", ".join(
                f"{name} {_num(v.get('pearson'))}" for name, v in rows.items()))
            print(f"  predicted vs hidden taste of the {int((~library.rated).sum())} unrated songs: "
                  f"Pearson {_num(r.extra['hidden'])}")


def _num(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", type=Path, default=DEFAULT_MUSIC,
                        help="one sub-folder per source (default: make-dev-library.sh's)")
    parser.add_argument("--workers", type=int, default=2,
                        help="bliss's processes; musicrec's is its num_workers setting (default 2)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--runs", default="tags,no tags", help="which musicrec runs, comma-separated")
    parser.add_argument("--no-bliss", action="store_true")
    parser.add_argument("--backends", action="store_true",
                        help="also every other available encoder backend on the same cache")
    parser.add_argument("--keep", type=Path, help="keep each run's data folder under this folder")
    args = parser.parse_args()
    if not args.music.is_dir():
        print(f"{args.music}: no such folder (build it with ../shared/data/make-dev-library.sh)",
              file=sys.stderr)
        return 1
    library = load_library(args.music)
    results = []
    for run_name in [r.strip() for r in args.runs.split(",") if r.strip()]:
        root = Path(tempfile.mkdtemp(prefix="musicrec-quality-", dir=args.keep))
        results.append(run_musicrec(library, args.music, root, run_name == "tags", args.device))
        if args.backends:
            results += run_backends(library, root, results[-1], args.device, train=run_name == "tags")
        print(f"{results[-1].name}: kept in {root}" if args.keep else "", file=sys.stderr)
        if not args.keep:
            subprocess.run(["rm", "-rf", str(root)], check=False)
    if not args.no_bliss:  # after musicrec's runs, so that a failing run fails early
        results.insert(0, run_bliss(library, args.workers))
        print(f"bliss-audio: {results[0].songs_per_s:.2f} songs/s", file=sys.stderr)
    print_report(library, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
