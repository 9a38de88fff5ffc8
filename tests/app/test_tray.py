"""The tray menu: the entries, in order, and what each one calls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from musicrec_desktop.app import autostart
from musicrec_desktop.app.player import PlayerCommands, RadioNews
from musicrec_desktop.app.single_instance import SingleInstance, server_name
from musicrec_desktop.app.tray import TrayApp
from musicrec_desktop.errors import PlayerError
from musicrec_desktop.pipeline import PipelineState, state_path
from tests.app.tiny import finished_run, tiny_pipeline

MENU = ["Play recommended", "Radio from current song", "More like these", "Path to…", "Play songs like…",
        "Playlists", "",
        "Rebuild model",
        "Update library", "Pause work", "Cancel work", "", "Model report…", "Settings…", "",
        "Quit"]


class RecordingPlayer(PlayerCommands):
    """Stands in for the companion, which needs a running player; records what was asked."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.calls: list[tuple] = []
        self.threads: list[int] = []
        self.fail = fail
        self.radio_ends = threading.Event()  # set: the radio ends as if the person chose other music
        self.push_result = "created"  # what the companion answers a pushed playlist

    def _record(self, *call):
        self.calls.append(call)
        self.threads.append(threading.get_ident())
        if self.fail:
            raise PlayerError("no player is running")

    def play_recommended(self, ctx):
        self._record("play_recommended")

    def radio_from_current(self, ctx, stop, report, more_like_these=False):
        self._record("radio_from_current", *(["more like these"] if more_like_these else []))
        report(RadioNews("started", "Test Band – song1", 5, 5, 5))
        report(RadioNews("added", "Test Band – song1", 5, 10, 4))
        for _ in range(500):  # like the companion's follower: notices a stop within a tick
            if stop.wait(0.01):
                return "stopped"
            if self.radio_ends.is_set():
                return "you switched to other music (Other song)"
        raise AssertionError("the radio was never stopped")

    def path_to(self, ctx, target):
        self._record("path_to", target)
        return "Path from song1 to song9"

    def push_playlist(self, ctx, playlist):
        self._record("push_playlist", playlist)
        return self.push_result

    def play_found(self, ctx, query, found):
        self._record("play_found", query, [f.key for f in found])
        return f"Songs like “{query}”"

    def play_song(self, ctx, key):
        self._record("play_song", key)


@pytest.fixture
def tray(qtbot, ctx):
    player = RecordingPlayer()
    app = TrayApp(ctx, player=player, pipelines=lambda kind: tiny_pipeline(step_s=0.01))
    yield app
    app.shutdown(10_000)


def menu_texts(tray):
    return [a.text() for a in tray.menu.actions()]


def test_menu_lists_the_entries_in_order(tray):
    assert menu_texts(tray) == MENU
    assert not tray.actions["pause"].isEnabled() and not tray.actions["cancel"].isEnabled()
    assert tray.icon.toolTip() == "musicrec: Idle"


def test_play_recommended_calls_the_companion_off_the_gui_thread(qtbot, tray):
    tray.actions["play_recommended"].trigger()
    qtbot.waitUntil(lambda: tray.player.calls == [("play_recommended",)] and not tray._player_tasks,
                    timeout=5000)
    assert tray.player.threads[0] != threading.get_ident()


def test_radio_runs_until_stopped_from_the_menu(qtbot, tray):
    notes = []
    tray.notified.connect(lambda title, text: notes.append((title, text)))
    with qtbot.waitSignal(tray.radio_changed, timeout=5000,
                          check_params_cb=lambda text: text.endswith("10 songs added")):
        tray.actions["radio"].trigger()
        assert tray.actions["radio"].text() == "Stop radio"
    assert tray.player.threads[0] != threading.get_ident()
    assert notes == [("Radio", "Radio from Test Band – song1: 5 songs added; more follow as you listen.")]
    assert tray.icon.toolTip() == "musicrec: Idle\nRadio from Test Band – song1: 10 songs added"
    assert not tray.radio_from_current()  # one radio at a time

    with qtbot.waitSignal(tray.radio_changed, timeout=5000, check_params_cb=lambda text: text == ""):
        tray.actions["radio"].trigger()  # now "Stop radio"
    assert tray.radio is None and tray.actions["radio"].text() == "Radio from current song"
    assert tray.icon.toolTip() == "musicrec: Idle"
    assert len(notes) == 1  # stopping when asked needs no notification
    assert tray.player.calls == [("radio_from_current",)]


def test_more_like_these_starts_a_radio_from_the_songs_just_played(qtbot, tray):
    with qtbot.waitSignal(tray.radio_changed, timeout=5000,
                          check_params_cb=lambda text: text.endswith("10 songs added")):
        tray.actions["more_like_these"].trigger()
    assert tray.player.calls == [("radio_from_current", "more like these")]
    assert tray.actions["radio"].text() == "Stop radio"
    assert not tray.actions["more_like_these"].isEnabled()  # one radio at a time
    with qtbot.waitSignal(tray.radio_changed, timeout=5000, check_params_cb=lambda text: text == ""):
        tray.actions["radio"].trigger()
    assert tray.actions["more_like_these"].isEnabled()


def test_path_to_plays_a_path_to_the_song_the_person_picks(qtbot, tray, monkeypatch, tmp_path):
    picked = tmp_path / "song9.flac"
    asked = []

    # The file dialog is modal and waits for a person: it stands in for their choice here.
    def choose(*args, answer=str(picked)):
        asked.append(args[1])
        return answer, ""

    monkeypatch.setattr("musicrec_desktop.app.tray.QFileDialog.getOpenFileName", choose)
    with qtbot.waitSignal(tray.notified, timeout=5000) as note:
        tray.actions["path_to"].trigger()
    assert asked == ["Path to which song?"]
    assert tray.player.calls == [("path_to", picked)]
    assert note.args == ["Path", "Playing 'Path from song1 to song9'."]
    monkeypatch.setattr("musicrec_desktop.app.tray.QFileDialog.getOpenFileName", lambda *a: ("", ""))
    tray.actions["path_to"].trigger()  # cancelled: nothing asked of the player
    qtbot.wait(50)
    assert tray.player.calls == [("path_to", picked)]


def test_radio_ending_by_itself_is_reported(qtbot, tray):
    with qtbot.waitSignal(tray.radio_changed, timeout=5000,
                          check_params_cb=lambda text: text.endswith("songs added")):
        tray.actions["radio"].trigger()
    with qtbot.waitSignal(tray.notified, timeout=5000) as note:
        tray.player.radio_ends.set()
    assert note.args == ["Radio ended", "You switched to other music (Other song)."]
    assert tray.radio is None and tray.actions["radio"].text() == "Radio from current song"


def test_a_radio_that_cannot_start_is_reported(qtbot, tray):
    tray.player.fail = True
    with qtbot.waitSignal(tray.notified, timeout=5000) as note:
        tray.actions["radio"].trigger()
    assert note.args[0] == "Radio failed" and "no player is running" in note.args[1]
    assert tray.radio is None and tray.actions["radio"].text() == "Radio from current song"


def test_quit_stops_the_radio(qtbot, tray, monkeypatch):
    monkeypatch.setattr(QApplication, "quit", lambda: None)
    with qtbot.waitSignal(tray.radio_changed, timeout=5000,
                          check_params_cb=lambda text: text.endswith("songs added")):
        tray.actions["radio"].trigger()
    radio = tray.radio
    tray.actions["quit"].trigger()
    assert tray.radio is None and radio.isFinished()


def test_a_player_failure_becomes_a_notification_with_advice(qtbot, tray):
    tray.player.fail = True
    with qtbot.waitSignal(tray.notified, timeout=5000) as note:
        tray.actions["play_recommended"].trigger()
    title, text = note.args
    assert title == "Play recommended failed"
    assert "no player is running" in text and "Start your player" in text


def test_playlists_submenu_lists_the_written_playlists(qtbot, tray, tmp_path, ctx):
    tray.fill_playlists()
    assert [a.text() for a in tray.playlists_menu.actions()] == ["None yet: choose Rebuild model"]
    mix = tmp_path / "Recommended.xspf"
    mix.write_text("<playlist/>")
    state = PipelineState.load(state_path(ctx))
    state.figures["recommend"] = {"playlists": [str(mix), str(tmp_path / "deleted.m3u8")]}
    state.save(state_path(ctx))
    tray.fill_playlists()
    actions = tray.playlists_menu.actions()
    assert [a.text() for a in actions] == ["Recommended"]
    with qtbot.waitSignal(tray.notified, timeout=5000) as note:
        actions[0].trigger()
    assert tray.player.calls == [("push_playlist", mix)]
    assert note.args == ["Playlist added", "'Recommended' is now in your player's playlists."]


def test_the_playlists_submenu_names_genre_playlists_in_the_persons_words(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    from musicrec_desktop.library import load_library
    from musicrec_desktop.recommend.writers import write_playlist

    ctx, _report = finished_run(tmp_path / "run")  # the real stages write the playlists
    # A name with "&" (a category of the person's own, say) is shown as written, too.
    entry = type("Entry", (), {"song": load_library(ctx.settings, ctx.dirs).songs[0], "reason": ""})()
    state = PipelineState.load(state_path(ctx))
    state.figures["recommend"]["playlists"] += [str(p) for p in write_playlist(
        tmp_path / "run" / "My playlists", "Genre: Rock & Roll", [entry], "xspf")]
    state.save(state_path(ctx))
    app = TrayApp(ctx, player=RecordingPlayer(), pipelines=lambda kind: tiny_pipeline())
    try:
        app.fill_playlists()
        names = [a.iconText() for a in app.playlists_menu.actions()]  # as shown: shortcut marks removed
    finally:
        app.shutdown(10_000)
    assert {"Discover", "Genre: Rock", "Genre: Jazz and classical", "Genre: Latin and world",
            "Genre: Rock & Roll"} <= set(names)
    assert not any("_" in name for name in names)


def test_a_pushed_playlist_takes_the_name_the_command_line_gives_it(qtbot, tray, tmp_path, ctx):
    """The file name is made safe ("Rock - Pop"); the player gets the playlist's own title, the
    one ``musicrec push-playlists`` uses, so the two never make duplicates."""
    from musicrec_desktop.app.player import playlist_title
    from musicrec_desktop.library import load_library
    from musicrec_desktop.recommend.writers import write_playlist

    song = load_library(ctx.settings, ctx.dirs).songs[0]
    entry = type("Entry", (), {"song": song, "reason": "like song2"})()
    xspf, m3u8 = write_playlist(tmp_path / "out", "Rock/Pop", [entry], "both")
    assert xspf.stem == m3u8.stem == "Rock - Pop"
    assert playlist_title(xspf) == playlist_title(m3u8) == "Rock/Pop"
    state = PipelineState.load(state_path(ctx))
    state.figures["recommend"] = {"playlists": [str(xspf)]}
    state.save(state_path(ctx))
    tray.fill_playlists()
    assert [a.text() for a in tray.playlists_menu.actions()] == ["Rock/Pop"]
    tray.player.push_result = "kept"  # already in the player: left alone, not replaced and played
    with qtbot.waitSignal(tray.notified, timeout=5000) as note:
        tray.playlists_menu.actions()[0].trigger()
    assert note.args[0] == "Playlist kept" and "switch to it and play it" in note.args[1]


def test_the_tray_names_the_recommended_playlist_like_the_command_line():
    """Both call musicrec_companion.session.play_recommended; its default name is the command's."""
    import inspect

    from musicrec_companion.session import play_recommended
    from musicrec_desktop.cli import build_parser

    default = inspect.signature(play_recommended).parameters["name"].default
    assert default == build_parser().parse_args(["play-recommended"]).name == "Recommended"


def test_rebuild_runs_the_pipeline_and_shows_working_then_idle(qtbot, tray):
    statuses = []
    tray.status_changed.connect(statuses.append)
    with qtbot.waitSignal(tray.worker.finished, timeout=20_000) as done:
        tray.actions["rebuild"].trigger()
        assert tray.actions["cancel"].isEnabled() and not tray.actions["rebuild"].isEnabled()
    assert done.args[0].ok and tray.worker.kind is None
    assert statuses == ["working", "idle"]
    assert tray.icon.toolTip().startswith("musicrec: Done in")
    assert not tray.actions["cancel"].isEnabled()


def test_pause_and_cancel_entries_reach_the_worker(qtbot, tray):
    with qtbot.waitSignal(tray.worker.progressed, timeout=10_000,
                          check_params_cb=lambda p: p.stage == "encoder"):
        tray.actions["rebuild"].trigger()
    tray.actions["pause"].trigger()
    assert tray.worker.paused and tray.actions["pause"].text() == "Resume work"
    tray.actions["pause"].trigger()
    assert not tray.worker.paused and tray.actions["pause"].text() == "Pause work"
    with qtbot.waitSignal(tray.worker.finished, timeout=10_000) as done:
        tray.actions["cancel"].trigger()
    assert done.args[0].cancelled


def test_a_failed_run_shows_the_error_icon_and_notifies(qtbot, ctx):
    from musicrec_desktop.pipeline import Pipeline
    from tests.app.tiny import CountStage

    tray = TrayApp(ctx, player=RecordingPlayer(),
                   pipelines=lambda kind: Pipeline([CountStage("library", 1, fail=True)]))
    try:
        with qtbot.waitSignal(tray.notified, timeout=10_000) as note:
            tray.start_work("run")
        assert tray.status == "error" and "cannot be read" in tray.icon.toolTip()
        assert "Check the player database" in note.args[1]
    finally:
        tray.shutdown()


def test_a_run_refused_because_another_works_is_not_an_error(qtbot, tray, ctx):
    """``musicrec run`` in a terminal holds the data folder: the tray says so and stays idle."""
    from musicrec_desktop.pipeline import exclusive_run

    with exclusive_run(ctx), qtbot.waitSignal(tray.notified, timeout=10_000) as note:
        tray.start_work("rebuild")
    assert note.args[0] == "musicrec is busy" and "another musicrec run is working" in note.args[1]
    assert tray.status == "idle" and "another musicrec run" in tray.icon.toolTip()
    with qtbot.waitSignal(tray.worker.finished, timeout=20_000) as done:
        tray.start_work("rebuild")
    assert done.args[0].ok


def test_windows_open_from_the_menu(qtbot, tray):
    tray.actions["settings"].trigger()
    assert tray.settings_dialog().isVisible()
    tray.actions["report"].trigger()
    assert tray.report_window().isVisible()
    tray.report_window().wait_for_map()
    tray.show_progress()
    assert tray.progress_window().isVisible()
    for window in (tray.settings_dialog(), tray.report_window(), tray.progress_window()):
        window.close()


def test_quit_stops_work_and_ends_the_app(qtbot, tray, monkeypatch):
    quits = []
    monkeypatch.setattr(QApplication, "quit", lambda: quits.append(True))
    with qtbot.waitSignal(tray.worker.started, timeout=5000):
        tray.start_work("run")
    tray.actions["quit"].trigger()
    assert not tray.worker.busy
    qtbot.waitUntil(lambda: quits == [True], timeout=2000)


def test_autostart_follows_the_setting_in_xdg_config_home(tray, ctx, tmp_path):
    tray.settings_saved(ctx.settings.replace(autostart=True))
    entry = tmp_path / "xdg" / "autostart" / "musicrec.desktop"
    text = entry.read_text()
    assert "[Desktop Entry]" in text and "Type=Application" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(f"--data-dir {ctx.dirs.config.parent} tray")
    assert autostart.is_enabled()
    tray.settings_saved(ctx.settings.replace(autostart=False))
    assert not entry.exists()


def test_a_second_launch_asks_the_first_to_show_itself(qtbot, ctx):
    name = server_name(ctx.dirs.config)
    instance = SingleInstance(name, lambda message: "ok idle")
    assert instance.listen()
    code = ("import sys; from PySide6.QtCore import QCoreApplication;"
            "from musicrec_desktop.app.single_instance import send;"
            "app = QCoreApplication([]); print(send(sys.argv[1], 'show', 5000))")
    with qtbot.waitSignal(instance.message, timeout=10_000) as got:
        child = subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE, text=True)
    qtbot.waitUntil(lambda: child.poll() is not None, timeout=10_000)
    assert got.args == ["show"]
    assert child.stdout.read().strip() == "ok idle"
    # Only one instance listens at a time.
    assert not SingleInstance(name).listen()
    instance.close()


def test_watcher_follows_the_settings_and_a_change_starts_an_update(qtbot, ctx, music):
    from tests.app.tiny import write_song

    ctx.settings = ctx.settings.replace(watch_library=True)
    tray = TrayApp(ctx, player=RecordingPlayer(),
                   pipelines=lambda kind: tiny_pipeline(), watch_quiet_s=0.2)
    try:
        with qtbot.waitSignal(tray.worker.finished, timeout=20_000):
            tray.start_work("rebuild")  # an update needs a model
        tray.restart_watcher()
        assert tray.watcher is not None and tray.watcher.music_folders == [music]
        with qtbot.waitSignal(tray.worker.started, timeout=10_000) as started:
            write_song(music / "added.flac", 500.0, "Jazz", seconds=1.0)
        assert started.args[0] == "update"
        qtbot.waitUntil(lambda: not tray.worker.busy, timeout=20_000)
        tray.settings_saved(ctx.settings.replace(watch_library=False))
        ctx.settings = ctx.settings.replace(watch_library=False)
        tray.restart_watcher()
        assert tray.watcher is None
    finally:
        tray.shutdown()


def test_library_changes_wait_for_the_first_build(qtbot, ctx, music):
    """Before any model exists an update can only fail (no encoder to embed with): changes are
    held, and brought in once the first build has finished."""
    from tests.app.tiny import write_song

    ctx.settings = ctx.settings.replace(watch_library=True)
    tray = TrayApp(ctx, player=RecordingPlayer(), pipelines=lambda kind: tiny_pipeline(), watch_quiet_s=0.2)
    kinds, notes = [], []
    tray.worker.started.connect(lambda kind, _stages: kinds.append(kind))
    tray.notified.connect(lambda title, text: notes.append(title))
    try:
        tray.restart_watcher()
        write_song(music / "early.flac", 500.0, "Jazz", seconds=1.0)
        qtbot.waitUntil(lambda: tray.update_held, timeout=10_000)
        assert kinds == [] and tray.status == "idle"
        assert not tray.start_work("update") and notes == ["No model yet"]
        with qtbot.waitSignal(tray.worker.started, timeout=20_000,
                              check_params_cb=lambda kind, _stages: kind == "update"):
            tray.start_work("rebuild")
        qtbot.waitUntil(lambda: not tray.worker.busy, timeout=20_000)
        assert kinds == ["rebuild", "update"] and not tray.update_held
        assert tray.status == "idle" and notes == ["No model yet"]
    finally:
        tray.shutdown()


IDLE_TRAY = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from musicrec_desktop.context import AppContext
from musicrec_desktop.app.tray import TrayApp

def heavy():
    return sorted(m for m in ("torch", "faiss", "nnAudio") if m in sys.modules)

ctx = AppContext.open(sys.argv[1])
ctx.settings = ctx.settings.replace(watch_library=True)
tray = TrayApp(ctx, watch_quiet_s=0.2)
tray.show()
print("started:", heavy(), tray.start_up(update_on_start=True, delay_s=0))
tray.worker.finished.connect(lambda report, error: app.quit())
app.exec()  # the start-up update: everything is up to date
print("after the start-up update:", heavy(), tray.worker.kind, tray.status_text)
tray.show_settings(); tray.show_progress(); tray.show_report(); tray.report_window().wait_for_map()
tray.fill_playlists()
print("windows:", heavy(), tray.watcher is not None)
tray.shutdown()
"""


def test_the_tray_its_windows_and_an_idle_update_run_without_torch(ctx):
    """torch is imported when work needs it, not when the tray starts, opens its windows, watches
    the library or finds at start-up that everything is up to date (as after a night idle)."""
    from musicrec_desktop.library import load_library
    from musicrec_desktop.pipeline import (
        CacheStage,
        EmbedStage,
        LibraryStage,
        Pipeline,
        RatingStage,
        RecommendStage,
        StageRecord,
    )

    Pipeline([LibraryStage(), CacheStage()]).run(ctx)
    state = PipelineState.load(state_path(ctx))
    state.scan = load_library(ctx.settings, ctx.dirs)
    state.done["encoder"] = StageRecord("trained", time.time())
    for stage in (EmbedStage(), RatingStage(), RecommendStage()):  # as a finished build leaves them
        state.done[stage.name] = StageRecord(stage.fingerprint(ctx, state), time.time())
    state.save(state_path(ctx))

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", IDLE_TRAY, str(ctx.dirs.config.parent)], capture_output=True,
                         text=True, timeout=120, env=env, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-3:] == ["started: [] updating",
                          "after the start-up update: [] None Everything is up to date.",
                          "windows: [] True"]


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """No player database in HOME and no music folder configured: nothing to learn from yet."""
    from tests.app.tiny import make_ctx

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return make_ctx(tmp_path)


def test_a_fresh_machine_is_offered_the_demo_library_instead_of_making_it_unasked(qtbot, fresh_machine):
    from musicrec_desktop.app.first_run import OPEN_SETTINGS, USE_DEMO
    from musicrec_desktop.pipeline import Pipeline
    from musicrec_desktop.settings import Settings
    from tests.app.tiny import CountStage

    ctx = fresh_machine
    tray = TrayApp(ctx, player=RecordingPlayer(), pipelines=lambda kind: Pipeline([CountStage("encoder", 1)]))
    try:
        assert tray.library_unset()
        assert tray.start_up() == "offered the demo library"
        offer = tray.offer_demo_library()
        assert offer.isVisible() and not tray.worker.busy

        offer.close()
        assert not tray.start_work("rebuild")  # Rebuild asks too, and generates nothing
        assert offer.isVisible() and not tray.worker.busy
        assert not (ctx.dirs.state / "demo").exists()

        offer.choose(OPEN_SETTINGS)
        dialog = tray.settings_dialog()
        assert dialog.isVisible() and dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Library"
        dialog.close()

        with qtbot.waitSignal(tray.worker.started, timeout=10_000) as started:
            tray.offer_demo_library().choose(USE_DEMO)
        assert started.args[0] == "run"
        assert Settings.load(ctx.dirs.settings_file).player == "demo" and not tray.library_unset()
        qtbot.waitUntil(lambda: not tray.worker.busy, timeout=10_000)
    finally:
        tray.shutdown()


def test_a_configured_library_is_not_offered_the_demo(qtbot, tray):
    assert not tray.library_unset()
    assert tray.start_up(update_on_start=False) == "asked for a first build"
    assert tray._demo_offer is None


def test_requests_from_other_launches_reach_the_tray(qtbot, tray):
    """What ``musicrec tray`` and the desktop actions (``tray --rebuild`` ...) ask the running tray."""
    assert tray.status_line() == "ok idle; windows: none"
    tray.handle_request("show")
    assert tray.progress_window().isVisible() and tray.status_line() == "ok idle; windows: progress"
    with qtbot.waitSignal(tray.worker.started, timeout=10_000) as started:
        tray.handle_request("rebuild")
    assert started.args[0] == "rebuild"
    qtbot.waitUntil(lambda: not tray.worker.busy, timeout=20_000)
    tray.handle_request("play-recommended")
    qtbot.waitUntil(lambda: tray.player.calls == [("play_recommended",)], timeout=5000)
    with qtbot.waitSignal(tray.radio_changed, timeout=5000,
                          check_params_cb=lambda text: text.endswith("songs added")):
        tray.handle_request("radio")
    tray.handle_request("status")  # only answered; does nothing
    tray.handle_request("fly")  # from a newer version: ignored
    assert [c[0] for c in tray.player.calls] == ["play_recommended", "radio_from_current"]
    tray.progress_window().close()


def test_a_second_tray_process_makes_the_first_show_itself_and_rebuild(qapp, tmp_path):
    """Real ``musicrec tray`` processes, offscreen: a second launch shows the first one's window
    and ends; ``tray --rebuild`` makes the first one run (here a library that fails at once)."""
    from musicrec_desktop.app.single_instance import send
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.settings import Settings

    data = tmp_path / "data"
    dirs = DataDirs.under(data).create()
    Settings(player="strawberry", database_path=str(tmp_path / "gone" / "strawberry.db"),
             notifications=False).save(dirs.settings_file)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    command = [sys.executable, "-m", "musicrec_desktop", "--data-dir", str(data), "tray"]
    name = server_name(dirs.config)

    def status_when(condition, what: str) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reply = send(name, "status", 500)
            if reply is not None and condition(reply):
                return reply
            assert first.poll() is None, first.communicate()[1][-2000:]
            time.sleep(0.1)
        raise AssertionError(f"the first tray never got to {what}: last said {reply!r}")

    first = subprocess.Popen([*command, "--no-update"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert status_when(bool, "answering") == "ok idle; windows: none"
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        status_when(lambda reply: reply == "ok idle; windows: progress", "showing its window")

        rebuild = subprocess.run([*command, "--rebuild"], env=env, capture_output=True, text=True,
                                 timeout=60)
        assert rebuild.returncode == 0, rebuild.stderr
        status_when(lambda reply: reply.startswith("ok error"), "running the rebuild")
        assert first.poll() is None  # the second launches ended; the first runs on
    finally:
        first.send_signal(signal.SIGTERM)
        try:
            code = first.wait(60)
        except subprocess.TimeoutExpired:
            first.kill()
            raise
    assert code == 0
