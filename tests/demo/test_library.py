"""The demo library on disk: decodable tagged files, a Strawberry database, a listener, reuse."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from musicrec_desktop.demo.catalog import listener_taste, plan_catalog, simulate_listener
from musicrec_desktop.demo.library import ensure_demo_library, write_demo_library
from musicrec_desktop.demo.styles import STYLES
from musicrec_desktop.errors import Cancelled
from musicrec_desktop.library.players import read_player_database
from musicrec_desktop.library.urls import file_url, local_path
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken

SCHEMA = Path(__file__).resolve().parents[2] / "resources" / "schemas" / "strawberry.sql"
QUICK = {"seconds": (3.0, 4.0), "sample_rate": 16000, "workers": 1}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder`` with its checksum and modification time."""
    return {str(p.relative_to(folder)): (digest(p), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return write_demo_library(tmp_path_factory.mktemp("demo"), 14, seed=3, **QUICK)


def test_files_decode_with_their_tags(library):
    assert {s.ext for s in library.songs} == {"flac", "ogg", "mp3"}
    assert {s.style for s in library.songs} == set(STYLES)
    for song in library.songs:
        path = library.path_of(song)
        audio, rate = sf.read(path, dtype="float32")
        assert rate == 16000 and audio.shape[1] == 2
        assert abs(len(audio) / rate - song.seconds) < 0.15
        assert 0.02 < np.sqrt(np.mean(audio**2)) < 0.3
        tags = mutagen.File(path, easy=True)
        assert tags["title"] == [song.title] and tags["artist"] == [song.artist]
        assert tags["album"] == [song.album]
        assert tags.get("genre", [""]) == [song.genre]
    assert not list(library.music.rglob(".*part*"))  # no half-written files left behind


def test_database_is_strawberrys_schema_with_the_listeners_history(library):
    with contextlib.closing(sqlite3.connect(library.database)) as db:
        expected = sqlite3.connect(":memory:")
        expected.executescript(SCHEMA.read_text(encoding="utf-8"))
        tables = "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index', 'view') ORDER BY name"
        assert db.execute(tables).fetchall() == expected.execute(tables).fetchall()
        assert db.execute("SELECT version FROM schema_version").fetchone() == (15,)
        rows = db.execute("SELECT url, rating, playcount, skipcount, lastplayed, length, source, filetype, "
                          "filesize, title FROM songs").fetchall()
        assert db.execute("SELECT path FROM directories").fetchall() == [(str(library.music),)]
    by_url = {file_url(library.path_of(s)): s for s in library.songs}
    assert len(rows) == len(library.songs)
    for url, rating, plays, skips, lastplayed, length, source, filetype, size, title in rows:
        song = by_url[url]
        assert "%20" in url and local_path(url) == library.path_of(song)
        assert rating == song.rating and (rating == -1 or 0 <= rating <= 1)
        assert round(rating * 10) == pytest.approx(rating * 10)
        assert (plays, skips, lastplayed) == (song.playcount, song.skipcount, song.lastplayed)
        assert title == song.title
        assert length == round(song.seconds * 1e9) and source == 2
        assert filetype == {"flac": 2, "ogg": 5, "mp3": 8}[song.ext]
        assert size == library.path_of(song).stat().st_size
    scan = read_player_database(library.database, "strawberry", source="demo")
    assert len(scan.local_songs) == len(library.songs) and not scan.skipped


def test_listener_prefers_some_styles():
    catalog = plan_catalog(200, seed=7)
    songs, _ = simulate_listener(catalog, seed=7, now=1_700_000_000)
    taste = listener_taste(7)
    loved = sorted(taste, key=taste.get)[-2:]
    disliked = sorted(taste, key=taste.get)[:2]
    rated = [s for s in songs if s.rating >= 0]
    assert 0.3 < len(rated) / len(songs) < 0.5

    def mean(field: str, styles: list[str], among=songs) -> float:
        return float(np.mean([getattr(s, field) for s in among if s.style in styles]))

    assert mean("rating", loved, rated) > mean("rating", disliked, rated) + 0.4
    assert mean("playcount", loved) > 2 * mean("playcount", disliked)
    assert mean("skipcount", disliked) > 2 * mean("skipcount", loved)
    played = [s.lastplayed for s in songs if s.playcount]
    assert min(played) >= 1_700_000_000 - 366 * 86400 and max(played) <= 1_700_000_000
    assert all(s.lastplayed == -1 for s in songs if not s.playcount)
    assert len({s.artist for s in songs}) == 28 and len(songs) == 200
    assert sum(1 for s in songs if not s.genre) < 30  # a few untagged albums, most tagged


def test_second_run_reuses_everything(tmp_path):
    first = write_demo_library(tmp_path, 7, seed=5, **QUICK)
    before = snapshot(tmp_path)
    again = write_demo_library(tmp_path, 7, seed=5, **QUICK)
    assert again.written == 0 and snapshot(tmp_path) == before
    assert again.songs == first.songs  # same ratings and plays as in the database

    lost = first.path_of(first.songs[2])
    lost.unlink()
    repaired = write_demo_library(tmp_path, 7, seed=5, **QUICK)
    assert repaired.written == 1 and lost.is_file()
    after = snapshot(tmp_path)
    unchanged = [k for k in before if k.startswith("Music/") and k != str(lost.relative_to(tmp_path))]
    assert all(after[k] == before[k] for k in unchanged)


def test_interrupted_run_carries_on(tmp_path):
    token = CancelToken()

    def stop_after_two(progress):
        if progress.done >= 2:
            token.cancel()

    with pytest.raises(Cancelled):
        write_demo_library(tmp_path, 7, seed=5, progress=stop_after_two, cancel=token, **QUICK)
    assert len(list((tmp_path / "Music").rglob("*.*"))) == 2
    assert not (tmp_path / "strawberry.db").exists()
    finished = write_demo_library(tmp_path, 7, seed=5, **QUICK)
    assert finished.written == 5 and finished.database.is_file()


def test_other_size_replaces_only_the_old_demo_songs(tmp_path):
    old = write_demo_library(tmp_path, 7, seed=5, **QUICK)
    keep = tmp_path / "Music" / "mine.txt"
    keep.write_text("not the demo's")
    new = write_demo_library(tmp_path, 8, seed=6, **QUICK)
    files = {p for p in (tmp_path / "Music").rglob("*") if p.is_file()}
    assert files == {new.path_of(s) for s in new.songs} | {keep}
    assert not any(old.path_of(s).exists() for s in old.songs if old.path_of(s) not in files)


def test_worker_processes_write_the_same_library(tmp_path):
    one = write_demo_library(tmp_path / "one", 3, seed=9, **QUICK)
    two = write_demo_library(tmp_path / "two", 3, seed=9, **{**QUICK, "workers": 2})
    assert two.written == 3
    for song in one.songs:
        a, _ = sf.read(one.path_of(song), dtype="float32")
        b, _ = sf.read(two.path_of(song), dtype="float32")
        assert np.array_equal(a, b)


def test_ensure_demo_library_lives_under_state(tmp_path):
    dirs = DataDirs.under(tmp_path)
    database = ensure_demo_library(dirs, songs=7, **QUICK)
    assert database == dirs.state / "demo" / "strawberry.db" and database.is_file()
    stamp = database.stat().st_mtime_ns
    assert ensure_demo_library(dirs) == database  # the 7-song library is kept, not made again at 200
    assert database.stat().st_mtime_ns == stamp
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT count(*) FROM songs").fetchone() == (7,)


@pytest.mark.parametrize("ext", ["mp3", "ogg", "flac"])
def test_encoding_without_ffmpeg(tmp_path, monkeypatch, ext):
    """Without ffmpeg every format is written by libsndfile alone."""
    import musicrec_desktop.demo.library as demo

    monkeypatch.setattr(demo.shutil, "which", lambda name: None)
    t = np.arange(16000 * 2) / 16000
    audio = 0.3 * np.sin(2 * np.pi * np.array([[440.0], [660.0]]) * t).astype(np.float32)
    demo.encode(tmp_path / f"tone.{ext}", audio, 16000)
    decoded, rate = sf.read(tmp_path / f"tone.{ext}", dtype="float32")
    assert rate == 16000 and decoded.shape[1] == 2 and abs(len(decoded) - len(t)) < 2000
    spectrum = np.abs(np.fft.rfft(decoded[:16000, 0]))
    assert abs(np.argmax(spectrum) - 440) <= 2  # one-second window: bin = Hz
