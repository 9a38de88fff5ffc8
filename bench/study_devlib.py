"""The study on a real library with an imported history: ``python bench/study_devlib.py [--music DIR]
[--root DIR]``.

The library is a folder with one sub-folder per game soundtrack (``../shared/data/make-dev-library.sh``;
the game is the label). A simulated listener plays it for 200 days: each game enters their life at
some time (two from the start, the rest spread over the period) and is explored when new; each
listening session keeps to one game and may drift to a second half-way; preferences drift from
session to session. The listens are written as a ListenBrainz export (JSON lines, with what a
scrobbler sends: the file's tags, the file name as title when it has none) and the Strawberry
database of the folder counts the same plays. Then, as a person does, on a fresh machine:
``musicrec history import``, ``musicrec run`` (default settings, the CPU), ``musicrec embed
--backend`` for the other backends that need no training, ``musicrec study --json`` and its
variant ``--with-heard`` (songs heard before the cut-off count too).

Prints every backend x recommender's test-half HitRate and NDCG at 10 and 50 with their 95 %
intervals, and the recommender the validation half chose. The music files are only read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import fresh_machine, musicrec  # noqa: E402  (bench/run.py: the same fresh-machine run)

from musicrec_desktop.demo.catalog import DemoSong  # noqa: E402
from musicrec_desktop.demo.strawberry import write_strawberry_db  # noqa: E402

DEFAULT_MUSIC = Path("/work/devlib/music")
AUDIO_SUFFIXES = {".ogg", ".mp3", ".flac", ".opus", ".wav"}
DAYS = 200
SESSIONS = 420
START = 1_735_689_600  # 2025-01-01 UTC
SEED = 15
DISCOVERY = 0.5  # the chance a play is a song not heard yet, when none of its game was heard


@dataclass
class Track:
    file: Path
    game: str  # the folder: the label
    artist: str
    title: str  # as a scrobbler sends it: the tag, else the file name
    album: str
    tagged_title: str  # the title tag ("" when none), for the database
    seconds: float


def read_tracks(music: Path) -> list[Track]:
    import mutagen
    import soundfile

    tracks = []
    for file in sorted(p for p in music.glob("*/*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
        tags: dict = {}
        with contextlib.suppress(mutagen.MutagenError):
            found = mutagen.File(file, easy=True)
            tags = dict(found.tags or {}) if found is not None else {}
        first = {k: (v[0] if isinstance(v, list) and v else "") for k, v in tags.items()}
        title = first.get("title", "")
        tracks.append(Track(file, file.parent.name, first.get("artist", ""), title or file.stem,
                            first.get("album", ""), title, soundfile.info(str(file)).duration))
    return tracks


def simulate(tracks: list[Track], rng: np.random.Generator) -> list[tuple[int, float]]:
    """(track index, epoch seconds) of every listen heard to the end, oldest first."""
    games = sorted({t.game for t in tracks})
    songs = {g: [i for i, t in enumerate(tracks) if t.game == g] for g in games}
    order = rng.permutation(len(games))
    # two games known from the start, the others entering one by one over the period
    late = np.sort(rng.uniform(0.1, 0.95, len(games) - 2))
    enters = {g: 0.0 if rank < 2 else float(late[rank - 2]) * DAYS * 86400
              for g, rank in zip(games, np.argsort(order), strict=True)}
    liking = {g: float(rng.lognormal(0, 0.6)) for g in games}  # drifts from session to session
    appeal = rng.lognormal(0, 0.8, len(tracks))  # some songs are favourites
    heard: set[int] = set()
    listens = []
    starts = np.sort(rng.uniform(0, DAYS * 86400, SESSIONS))
    for start in starts:
        for g in games:
            liking[g] *= float(np.exp(rng.normal(0, 0.15)))
        open_games = [g for g in games if enters[g] <= start]
        # a game that entered lately is played more: the listener explores it
        weight = np.array([liking[g] * (1 + 3 * np.exp(-(start - enters[g]) / (20 * 86400)) * (enters[g] > 0))
                           for g in open_games])
        chance = weight / weight.sum()
        game = open_games[rng.choice(len(open_games), p=chance)]
        second = open_games[rng.choice(len(open_games), p=chance)] if rng.random() < 0.35 else game
        length = int(rng.integers(5, 14))
        at, played = float(START + start), set()
        for n in range(length):
            current = game if n < length // 2 else second
            pool = [i for i in songs[current] if i not in played]
            if not pool:
                break
            new = [i for i in pool if i not in heard]
            # discovery: likely while much of the game is unheard
            if new and rng.random() < DISCOVERY * len(new) / len(songs[current]):
                choice = int(rng.choice(new))
            else:
                known = [i for i in pool if i in heard] or pool
                p = appeal[known] / appeal[known].sum()
                choice = int(known[rng.choice(len(known), p=p)])
            played.add(choice)
            heard.add(choice)
            at += min(tracks[choice].seconds, 600.0) + float(rng.uniform(1, 20))
            listens.append((choice, at))
    return listens


def write_export(tracks: list[Track], listens: list[tuple[int, float]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i, at in listens:
            t = tracks[i]
            metadata = {"artist_name": t.artist, "track_name": t.title, "release_name": t.album,
                        "additional_info": {"media_player": "Strawberry", "submission_client": "bench"}}
            f.write(json.dumps({"listened_at": int(at), "track_metadata": metadata}) + "\n")


def write_database(tracks: list[Track], listens: list[tuple[int, float]], music: Path, path: Path) -> None:
    """The player's database of the folder, counting the same plays (the person's player)."""
    plays = np.zeros(len(tracks), dtype=int)
    last = np.full(len(tracks), -1)
    for i, at in listens:
        plays[i] += 1
        last[i] = int(at)
    songs = [DemoSong(style="", variant="", seed=0, seconds=t.seconds, artist=t.artist, album=t.album,
                      title=t.tagged_title, track=0, year=0, genre="", ext=t.file.suffix.lstrip(".").lower(),
                      relpath=str(t.file.relative_to(music)), playcount=int(plays[i]),
                      lastplayed=int(last[i]))
              for i, t in enumerate(tracks)]
    write_strawberry_db(path, music, songs, int(time.time()))


def step(data: Path, env: dict, *args: str, nice: bool = False) -> subprocess.CompletedProcess:
    started = time.monotonic()
    if nice:
        out = subprocess.run(["nice", "-n", "19", sys.executable, "-m", "musicrec_desktop", "--data-dir",
                              str(data), *args], cwd=Path(__file__).resolve().parent.parent, env=env,
                             stdout=subprocess.PIPE, text=True)
    else:
        out = musicrec(data, env, *args)
    print(f"musicrec {' '.join(args)}: exit {out.returncode}, {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    if out.returncode != 0:
        raise SystemExit(f"musicrec {' '.join(args)} failed:\n{out.stdout[-2000:]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--music", type=Path, default=DEFAULT_MUSIC)
    parser.add_argument("--root", type=Path,
                        default=Path(os.environ.get("TMPDIR", "/tmp")) / "musicrec-study")
    parser.add_argument("--study-only", action="store_true",
                        help="reuse the root's run: import (adds nothing twice) and study again")
    parser.add_argument("--backends", default="dsp,mfcc", help="other backends to embed (comma-separated)")
    args = parser.parse_args()
    root = args.root.resolve()
    env, data = fresh_machine(root), root / "data"
    tracks = read_tracks(args.music)
    listens = simulate(tracks, np.random.default_rng(SEED))
    print(f"{len(tracks)} songs of {len({t.game for t in tracks})} games; {len(listens)} listens",
          file=sys.stderr)
    export, db = root / "listenbrainz.jsonl", root / "strawberry.db"
    write_export(tracks, listens, export)
    if not args.study_only:
        write_database(tracks, listens, args.music, db)
        step(data, env, "config", "set", "database_path", str(db))
    imported = json.loads(step(data, env, "history", "import", str(export), "--json").stdout)
    print(f"imported: {json.dumps({k: v for k, v in imported.items() if k != 'unmatched'})}", file=sys.stderr)
    if not args.study_only:
        step(data, env, "run", "--device", "cpu", "--json", nice=True)
        for backend in filter(None, args.backends.split(",")):
            step(data, env, "embed", "--backend", backend, "--device", "cpu", "--json", nice=True)
    result = json.loads(step(data, env, "study", "--json", nice=True).stdout)
    (root / "study.json").write_text(json.dumps(result, indent=1))
    print_table(result)
    # the variant that also counts songs heard before the cut-off: measured, chooses nothing
    heard = json.loads(step(data, env, "study", "--with-heard", "--json", nice=True).stdout)
    (root / "study-with-heard.json").write_text(json.dumps(heard, indent=1))
    print("\nwith songs heard before the cut-off to find too:")
    print_table(heard)


def print_table(result: dict) -> None:
    print(f"{result['n_test']} test / {result['n_validation']} validation sessions, {result['n_ranked']} "
          f"songs ranked, to find: {result['songs_to_find']}; best on validation NDCG@10: {result['chosen']}")
    columns = ("hit_rate@10", "ndcg@10", "hit_rate@50", "ndcg@50")
    print(f"{'backend':<8} {'recommender':<12} " + " ".join(f"{c:>20}" for c in columns))
    for row in result["rows"]:
        cells = []
        for column in columns:
            v = row["test"][column]
            cells.append(f"{v['mean']:.3f} [{v['low'] or 0:.3f},{v['high'] or 0:.3f}]")
        print(f"{row['backend']:<8} {row['recommender']:<12} " + " ".join(f"{c:>20}" for c in cells))
    for row in result["rows"]:
        if row["learnt"]:
            print(f"{row['backend']} {row['recommender']}: {row['learnt']}")


if __name__ == "__main__":
    main()
