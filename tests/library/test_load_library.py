"""Which library ``load_library`` reads: settings, default player locations, folders, demo."""

from __future__ import annotations

import functools
import shutil

import pytest

from musicrec_desktop.errors import LibraryError, NoLibraryError
from musicrec_desktop.library import load_library, resolve_source
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from tests.library.helpers import ODD_SONGS, schema_database, write_song


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return home


def put(odd_db, home, player):
    target = {"strawberry": home / ".local/share/strawberry/strawberry/strawberry.db",
              "clementine": home / ".config/Clementine/clementine.db"}[player]
    target.parent.mkdir(parents=True)
    shutil.copy(odd_db.path, target)
    return target


def test_auto_prefers_strawberry_then_clementine(odd_db, home, tmp_path):
    dirs = DataDirs.under(tmp_path / "data")
    path = put(odd_db, home, odd_db.player)
    assert resolve_source(Settings(), home) == (odd_db.player, path)
    scan = load_library(Settings(), dirs, home=home)
    assert scan.source == odd_db.player and scan.location == path and len(scan.songs) == ODD_SONGS
    if odd_db.player == "clementine":  # a Strawberry database found as well wins
        other = home / ".local/share/strawberry/strawberry/strawberry.db"
        schema_database("strawberry", other)
        assert resolve_source(Settings(), home) == ("strawberry", other)


def test_auto_uses_the_given_database_and_recognises_its_schema(odd_db, home, tmp_path):
    settings = Settings().replace(database_path=str(odd_db.path))
    scan = load_library(settings, DataDirs.under(tmp_path / "data"), home=home)
    assert scan.source == odd_db.player and len(scan.songs) == ODD_SONGS


def test_named_player_without_database_is_a_clear_error(home, tmp_path):
    with pytest.raises(LibraryError, match="no Clementine database found"):
        load_library(Settings().replace(player="clementine"), DataDirs.under(tmp_path), home=home)


def test_flatpak_location(odd_db, home):
    if odd_db.player != "strawberry":
        pytest.skip("one player is enough")
    flatpak = (home / ".var/app/org.strawberrymusicplayer.strawberry/data/strawberry/strawberry"
               / "strawberry.db")
    flatpak.parent.mkdir(parents=True)
    shutil.copy(odd_db.path, flatpak)
    assert resolve_source(Settings().replace(player="strawberry"), home) == ("strawberry", flatpak)


def test_auto_falls_back_to_music_folders_then_demo(home, tmp_path):
    music = tmp_path / "Music"
    write_song(music / "a.flac", "A", "B", "Jazz")
    settings = Settings().replace(music_folders=[str(music), str(tmp_path / "gone")])
    assert resolve_source(settings, home) == ("folders", None)
    scan = load_library(settings, DataDirs.under(tmp_path / "data"), home=home)
    assert scan.source == "folders" and [s.title for s in scan.songs] == ["A"]
    assert resolve_source(Settings().replace(music_folders=[str(tmp_path / "gone")]), home) == ("demo", None)


def test_reading_never_makes_the_demo_library_the_first_run_does(home, tmp_path, monkeypatch):
    demo = pytest.importorskip("musicrec_desktop.demo.library")
    from musicrec_desktop.context import AppContext
    from musicrec_desktop.pipeline import LibraryStage, PipelineState
    from musicrec_desktop.progress import CancelToken, ignore_progress

    dirs = DataDirs.under(tmp_path / "data").create()
    with pytest.raises(NoLibraryError, match="^no library configured: .*musicrec config set"):
        load_library(Settings(), dirs, home=home)
    assert not dirs.demo.exists()
    with pytest.raises(NoLibraryError):
        LibraryStage().run(AppContext(dirs, Settings()), PipelineState(), ignore_progress, CancelToken())
    assert not dirs.demo.exists()
    # The real generator, only smaller: the full demo library takes minutes to render.
    small = functools.partial(demo.ensure_demo_library, songs=3, seconds=(2.0, 3.0),
                              sample_rate=8000, workers=1)
    monkeypatch.setattr(demo, "ensure_demo_library", small)
    monkeypatch.setenv("HOME", str(home))
    state = PipelineState()
    LibraryStage(make_demo=True).run(AppContext(dirs, Settings()), state, ignore_progress, CancelToken())
    assert state.scan.source == "demo" and len(state.scan.local_songs) == 3
    assert state.scan.location.is_relative_to(tmp_path / "data")
    # Once made, reading finds it.
    assert len(load_library(Settings(), dirs, home=home).local_songs) == 3
