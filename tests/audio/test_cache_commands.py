"""``musicrec build-cache``, ``musicrec cache-stats`` and the pipeline's cache stage end to end."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from cache_audio_gen import write

from musicrec_desktop.cli import main
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.pipeline import CacheStage, LibraryStage, Pipeline
from tests.app.tiny import make_ctx
from tests.library.helpers import insert_song, schema_database


def test_build_cache_on_a_folder_then_stats(tmp_path, capsys):
    music = tmp_path / "music"
    music.mkdir()
    write(music / "one.flac", 40.0, 22050)
    write(music / "two.wav", 70.0, 22050)
    (music / "bad.mp3").write_text("not audio")
    data = str(tmp_path / "data")
    assert main(["--data-dir", data, "config", "set", "cache_format", "npy"]) == 0
    capsys.readouterr()
    assert main(["--data-dir", data, "build-cache", "--folder", str(music), "--workers", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cached"] == 2 and report["songs"] == 2
    assert main(["--data-dir", data, "build-cache", "--folder", str(music), "--workers", "0"]) == 0
    assert "cached 0, up to date 2" in capsys.readouterr().out
    assert main(["--data-dir", data, "cache-stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["songs"] == 2 and stats["chunks"] == 3 and stats["formats"] == {"npy": 2}
    assert stats["bytes"] == report["total_bytes"] and stats["oldest"] <= stats["newest"]
    assert main(["--data-dir", data, "cache-stats"]) == 0
    assert "chunks:         3" in capsys.readouterr().out


def test_cache_stats_before_any_build_says_what_to_do(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "cache-stats"]) == 3
    assert "build-cache" in capsys.readouterr().err


def _strawberry_library(database: Path, files: list[Path]) -> Path:
    """A Strawberry database (its real schema) listing ``files``."""
    schema_database("strawberry", database)
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        for path in files:
            insert_song(db, "strawberry", file_url(path), title=path.stem)
    return database


def _forget(database: Path, path: Path) -> None:
    """Removes the song from the player's library, as the player does."""
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM songs WHERE url = ?", (file_url(path),))


def test_build_cache_keeps_the_entry_of_a_song_whose_file_is_away(tmp_path, capsys):
    music = tmp_path / "music"
    music.mkdir()
    stays, away = write(music / "stays.flac", 35.0, 22050), write(music / "away.flac", 35.0, 22050)
    database = _strawberry_library(tmp_path / "strawberry.db", [stays, away])
    data = ["--data-dir", str(tmp_path / "data")]
    for name, value in (("cache_format", "npy"), ("player", "strawberry"), ("database_path", str(database))):
        assert main([*data, "config", "set", name, value]) == 0

    def build() -> dict:
        capsys.readouterr()
        assert main([*data, "build-cache", "--workers", "0", "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    assert build()["cached"] == 2
    unmounted = away.rename(tmp_path / "away.flac")  # its drive is unmounted: still in the library
    kept = build()
    assert (kept["removed"], kept["attempted"], kept["songs"]) == (0, 0, 2)
    unmounted.rename(away)
    _forget(database, away)
    collected = build()
    assert (collected["removed"], collected["songs"]) == (1, 1)
    assert main([*data, "cache-stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["songs"] == 1


def test_the_pipeline_cache_stage_keeps_the_entry_of_a_song_whose_file_is_away(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    stays, away = write(music / "stays.flac", 35.0, 22050), write(music / "away.flac", 35.0, 22050)
    database = _strawberry_library(tmp_path / "strawberry.db", [stays, away])
    # an encoder trained on the cache (a pretrained one reads the files: no cache is built)
    ctx = make_ctx(tmp_path, player="strawberry", database_path=str(database), cache_format="npy",
                   encoder="moco")
    pipeline = Pipeline([LibraryStage(), CacheStage()])

    assert pipeline.run(ctx).figures["cache"]["songs"] == 2
    away.rename(tmp_path / "away.flac")  # its drive is unmounted
    kept = pipeline.run(ctx)
    assert kept.ran == ["library", "cache"]
    assert (kept.figures["cache"]["removed"], kept.figures["cache"]["songs"]) == (0, 2)
    _forget(database, away)  # and while it is away, the song leaves the library
    collected = pipeline.run(ctx)
    assert collected.ran == ["library", "cache"]
    assert (collected.figures["cache"]["removed"], collected.figures["cache"]["songs"]) == (1, 1)


def test_build_cache_and_cache_stats_tell_how_many_songs_the_size_budget_left_out(tmp_path, capsys):
    music = tmp_path / "music"
    music.mkdir()
    for i in range(3):
        write(music / f"s{i}.flac", 35.0, 22050)
    data = ["--data-dir", str(tmp_path / "data")]
    for name, value in (("cache_format", "npy"), ("cache_budget_gb", "0.0025")):  # one npy song
        assert main([*data, "config", "set", name, value]) == 0
    capsys.readouterr()
    assert main([*data, "build-cache", "--folder", str(music), "--workers", "0"]) == 0
    assert "size budget of 0.0025 GB reached: 2 songs not cached" in capsys.readouterr().out
    assert main([*data, "cache-stats"]) == 0
    assert "over budget:    2 songs not cached by the last build" in capsys.readouterr().out
