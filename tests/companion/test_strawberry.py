"""The companion against a real Strawberry, headless, on its own session bus.

One player serves the whole module (it takes seconds to start); the tests run in file order and
the last ones quit it and read what it saved.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from musicrec_companion.adapters import adapter_for, same_file
from musicrec_companion.bus import Bus
from musicrec_companion.follower import Follower
from musicrec_companion.mpris import find_player
from musicrec_companion.radio import ListFeed, Radio, radio_from_current, songs_from_files
from musicrec_desktop.errors import PlayerError
from musicrec_desktop.store.history import HistoryStore
from tests.companion.conftest import STRAWBERRY_SETTINGS, checksums, start_player

pytestmark = pytest.mark.player


@pytest.fixture(scope="module")
def strawberry(tmp_path_factory):
    player = start_player("strawberry", tmp_path_factory.mktemp("strawberry") / "home", STRAWBERRY_SETTINGS)
    yield player
    player.stop()


@pytest.fixture
def bus(strawberry):
    with Bus(strawberry.bus_address) as connection:
        yield connection


@pytest.fixture
def adapter(strawberry, bus):
    return adapter_for(find_player(bus), strawberry.env)


def wait_until(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


def playing(adapter, path: Path) -> bool:
    return same_file(adapter.mpris.now_playing().url, path)


def test_finds_strawberry_and_reads_its_state(bus):
    mpris = find_player(bus)
    assert mpris.player == "strawberry"
    assert mpris.identity() == "Strawberry"
    assert mpris.can_edit_tracks() is False  # 1.0.14: AddTrack is a no-op, the command line is used
    assert mpris.now_playing().status in ("Stopped", "Paused", "Playing")
    with pytest.raises(PlayerError, match="clementine is not running"):
        find_player(bus, "clementine")


def test_play_recommended_creates_plays_and_replaces_the_playlist(adapter, music):
    before = checksums(music)
    playlist = adapter.play_playlist("Recommended", music[:6])
    now = adapter.mpris.now_playing()
    assert now.status == "Playing"
    assert now.path == music[0]
    assert now.length_s == pytest.approx(20.0, abs=0.1)
    assert [p.name for p in adapter.mpris.playlists()].count("Recommended") == 1

    again = adapter.play_playlist("Recommended", music[2:5])
    assert again.id == playlist.id
    assert adapter.mpris.now_playing().path == music[2]
    assert [p.name for p in adapter.mpris.playlists()].count("Recommended") == 1
    assert adapter.mpris.current_playlist() == playlist
    assert checksums(music) == before  # the person's music is only read


def test_push_playlist_creates_keeps_and_replaces(adapter, music):
    assert adapter.push_playlist("Discover", music[3:6]) == "created"
    assert adapter.push_playlist("Discover", music[:2]) == "kept"
    assert adapter.push_playlist("Forgotten favourites", [music[1]]) == "created"
    names = [p.name for p in adapter.mpris.playlists()]
    assert names.count("Discover") == 1 and "Forgotten favourites" in names
    assert adapter.push_playlist("Forgotten favourites", [music[4], music[5]], replace=True) == "replaced"
    assert [p.name for p in adapter.mpris.playlists()].count("Forgotten favourites") == 1


def test_radio_tops_up_as_the_player_advances_and_stops_on_other_music(strawberry, adapter, music):
    seed = music[6]
    adapter.play_playlist("Radio", [seed])
    feed_songs = songs_from_files(music[7:12])
    radio = Radio(adapter, ListFeed(feed_songs), batch_size=2, keep_ahead=2)
    assert radio.start(adapter.mpris.now_playing()) == feed_songs[:2]
    played = []
    for step in range(4):
        # The command line returns before the player has loaded what it was given.
        wait_until(adapter.mpris.can_go_next, what="the radio songs loaded")
        expected = radio.queued[step]
        strawberry.run_cli("--next")
        wait_until(lambda e=expected: playing(adapter, e.path), what=f"playing {expected.path.name}")
        played.append(expected)
        radio.on_track(adapter.mpris.now_playing())
        assert radio.ahead() >= min(2, len(feed_songs) - step - 1)
    assert radio.queued == feed_songs  # topped up twice; the feed then had no more
    assert played == feed_songs[:4]  # appended in order, to the playlist that plays
    assert radio.exhausted and radio.running

    adapter.play_now(music[0])  # the person picks other music
    wait_until(lambda: playing(adapter, music[0]), what="playing the other song")
    radio.on_track(adapter.mpris.now_playing())
    assert not radio.running and "other music" in radio.stopped_because


def test_follower_records_start_skip_and_finish(strawberry, adapter, music, short_song, tmp_path):
    history_path = tmp_path / "state" / "history.sqlite"
    stop = threading.Event()
    with Bus(strawberry.bus_address) as follower_bus, HistoryStore(history_path) as history:
        follower = Follower(find_player(follower_bus), history, tick_s=0.2)
        thread = threading.Thread(target=follower.run, args=(stop,), daemon=True)
        thread.start()
        try:
            adapter.play_playlist("History", [music[0], short_song, music[1]])

            def seen(kind, path):
                return any(e.kind == kind and same_file(e.song_url, path) for e in follower.events)

            wait_until(lambda: seen("start", music[0]), what="start of the first song")
            time.sleep(1.5)
            strawberry.run_cli("--next")
            wait_until(lambda: seen("start", short_song), what="start of the short song")
            wait_until(lambda: seen("start", music[1]), timeout=10, what="the short song finishing")
        finally:
            stop.set()
            thread.join(10)
        assert not thread.is_alive()

    with HistoryStore(history_path) as history:
        events = history.events()
    steps = [(e.kind, Path(unquote(urlsplit(e.song_url).path)).name) for e in events]
    first = [i for i, (kind, name) in enumerate(steps) if kind == "start" and name == music[0].name][-1]
    assert steps[first:] == [
        ("start", music[0].name), ("skip", music[0].name),
        ("start", short_song.name), ("finish", short_song.name),
        ("start", music[1].name), ("skip", music[1].name),  # the follower stopped early in it
    ]
    skip = events[first + 1]
    assert 1.0 <= skip.position_s <= 4.0
    assert all(a.at <= b.at for a, b in zip(events, events[1:], strict=False))
    assert all(e.player == "strawberry" for e in events)


def test_companion_command_records_history_and_exits_on_sigterm(strawberry, adapter, music, tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": ""}  # --bus must be enough
    command = [sys.executable, "-m", "musicrec_desktop", "--data-dir", str(data), "companion",
               "--bus", strawberry.bus_address]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.0)  # interpreter start and subscription
        adapter.play_playlist("Companion", [music[3], music[4]])
        wait_until(adapter.mpris.can_go_next, what="the second song loaded")
        time.sleep(1.0)  # a second of the first song: a skip
        strawberry.run_cli("--next")
        wait_until(lambda: playing(adapter, music[4]), what="the second song")
        time.sleep(1.2)  # at least one tick of the follower on the second song
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "companion ended: stopped" in out
    with HistoryStore(data / "state" / "history.sqlite") as history:
        kinds = [(e.kind, Path(unquote(urlsplit(e.song_url).path)).name) for e in history.events()]
    assert ("start", music[3].name) in kinds and ("skip", music[3].name) in kinds
    assert kinds[-1] == ("skip", music[4].name)  # SIGTERM ends the song being played


@pytest.fixture(scope="module")
def library_data(music, tmp_path_factory) -> Path:
    """A data folder whose library is the music folder, with embeddings in the store (no training)."""
    import numpy as np

    from musicrec_desktop.library.folders import scan_folders
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.settings import Settings
    from musicrec_desktop.store.embeddings import EmbeddingStore

    root = tmp_path_factory.mktemp("data")
    dirs = DataDirs.under(root).create()
    Settings(player="folders", music_folders=[str(music[0].parent)], playlist_length=4,
             recent_days=0, artist_cap=100, output_dir=str(root / "out")).save(dirs.settings_file)
    songs = scan_folders([str(music[0].parent)]).songs
    assert len(songs) == len(music)
    vectors = np.random.default_rng(0).normal(size=(len(songs), 8)).astype(np.float32)
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model("test-model", 8)
        store.put("test-model", [(s.key, v / np.linalg.norm(v)) for s, v in zip(songs, vectors, strict=True)])
        store.set_current("test-model")
    return root


def test_play_recommended_and_push_playlists_commands(strawberry, adapter, music, library_data):
    """The commands end to end: a folder library, embeddings in the store, the real recommender."""
    base = [sys.executable, "-m", "musicrec_desktop", "--data-dir", str(library_data)]

    played = subprocess.run([*base, "play-recommended", "--bus", strawberry.bus_address, "--seed", "1",
                             "--json"], env=strawberry.env, capture_output=True, text=True, timeout=120)
    assert played.returncode == 0, played.stderr
    result = json.loads(played.stdout)
    assert result["player"] == "strawberry" and result["playlist"] == "Recommended"
    assert len(result["songs"]) == 4 and all(Path(p) in music for p in result["songs"])
    assert adapter.mpris.now_playing().path == Path(result["songs"][0])
    assert [p.name for p in adapter.mpris.playlists()].count("Recommended") == 1

    pushed = subprocess.run([*base, "push-playlists", "--bus", strawberry.bus_address, "--json"],
                            env=strawberry.env, capture_output=True, text=True, timeout=120)
    assert pushed.returncode == 0, pushed.stderr
    results = json.loads(pushed.stdout)["playlists"]
    assert results and all(r["result"] in ("created", "kept") for r in results.values())
    names = [p.name for p in adapter.mpris.playlists()]
    assert all(names.count(name) == 1 for name in results)


def test_radio_from_current_follows_until_other_music(strawberry, adapter, music, short_song, library_data,
                                                       monkeypatch, capsys):
    from musicrec_desktop.context import AppContext

    for key, value in strawberry.env.items():  # the player's command line must find this player
        monkeypatch.setenv(key, value)
    adapter.play_playlist("From current", [music[0]])
    args = argparse.Namespace(bus=strawberry.bus_address, player=None, count=3, once=False)
    outcome: dict[str, object] = {}
    thread = threading.Thread(target=lambda: outcome.update(rc=radio_from_current(
        AppContext.open(library_data), args)), daemon=True)
    thread.start()
    printed = ""

    def first_batch_added() -> bool:
        nonlocal printed
        printed += capsys.readouterr().out
        return "songs added" in printed

    wait_until(first_batch_added, timeout=60, what="the first radio batch")
    added = int(printed.split(": ")[-1].split()[0])
    assert added == 3
    wait_until(adapter.mpris.can_go_next, what="the radio songs loaded")
    strawberry.run_cli("--next")
    wait_until(lambda: (p := adapter.mpris.now_playing().path) in music and p != music[0],
               what="a radio song playing")
    adapter.play_now(short_song)  # not in the library, not queued: other music
    thread.join(15)
    assert not thread.is_alive() and outcome["rc"] == 0
    printed += capsys.readouterr().out
    assert "radio ended: radio: you switched to other music" in printed


def test_follower_runs_inside_a_qt_event_loop(strawberry, adapter, music, qtbot):
    from PySide6.QtCore import QSocketNotifier, QTimer

    with Bus(strawberry.bus_address) as follower_bus:
        follower = Follower(find_player(follower_bus))
        follower.begin()
        notifier = QSocketNotifier(follower.fileno(), QSocketNotifier.Type.Read)
        notifier.activated.connect(lambda *_: follower.process(0))
        timer = QTimer(interval=200)  # the position, and signals read ahead into jeepney's buffer
        timer.timeout.connect(lambda: follower.process(0))
        timer.start()
        try:
            adapter.play_playlist("Qt", [music[5], music[4]])
            qtbot.waitUntil(lambda: any(e.kind == "start" and same_file(e.song_url, music[5])
                                        for e in follower.events), timeout=10_000)
        finally:
            timer.stop()
            notifier.setEnabled(False)
            follower.end()
    assert follower.events[-1].kind == "skip" and same_file(follower.events[-1].song_url, music[5])


def test_player_quitting_mid_radio_ends_the_radio_with_a_clear_error(strawberry, adapter, music):
    adapter.play_playlist("Last radio", [music[6]])
    outcome: dict[str, object] = {}
    stop = threading.Event()

    def follow():
        with Bus(strawberry.bus_address) as follower_bus:
            mpris = find_player(follower_bus)
            radio = Radio(adapter_for(mpris, strawberry.env), ListFeed(songs_from_files(music[7:9])))
            radio.start(mpris.now_playing())
            try:
                Follower(mpris, radio=radio, wait_for_player=False, tick_s=0.2).run(stop)
            except PlayerError as exc:
                outcome["error"] = exc
            outcome["radio"] = radio

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    time.sleep(1.5)
    started = time.monotonic()
    strawberry.quit()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 10
    assert "strawberry quit" in str(outcome["error"])
    assert outcome["radio"].stopped_because == "strawberry quit"
    with pytest.raises(PlayerError, match="no music player is running"), Bus(strawberry.bus_address) as bus:
        find_player(bus)


def test_pushed_playlists_are_saved_by_the_player(strawberry, music):
    assert not strawberry.running  # the previous test made it quit: it saved its playlists
    rows = strawberry.query("SELECT p.name, i.url FROM playlists p "
                            "JOIN playlist_items i ON i.playlist = p.ROWID ORDER BY p.ROWID, i.ROWID")
    saved: dict[str, list[str]] = {}
    for name, url in rows:
        saved.setdefault(name, []).append(Path(unquote(urlsplit(url).path)).name)
    # Last replaced by `musicrec play-recommended`: its songs, once.
    assert len(saved["Recommended"]) == 4 and set(saved["Recommended"]) <= {p.name for p in music}
    assert saved["Discover"] == [p.name for p in music[3:6]]
    assert saved["Forgotten favourites"] == [music[4].name, music[5].name]
    assert saved["Radio"][:5] == [music[6].name] + [p.name for p in music[7:11]]
    assert [name for name, _ in strawberry.query("SELECT name, 1 FROM playlists")].count("Recommended") == 1
