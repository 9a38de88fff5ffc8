"""The tray's player commands against a real Strawberry, headless, on its own session bus.

Strawberry plays into a UDP sink, so songs play in real time without a sound device. The library
is a folder of short real songs with (random) embeddings in the store, so the real recommender
runs without training anything. One player serves the module; the last test makes it quit.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.app.player import PlayerCommands
from musicrec_desktop.app.tray import TrayApp
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import NotReadyError, PlayerError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.recommend.playlists import RECOMMENDED
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.history import HistoryStore
from tests.companion.conftest import STRAWBERRY_SETTINGS, checksums, start_player, write_song

pytestmark = pytest.mark.player

SONG_S = 20.0


@pytest.fixture(scope="module")
def strawberry(tmp_path_factory):
    player = start_player("strawberry", tmp_path_factory.mktemp("strawberry") / "home", STRAWBERRY_SETTINGS)
    yield player
    player.stop()


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> list[Path]:
    """Eight 20 s songs by eight artists, in a folder with a space and a quote in its name."""
    folder = tmp_path_factory.mktemp("library") / "my \"music\""
    folder.mkdir()
    return [write_song(folder / f"song {i:02d}; take {i}.flac", SONG_S, 300 + 30 * i, f"Artist {i}")
            for i in range(8)]


@pytest.fixture(scope="module")
def other_song(tmp_path_factory) -> Path:
    """A song outside the library: "other music" for the radio."""
    return write_song(tmp_path_factory.mktemp("elsewhere") / "not in the library.flac", SONG_S, 880)


@pytest.fixture(scope="module")
def ctx(library, tmp_path_factory) -> AppContext:
    from musicrec_desktop.library.folders import scan_folders
    from musicrec_desktop.recommend.service import train_recommender
    from musicrec_desktop.store.embeddings import EmbeddingStore

    root = tmp_path_factory.mktemp("data")
    dirs = DataDirs.under(root).create()
    settings = Settings(player="folders", music_folders=[str(library[0].parent)], playlist_length=4,
                        recent_days=0, artist_cap=100, output_dir=str(root / "out"),
                        notifications=False, watch_library=False)
    settings.save(dirs.settings_file)
    songs = scan_folders([str(library[0].parent)]).songs
    assert len(songs) == len(library)
    vectors = np.random.default_rng(0).normal(size=(len(songs), 8)).astype(np.float32)
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model("test-model", 8)
        store.put("test-model", [(s.key, v / np.linalg.norm(v)) for s, v in zip(songs, vectors, strict=True)])
        store.set_current("test-model")
    train_recommender(settings, dirs, scan_folders(settings.music_folders))  # as the rating stage does
    return AppContext(dirs, settings)


@pytest.fixture(scope="module")
def commands(strawberry) -> PlayerCommands:
    # Small radio batches, so one --next is enough for a top-up.
    return PlayerCommands(strawberry.bus_address, strawberry.env, radio_batch=2, radio_keep_ahead=2)


@pytest.fixture
def mpris(strawberry):
    from musicrec_companion.bus import Bus
    from musicrec_companion.mpris import find_player

    with Bus(strawberry.bus_address) as bus:
        yield find_player(bus)


@pytest.fixture
def tray(qtbot, ctx, commands):
    app = TrayApp(ctx, player=commands)
    yield app
    app.shutdown(20_000)


def wait_until(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


def song_key(ctx: AppContext, path: Path) -> str:
    from musicrec_desktop.library import load_library

    return next(s.key for s in load_library(ctx.settings, ctx.dirs).songs if s.path == path)


def test_play_recommended_fills_and_plays_the_playlist(ctx, commands, mpris, library):
    before = checksums(library)
    assert commands.play_recommended(ctx) == 4
    now = mpris.now_playing()
    assert now.status == "Playing" and now.path in library
    assert [p.name for p in mpris.playlists()].count(RECOMMENDED) == 1
    assert commands.play_recommended(ctx) == 4  # replaces the songs, never a second playlist
    assert [p.name for p in mpris.playlists()].count(RECOMMENDED) == 1
    assert checksums(library) == before  # the person's music is only read


def test_play_song_from_the_report_map(ctx, commands, mpris, library):
    commands.play_song(ctx, song_key(ctx, library[5]))
    wait_until(lambda: mpris.now_playing().path == library[5], what="the clicked song playing")
    with pytest.raises(NotReadyError, match="no longer in the library"):
        commands.play_song(ctx, "file:///gone.flac")


def test_push_playlist_adds_a_named_playlist(ctx, commands, mpris, strawberry, library, tmp_path):
    mix = tmp_path / "Evening - mix.m3u8"  # the writers make "/" safe in file names, not in titles
    mix.write_text("#EXTM3U\n#PLAYLIST:Evening/mix\n" + "".join(f"{p}\n" for p in library[1:4])
                   + "/nowhere/gone.flac\n", encoding="utf-8")
    playing, shown = mpris.now_playing().url, mpris.current_playlist()
    assert commands.push_playlist(ctx, mix) == "created"
    assert commands.push_playlist(ctx, mix) == "kept"  # replacing would switch to it and play it
    assert [p.name for p in mpris.playlists()].count("Evening/mix") == 1
    assert mpris.now_playing().url == playing
    # Strawberry shows a playlist it creates; OpenUri (a click on the map) then plays that one's
    # first song instead of the clicked one, so the later tests get the playing playlist back.
    strawberry.run_cli("--play-playlist", shown.name)
    wait_until(lambda: mpris.current_playlist() == shown, what="the playing playlist shown again")
    empty = tmp_path / "Empty.m3u8"
    empty.write_text("#EXTM3U\n/nowhere/gone.flac\n", encoding="utf-8")
    with pytest.raises(PlayerError, match="no songs on this machine"):
        commands.push_playlist(ctx, empty)


def test_radio_tops_up_as_the_player_advances_until_stopped(qtbot, tray, ctx, commands, mpris,
                                                           strawberry, library):
    seed = library[2]
    commands.play_song(ctx, song_key(ctx, seed))
    wait_until(lambda: mpris.now_playing().path == seed, what="the seed playing")
    started_at = time.time()
    with qtbot.waitSignal(tray.radio_changed, timeout=30_000,
                          check_params_cb=lambda text: text.endswith(": 2 songs added")):
        tray.actions["radio"].trigger()
    assert tray.actions["radio"].text() == "Stop radio"
    assert "Artist 2" in tray.radio_text and "Radio from" in tray.icon.toolTip()

    wait_until(mpris.can_go_next, what="the radio songs loaded")
    with qtbot.waitSignal(tray.radio_changed, timeout=15_000,
                          check_params_cb=lambda text: text.endswith(": 4 songs added")):
        strawberry.run_cli("--next")  # the first radio song plays: one left ahead, so two more come
    radio_song = mpris.now_playing().path
    assert radio_song in library and radio_song != seed

    with qtbot.waitSignal(tray.radio_changed, timeout=10_000, check_params_cb=lambda text: text == ""):
        tray.actions["radio"].trigger()  # "Stop radio"
    assert tray.radio is None and tray.actions["radio"].text() == "Radio from current song"
    assert mpris.now_playing().path == radio_song  # stopping the radio leaves the music playing

    with HistoryStore(ctx.dirs.history_db) as history:
        steps = [(e.kind, e.song_key) for e in history.events(since=started_at)]
    seed_key, radio_key = song_key(ctx, seed), song_key(ctx, radio_song)
    assert steps == [("start", seed_key), ("skip", seed_key), ("start", radio_key), ("skip", radio_key)]


def test_radio_stops_when_the_person_switches_to_other_music(qtbot, tray, ctx, commands, mpris, library,
                                                            other_song):
    commands.play_song(ctx, song_key(ctx, library[6]))
    wait_until(lambda: mpris.now_playing().path == library[6], what="the seed playing")
    with qtbot.waitSignal(tray.radio_changed, timeout=30_000,
                          check_params_cb=lambda text: text.endswith("songs added")):
        tray.actions["radio"].trigger()
    with qtbot.waitSignal(tray.notified, timeout=15_000) as note:
        mpris.open_uri(other_song.as_uri())
    title, text = note.args
    assert title == "Radio ended" and text.startswith("You switched to other music")
    assert tray.radio is None and tray.actions["radio"].text() == "Radio from current song"


def test_radio_without_anything_playing_says_so(qtbot, tray, mpris):
    mpris.stop()
    wait_until(lambda: mpris.now_playing().status == "Stopped", what="the player stopped")
    if mpris.now_playing().url:
        pytest.skip("Strawberry keeps the stopped song in its metadata")
    with qtbot.waitSignal(tray.notified, timeout=30_000) as note:
        tray.actions["radio"].trigger()
    assert note.args[0] == "Radio failed" and "nothing is playing" in note.args[1]


def test_radio_ends_when_the_player_quits(qtbot, tray, ctx, commands, mpris, strawberry, library):
    commands.play_song(ctx, song_key(ctx, library[0]))
    wait_until(lambda: mpris.now_playing().path == library[0], what="the seed playing")
    with qtbot.waitSignal(tray.radio_changed, timeout=30_000,
                          check_params_cb=lambda text: text.endswith("songs added")):
        tray.actions["radio"].trigger()
    quitting = threading.Thread(target=strawberry.quit)
    with qtbot.waitSignal(tray.notified, timeout=20_000) as note:
        quitting.start()
    quitting.join(20)
    assert note.args == ["Radio ended", "Strawberry quit."]
    assert tray.radio is None
    with pytest.raises(PlayerError, match="no music player is running"):
        commands.play_recommended(ctx)
