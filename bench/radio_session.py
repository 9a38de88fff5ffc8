"""What asking the recommender about the current listening session adds to each radio batch.

Run: ``.venv/bin/python bench/radio_session.py [--listens 10000 100000] [--songs 10000]``

Every radio batch reads the listening history's current session (``Recommender.listening_session``:
the recent end of the history, further back only while the session goes on) and asks the session
KNN about it (``Recommender.session_relevance``: ``taste.for_session`` + ``predict``). A real
history store of ``--listens`` plays (a start and a finish each, in sessions of 12 two hours
apart, the last one going on now) over ``--songs`` songs with random 512-d vectors; prints the
milliseconds of each part, and of reading the whole history (``taste.history_events``) for scale.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from musicrec_desktop.context import AppContext  # noqa: E402
from musicrec_desktop.library.song import Song  # noqa: E402
from musicrec_desktop.paths import DataDirs  # noqa: E402
from musicrec_desktop.recommend.service import Recommender  # noqa: E402
from musicrec_desktop.recommend.session_knn import SessionKnn  # noqa: E402
from musicrec_desktop.recommend.table import SongTable  # noqa: E402
from musicrec_desktop.recommend.taste import history_events  # noqa: E402
from musicrec_desktop.settings import Settings  # noqa: E402
from musicrec_desktop.store.history import HistoryStore  # noqa: E402

DIM = 512
SESSION = 12  # plays a session, then a gap of two hours
REPEATS = 5


def history(path: Path, songs: list[Song], listens: int, now: float, rng: np.random.Generator) -> None:
    rows = []
    at = now - 200.0  # the last play finishes now; earlier ones go back in sessions
    for i in range(listens):
        song = songs[int(rng.integers(len(songs)))]
        rows += [(song.url, song.key, "finish", at, 180.0, "bench"),
                 (song.url, song.key, "start", at - 180, 0.0, "bench")]
        at -= 200.0 + (7200.0 if (i + 1) % SESSION == 0 else 0.0)
    with HistoryStore(path) as store, store._db:
        store._db.executemany("INSERT INTO listening (song_url, song_key, kind, at, position_s, player) "
                              "VALUES (?, ?, ?, ?, ?, ?)", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listens", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--songs", type=int, default=10_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    urls = [f"file:///music/{i}.flac" for i in range(args.songs)]
    songs = [Song(key=url, url=url, path=None) for url in urls]
    vectors = rng.standard_normal((args.songs, DIM)).astype(np.float32)
    table = SongTable("bench", songs, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    for listens in args.listens:
        with tempfile.TemporaryDirectory() as tmp:
            dirs = DataDirs.under(Path(tmp)).create()
            now = time.time()
            history(dirs.history_db, songs, listens, now, rng)
            radio = Recommender(AppContext(dirs, Settings()), table, SessionKnn([], "bench"), None)
            read, ask, whole = [], [], []
            for _ in range(REPEATS):
                start = time.perf_counter()
                session = radio.listening_session(now)
                read.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                radio.session_relevance(session)
                ask.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                history_events(dirs.history_db, songs)
                whole.append((time.perf_counter() - start) * 1000)
            print(f"{listens} listens, {args.songs} songs: the session going on ({len(session)} events) "
                  f"read in {np.median(read):.1f} ms, the session KNN asked in {np.median(ask):.1f} ms; "
                  f"the whole history read in {np.median(whole):.0f} ms (medians of {REPEATS})")

if __name__ == "__main__":
    main()
