"""The library as the library stage read it, stored in the data folder; recommend reads the player
database once; no command but the first-run paths makes the demo library."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.library import current_library, load_library
from musicrec_desktop.library.song import LibraryScan, Song
from musicrec_desktop.library.stored import store_library, stored_fingerprint, stored_library, stored_path
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.recommend.service import train_recommender
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore

_opened: list[str] = []  # sqlite3.connect's database argument, while a test watches


def _audit(event: str, args: tuple) -> None:
    if event == "sqlite3.connect" and _watching:
        _opened.append(str(args[0]))


_watching: list[bool] = []
sys.addaudithook(_audit)  # audit hooks cannot be removed; it only records while a test watches


def test_a_fresh_read_is_stored_and_read_back_equal(odd_db, tmp_path):
    dirs = DataDirs.under(tmp_path / "data")
    settings = Settings(database_path=str(odd_db.path))
    assert stored_library(settings, dirs) is None
    scan = load_library(settings, dirs)
    stored = stored_library(settings, dirs)
    assert stored is not None and stored_path(dirs).is_file()
    assert stored.songs == scan.songs and stored.skipped == scan.skipped and stored.notes == scan.notes
    assert (stored.source, stored.location) == (scan.source, scan.location)
    assert stored.songs[0].path is None or stored.songs[0].path.is_absolute()
    assert stored_fingerprint(dirs) is not None
    # Other library settings: the stored one is not theirs.
    assert stored_library(settings.replace(player="folders"), dirs) is None
    # current_library reads the stored one without opening the database again.
    odd_db.path.rename(odd_db.path.with_suffix(".moved"))
    assert current_library(settings, dirs).songs == scan.songs


def test_the_fingerprint_follows_a_rating(odd_db, tmp_path):
    import dataclasses

    from musicrec_desktop.library.stored import fingerprint

    scan = load_library(Settings(database_path=str(odd_db.path)), DataDirs.under(tmp_path / "d"))
    rated = dataclasses.replace(scan, songs=[dataclasses.replace(scan.songs[0], rating=0.2)] + scan.songs[1:])
    assert fingerprint(scan) != fingerprint(rated) and fingerprint(scan) == fingerprint(scan)


def test_recommend_opens_the_player_database_once(odd_db, tmp_path, capsys):
    dirs = DataDirs.under(tmp_path / "data").create()
    settings = Settings(database_path=str(odd_db.path), output_dir=str(tmp_path / "out"), recent_days=0)
    settings.save(dirs.settings_file)
    scan = load_library(settings, dirs)
    vectors = np.random.default_rng(0).normal(size=(len(scan.songs), 8)).astype(np.float32)
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model("test-model", 8)
        store.put("test-model", [(s.key, v / np.linalg.norm(v))
                                 for s, v in zip(scan.songs, vectors, strict=True)])
        store.set_current("test-model")
    train_recommender(settings, dirs, current_library(settings, dirs))  # the stored one: no database read
    _opened.clear()
    _watching.append(True)
    try:
        assert main(["--data-dir", str(tmp_path / "data"), "recommend", "--n", "3"]) == 0
    finally:
        _watching.clear()
    player_opens = [d for d in _opened if odd_db.path.name in d]
    assert len(player_opens) == 1, _opened
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


@pytest.mark.parametrize("command", [["recommend"], ["radio", "--seed", "/music/a.flac"], ["evaluate"],
                                     ["embed"], ["library"], ["train-classifier"]])
def test_without_a_library_commands_fail_at_once_and_make_no_demo(command, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    data = tmp_path / "data"
    started = time.monotonic()
    assert main(["--data-dir", str(data), *command]) == 3
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert [line for line in err if "no library configured" in line] == [err[-1]]
    assert "musicrec config set" in err[-1]
    assert not DataDirs.under(data).demo.exists()


def test_the_model_report_map_makes_no_demo_library(tmp_path, monkeypatch):
    from musicrec_desktop.app.map_data import load_map
    from musicrec_desktop.context import AppContext
    from musicrec_desktop.errors import NoLibraryError

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    dirs = DataDirs.under(tmp_path / "data").create()
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model("m", 2)
        store.put("m", [("file:///a.flac", np.array([1.0, 0.0]))])
        store.set_current("m")
    with pytest.raises(NoLibraryError):
        load_map(AppContext(dirs, Settings()))
    assert not dirs.demo.exists()


def test_a_stored_library_from_before_tempo_mood_and_comment_still_loads(tmp_path):
    dirs = DataDirs.under(tmp_path / "data").create()
    settings = Settings(database_path=str(tmp_path / "strawberry.db"))
    song = Song(key="file:///m/a.flac", url="file:///m/a.flac", path=Path("/m/a.flac"), title="A",
                genre="Jazz", rating=0.8, added=1_600_000_000, bpm=150.0, mood="calm", comment="live")
    store_library(settings, dirs, LibraryScan("strawberry", tmp_path / "strawberry.db", [song]))
    data = json.loads(stored_path(dirs).read_text(encoding="utf-8"))
    new = ["bpm", "mood", "comment"]
    cut = [data["fields"].index(f) for f in new]
    old = {**data, "fields": [f for f in data["fields"] if f not in new],
           "songs": [[v for i, v in enumerate(row) if i not in cut] for row in data["songs"]]}
    stored_path(dirs).write_text(json.dumps(old), encoding="utf-8")
    loaded = stored_library(settings, dirs)
    assert loaded is not None
    assert loaded.songs == [Song(key="file:///m/a.flac", url="file:///m/a.flac", path=Path("/m/a.flac"),
                                 title="A", genre="Jazz", rating=0.8, added=1_600_000_000)]
    assert (loaded.songs[0].bpm, loaded.songs[0].mood, loaded.songs[0].comment) == (None, "", "")
    # A file from a newer version, with a field this one does not know, is read afresh instead.
    newer = {**data, "fields": [*data["fields"], "key_signature"],
             "songs": [[*row, "A minor"] for row in data["songs"]]}
    stored_path(dirs).write_text(json.dumps(newer), encoding="utf-8")
    assert stored_library(settings, dirs) is None
