"""The companion against a real Strawberry, headless, on its own session bus.

Most tests share one player (it takes a second or two to start) and leave it running; each sets up
what it plays itself, under playlist names no other test uses, so each passes alone and in any
order. Tests that make the player quit start a player of their own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from musicrec_companion.adapters import adapter_for, same_file
from musicrec_companion.bus import Bus
from musicrec_companion.follower import Follower
from musicrec_companion.mpris import find_player
from musicrec_companion.radio import ListFeed, Radio, songs_from_files
from musicrec_desktop.errors import PlayerError
from musicrec_desktop.library.song import Song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.store.history import HistoryStore, ListeningEvent
from tests.companion.conftest import STRAWBERRY_SETTINGS, checksums, start_player

pytestmark = pytest.mark.player


@pytest.fixture(scope="module")
def strawberry(tmp_path_factory):
    player = start_player("strawberry", tmp_path_factory.mktemp("strawberry") / "home", STRAWBERRY_SETTINGS)
    yield player
    player.stop()


@pytest.fixture
def own_strawberry(tmp_path):
    """A player for one test that makes it quit."""
    player = start_player("strawberry", tmp_path / "own strawberry", STRAWBERRY_SETTINGS)
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


@contextmanager
def musicrec_process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """``musicrec ARGS`` running in its own process, killed on the way out if still running."""
    process = subprocess.Popen([sys.executable, "-m", "musicrec_desktop", *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def playing(adapter, path: Path) -> bool:
    return same_file(adapter.mpris.now_playing().url, path)


def file_name(url: str) -> str:
    return Path(unquote(urlsplit(url).path)).name


def saved_playlists(player) -> dict[str, list[str]]:
    """The file names in each playlist the player saved to its database (it does so when it quits)."""
    rows = player.query("SELECT p.name, i.url FROM playlists p "
                        "JOIN playlist_items i ON i.playlist = p.ROWID ORDER BY p.ROWID, i.ROWID")
    saved: dict[str, list[str]] = {}
    for name, url in rows:
        saved.setdefault(name, []).append(file_name(url))
    return saved


def settle(mpris) -> None:
    """Waits for a second of the song: Strawberry 1.0.14 can hang when asked to quit while it is
    starting one."""
    wait_until(lambda: mpris.position_s() >= 1.0, what="a second of the song")


def history_since(data: Path, since: float) -> list[ListeningEvent]:
    with HistoryStore(DataDirs.under(data).history_db) as history:
        return history.events(since=since)


def started(data: Path, since: float, path: Path) -> bool:
    return any(e.kind == "start" and same_file(e.song_url, path) for e in history_since(data, since))


def library_song(path: Path) -> Song:
    """The song of ``library_data``'s folder library that is this file."""
    from musicrec_desktop.library.folders import scan_folders

    return next(s for s in scan_folders([str(path.parent)]).songs if s.path == path)


def test_finds_strawberry_and_reads_its_state(strawberry, bus):
    mpris = find_player(bus)
    assert mpris.player == "strawberry"
    assert mpris.identity() == "Strawberry"
    # AddTrack works from 1.2.20 on; before, it is a no-op and the command line is used.
    assert mpris.can_edit_tracks() == (strawberry.version() >= (1, 2, 20))
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
    assert adapter.push_playlist("Evening mix", music[3:6]) == "created"
    assert adapter.push_playlist("Evening mix", music[:2]) == "kept"
    assert adapter.push_playlist("Morning mix", [music[1]]) == "created"
    names = [p.name for p in adapter.mpris.playlists()]
    assert names.count("Evening mix") == 1 and "Morning mix" in names
    assert adapter.push_playlist("Morning mix", [music[4], music[5]], replace=True) == "replaced"
    assert [p.name for p in adapter.mpris.playlists()].count("Morning mix") == 1


def test_radio_from_a_song_that_is_not_the_last_keeps_running_and_tops_up(strawberry, adapter, music):
    adapter.play_playlist("My songs", music[:4])  # the person's playlist; its first song plays
    seed = adapter.mpris.now_playing()
    adapter.mpris.set_position(seed.track_id, 10.0)
    wait_until(lambda: adapter.mpris.position_s() >= 10.0, what="the seed ten seconds in")
    feed_songs = songs_from_files(music[6:11])
    radio = Radio(adapter, ListFeed(feed_songs), batch_size=2, keep_ahead=2)
    assert radio.start(adapter.mpris.now_playing()) == feed_songs[:2]
    # The radio plays in a playlist of its own, from the seed, where the seed had got to.
    assert adapter.mpris.current_playlist().name == "Radio" and playing(adapter, music[0])
    # from the start it would take 9 s of playing to get there
    wait_until(lambda: adapter.mpris.position_s() >= 9.0, timeout=7, what="the seed going on where it was")

    played = []
    for step in range(4):
        # The command line returns before the player has loaded what it was given.
        wait_until(adapter.mpris.can_go_next, what="the radio songs loaded")
        expected = radio.queued[step]
        strawberry.run_cli("--next")
        wait_until(lambda e=expected: playing(adapter, e.path), what=f"playing {expected.path.name}")
        played.append(expected)
        radio.on_track(adapter.mpris.now_playing())
        assert radio.running, radio.stopped_because
        assert radio.ahead() >= min(2, len(feed_songs) - step - 1)
    assert radio.queued == feed_songs  # topped up twice; the feed then had no more
    assert played == feed_songs[:4]  # the radio's songs, in order, not the rest of the person's playlist
    assert radio.exhausted

    adapter.play_now(music[1])  # the person picks other music
    wait_until(lambda: playing(adapter, music[1]), what="playing the other song")
    radio.on_track(adapter.mpris.now_playing())
    assert not radio.running and "other music" in radio.stopped_because


def test_radio_refuses_a_stopped_player(adapter, music):
    adapter.play_playlist("Then stopped", [music[2]])
    adapter.mpris.stop()
    wait_until(lambda: adapter.mpris.now_playing().status == "Stopped", what="the player stopped")
    feed = ListFeed(songs_from_files(music[6:8]))
    with pytest.raises(PlayerError, match="nothing is playing"):
        Radio(adapter, feed).start(adapter.mpris.now_playing())
    assert len(feed.next_batch(5)) == 2  # nothing was queued


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
            # the song's own clock, not the wall's: a loaded machine starts playback late
            wait_until(lambda: adapter.mpris.position_s() >= 1.5, what="1.5 s into the first song")
            time.sleep(0.5)  # the follower samples the position every 0.2 s
            skipped_at = adapter.mpris.position_s()
            strawberry.run_cli("--next")
            wait_until(lambda: seen("start", short_song), what="start of the short song")
            # a 3 s song; a loaded machine (CI) has taken more than 10 s of wall time to play it
            wait_until(lambda: seen("start", music[1]), timeout=60, what="the short song finishing")
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
    assert skip.position_s >= 1.5 and skipped_at - 0.5 <= skip.position_s <= skipped_at + 3.0
    assert all(a.at <= b.at for a, b in zip(events, events[1:], strict=False))
    assert all(e.player == "strawberry" for e in events)


def test_companion_command_records_history_with_song_keys_and_exits_on_sigterm(strawberry, adapter, music,
                                                                               library_data):
    since = time.time()
    adapter.play_playlist("Companion", [music[3], music[4]])
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": ""}  # --bus must be enough
    with musicrec_process(["--data-dir", str(library_data), "companion", "--bus", strawberry.bus_address],
                          env) as process:
        # The follower's first look records the song playing.
        wait_until(lambda: started(library_data, since, music[3]), timeout=60, what="the companion following")
        wait_until(adapter.mpris.can_go_next, what="the second song loaded")
        strawberry.run_cli("--next")
        wait_until(lambda: started(library_data, since, music[4]), what="the second song's start recorded")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "companion ended: stopped" in out
    events = history_since(library_data, since)
    assert [(e.kind, file_name(e.song_url)) for e in events] == [
        ("start", music[3].name), ("skip", music[3].name),
        ("start", music[4].name), ("skip", music[4].name)]  # SIGTERM ends the song being played
    # Songs of the library are named by their keys, though no radio added them.
    assert [e.song_key for e in events] == [library_song(music[3]).key] * 2 + \
        [library_song(music[4]).key] * 2


@pytest.fixture(scope="module")
def library_data(music, tmp_path_factory) -> Path:
    """A data folder whose library is the music folder, with embeddings in the store (no training)."""
    import numpy as np

    from musicrec_desktop.library.folders import scan_folders
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.recommend.service import train_recommender
    from musicrec_desktop.settings import Settings
    from musicrec_desktop.store.embeddings import EmbeddingStore

    root = tmp_path_factory.mktemp("data")
    dirs = DataDirs.under(root).create()
    settings = Settings(player="folders", music_folders=[str(music[0].parent)], playlist_length=4,
                        recent_days=0, artist_cap=100, output_dir=str(root / "out"))
    settings.save(dirs.settings_file)
    songs = scan_folders([str(music[0].parent)]).songs
    assert len(songs) == len(music)
    vectors = np.random.default_rng(0).normal(size=(len(songs), 8)).astype(np.float32)
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model("test-model", 8)
        store.put("test-model", [(s.key, v / np.linalg.norm(v)) for s, v in zip(songs, vectors, strict=True)])
        store.set_current("test-model")
    train_recommender(settings, dirs, scan_folders(settings.music_folders))  # as the rating stage does
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


def test_radio_from_current_command_follows_until_other_music(strawberry, adapter, music, short_song,
                                                              library_data, monkeypatch, capsys):
    from musicrec_desktop.cli import build_parser
    from musicrec_desktop.context import AppContext

    for key, value in strawberry.env.items():  # the player's command line must find this player
        monkeypatch.setenv(key, value)
    adapter.play_playlist("From current", [music[0], music[1]])
    since = time.time()
    args = build_parser().parse_args(["--data-dir", str(library_data), "radio", "--from-current", "--n", "3",
                                      "--player", "strawberry", "--bus", strawberry.bus_address])
    outcome: dict[str, object] = {}
    thread = threading.Thread(target=lambda: outcome.update(rc=args.run(AppContext.open(library_data), args)),
                              daemon=True)
    thread.start()
    printed = ""

    def said(text: str) -> bool:
        nonlocal printed
        printed += capsys.readouterr().out
        return text in printed

    wait_until(lambda: said("songs added"), timeout=60, what="the first radio batch")
    assert ": 3 songs added" in printed  # --n
    wait_until(lambda: started(library_data, since, music[0]), what="the radio following")
    wait_until(adapter.mpris.can_go_next, what="the radio songs loaded")
    strawberry.run_cli("--next")
    radio_song = wait_until(lambda: (p := adapter.mpris.now_playing().path) in music and p != music[0] and p,
                            what="a radio song playing")
    wait_until(lambda: started(library_data, since, radio_song), what="the radio song's start seen")
    adapter.play_now(short_song)  # not in the library, not queued: other music
    thread.join(15)
    assert not thread.is_alive() and outcome["rc"] == 0
    printed += capsys.readouterr().out
    # Two radio songs left ahead of the playing one: three more came.
    assert "radio ended: radio: you switched to other music" in printed and "(6 songs added)" in printed


def test_radio_command_plays_any_song_as_a_radio(strawberry, adapter, music, library_data):
    adapter.play_playlist("Before the radio", [music[0], music[1]])
    seed = music[8]
    since = time.time()
    with musicrec_process(["--data-dir", str(library_data), "radio", "--seed", str(seed), "--play",
                           "--n", "2", "--player", "strawberry", "--bus", strawberry.bus_address],
                          strawberry.env) as process:
        wait_until(lambda: playing(adapter, seed), timeout=60, what="the seed playing")
        assert adapter.mpris.current_playlist().name == "Radio"
        wait_until(lambda: started(library_data, since, seed), what="the radio following")
        wait_until(adapter.mpris.can_go_next, what="the radio songs loaded")
        strawberry.run_cli("--next")
        radio_song = wait_until(lambda: (p := adapter.mpris.now_playing().path) in music and p != seed and p,
                                what="a radio song playing")
        wait_until(lambda: started(library_data, since, radio_song), what="the radio song's start seen")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == f"radio from {library_song(seed).display_name}: 2 songs added"  # --n
    # The follower topped up to three ahead of the seed; after --next three were still ahead.
    assert lines[-1] == "radio ended: stopped (4 songs added)"
    seed_events = [e for e in history_since(library_data, since) if same_file(e.song_url, seed)]
    assert [e.kind for e in seed_events] == ["start", "skip"]
    assert all(e.song_key == library_song(seed).key for e in seed_events)


def test_radio_from_three_songs_plays_the_first_then_songs_like_all_three(strawberry, adapter, music,
                                                                         library_data):
    seeds = [music[7], music[2], music[10]]
    since = time.time()
    seed_args = [a for s in seeds for a in ("--seed", str(s))]
    with musicrec_process(["--data-dir", str(library_data), "radio", *seed_args, "--play", "--n", "3",
                           "--player", "strawberry", "--bus", strawberry.bus_address],
                          strawberry.env) as process:
        wait_until(lambda: playing(adapter, seeds[0]), timeout=60, what="the first seed playing")
        wait_until(lambda: started(library_data, since, seeds[0]), what="the radio following")
        wait_until(adapter.mpris.can_go_next, what="the radio songs loaded")
        strawberry.run_cli("--next")
        radio_song = wait_until(lambda: (p := adapter.mpris.now_playing().path) in music
                                and p != seeds[0] and p, what="a radio song playing")
        assert radio_song not in seeds  # never a seed
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert out.splitlines()[0] == f"radio from {library_song(seeds[0]).display_name}: 3 songs added"


def test_path_command_plays_the_path_in_the_player(strawberry, adapter, music, library_data):
    """``musicrec path --play`` (issue 18): the path's playlist, named by its ends, plays from the
    start; --next goes to the first step."""
    start, target = music[6], music[11]
    done = subprocess.run([sys.executable, "-m", "musicrec_desktop", "--data-dir", str(library_data), "path",
                           "--from", str(start), "--to", str(target), "--steps", "4", "--play", "--player",
                           "strawberry", "--bus", strawberry.bus_address, "--json"],
                          env=strawberry.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    steps = [Path(s["path"]) for s in out["songs"]]
    assert len(steps) == 4 and steps[-1] == target and len(set(steps)) == 4 and start not in steps
    assert out["player"] == "strawberry"
    ends = library_song(start).display_name, library_song(target).display_name
    assert out["playlist"] == f"Path from {ends[0]} to {ends[1]}"
    wait_until(lambda: playing(adapter, start), what="the path's start playing")
    assert adapter.mpris.current_playlist().name == out["playlist"]
    wait_until(adapter.mpris.can_go_next, what="the path's steps loaded")
    strawberry.run_cli("--next")
    wait_until(lambda: playing(adapter, steps[0]), what="the first step playing")


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


def test_player_quitting_mid_radio_ends_the_radio_with_a_clear_error(own_strawberry, music):
    player = own_strawberry
    with Bus(player.bus_address) as bus:
        adapter_for(find_player(bus), player.env).play_playlist("Last radio", [music[6]])
    outcome: dict[str, object] = {}
    stop = threading.Event()
    following = threading.Event()

    def follow():
        with Bus(player.bus_address) as follower_bus:
            mpris = find_player(follower_bus)
            radio = Radio(adapter_for(mpris, player.env), ListFeed(songs_from_files(music[7:9])))
            radio.start(mpris.now_playing())
            following.set()
            try:
                Follower(mpris, radio=radio, wait_for_player=False, tick_s=0.2).run(stop)
            except PlayerError as exc:
                outcome["error"] = exc
            outcome["radio"] = radio

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    assert following.wait(30)
    with Bus(player.bus_address) as bus:
        settle(find_player(bus))
    begun = time.monotonic()
    player.quit()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - begun < 10
    assert "strawberry quit" in str(outcome["error"])
    assert outcome["radio"].stopped_because == "strawberry quit"
    with pytest.raises(PlayerError, match="no music player is running"), Bus(player.bus_address) as bus:
        find_player(bus)


def test_pushed_playlists_and_the_radio_are_saved_by_the_player(own_strawberry, music):
    player = own_strawberry
    with Bus(player.bus_address) as bus:
        adapter = adapter_for(find_player(bus), player.env)
        assert adapter.push_playlist("Discover", music[3:6]) == "created"
        assert adapter.push_playlist("Forgotten favourites", [music[1]]) == "created"
        assert adapter.push_playlist("Forgotten favourites", [music[4], music[5]], replace=True) == "replaced"
        adapter.play_playlist("My songs", music[:3])
        radio = Radio(adapter, ListFeed(songs_from_files(music[6:10])), batch_size=2, keep_ahead=2)
        radio.start(adapter.mpris.now_playing())
        for expected in radio.queued[:2]:  # by the second, the top-up has loaded
            wait_until(adapter.mpris.can_go_next, what="the radio songs loaded")
            player.run_cli("--next")
            wait_until(lambda e=expected: playing(adapter, e.path), what=f"playing {expected.path.name}")
            radio.on_track(adapter.mpris.now_playing())
        wait_until(adapter.mpris.can_go_next, what="the top-up loaded")
        radio_files = [p.name for p in [music[0], *music[6:10]]]
        # Strawberry saves a changed playlist a moment later (a change just before it quits is lost).
        wait_until(lambda: saved_playlists(player).get("Radio") == radio_files, what="the radio saved")
        settle(adapter.mpris)
    player.quit()
    assert not player.running
    saved = saved_playlists(player)
    assert saved["Discover"] == [p.name for p in music[3:6]]  # every awkward name went through
    assert saved["Forgotten favourites"] == [music[4].name, music[5].name]
    assert saved["Radio"] == radio_files
    assert saved["My songs"] == [p.name for p in music[:3]]  # the radio left the person's playlist alone
