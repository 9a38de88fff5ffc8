"""The tray icon, its menu and what each entry does. Windows are made the first time they open."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QSystemTrayIcon

from musicrec_desktop.app import autostart
from musicrec_desktop.app.icons import state_icon
from musicrec_desktop.app.logtail import LogTail
from musicrec_desktop.app.messages import describe
from musicrec_desktop.app.player import PlayerCommands, playlist_title
from musicrec_desktop.app.search_box import TITLE as SEARCH_TITLE
from musicrec_desktop.app.signals import emit, emitter
from musicrec_desktop.app.tasks import Task
from musicrec_desktop.app.tray_radio import MORE_LIKE_THESE, RADIO_START, TrayRadio
from musicrec_desktop.app.worker import CHILD_PIPELINES, PipelineFactory, PipelineWorker
from musicrec_desktop.context import AppContext
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.pipeline import (
    STAGE_TITLES,
    PipelineBusyError,
    PipelineReport,
    PipelineState,
    model_built,
    state_path,
)
from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback
from musicrec_desktop.settings import Settings
from musicrec_desktop.watch import LibraryChanges, LibraryWatcher, watcher_for

log = logging.getLogger(__name__)

LONG_WORK_S = 20.0  # a run that took longer than this ends with a notification
STARTUP_UPDATE_S = 30  # bring in what changed while the tray was closed, once the desktop settled

def data_root(dirs: DataDirs) -> Path | None:
    """The ``--data-dir`` the app was started with, or None for the standard folders."""
    return None if dirs == DataDirs.default() else dirs.config.parent


class TrayApp(QObject):
    """The tray icon and menu; owns the worker, the library watcher and the windows."""

    notified = Signal(str, str)  # title, text: every notification, shown or not
    library_changed = Signal(object)  # LibraryChanges, from the watcher's thread
    status_changed = Signal(str)  # "idle", "working", "error"
    radio_changed = Signal(str)  # the radio's status line; "" once it ended

    def __init__(self, ctx: AppContext, player: PlayerCommands | None = None,
                 pipelines: PipelineFactory | str = CHILD_PIPELINES, watch_quiet_s: float = 5.0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.player = player or PlayerCommands()
        self.worker = PipelineWorker(ctx, pipelines, self)
        self.log_tail = LogTail()
        self.log_tail.attach()
        self.watch_quiet_s = watch_quiet_s
        self.watcher: LibraryWatcher | None = None
        # Library changes noticed before any model exists; brought in once the first build ends.
        self.update_held = False
        self._work_kind = ""  # the kind of run working now, or the last one
        self.status = "idle"
        self.status_text = "Idle"
        self.last_error: BaseException | None = None
        self._player_tasks: set[Task] = set()
        self._last_tooltip = 0.0
        self._progress_window: Any = None
        self._report_window: Any = None
        self._search_box: Any = None
        self._settings_dialog: Any = None
        self._demo_offer: Any = None

        self.icon = QSystemTrayIcon(state_icon("idle"), self)
        self.menu = QMenu()
        self.actions: dict[str, QAction] = {}
        self._build_menu()
        self.radio_control = TrayRadio(self.player, self.actions["radio"], self.notify, ctx.dirs.logs, self,
                                       more_action=self.actions["more_like_these"])
        self.radio_control.changed.connect(self._radio_changed)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.worker.started.connect(self._work_started)
        self.worker.progressed.connect(self._progressed)
        self.worker.finished.connect(self._work_finished)
        self.worker.paused_changed.connect(self._paused_changed)
        self.library_changed.connect(self._library_changed)
        self._set_status("idle", "Idle")

    # -- menu ------------------------------------------------------------------------------------
    def _add(self, name: str, text: str, slot: Callable[[], Any], menu: QMenu | None = None) -> QAction:
        action = (menu or self.menu).addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        self.actions[name] = action
        return action

    def _build_menu(self) -> None:
        self._add("play_recommended", "Play recommended", self.play_recommended)
        self._add("radio", RADIO_START, self.toggle_radio)
        self._add("more_like_these", MORE_LIKE_THESE, self.more_like_these)
        self._add("path_to", "Path to…", self.path_to)
        self._add("search", SEARCH_TITLE, self.show_search)
        self.playlists_menu = self.menu.addMenu("Playlists")
        self.playlists_menu.aboutToShow.connect(self.fill_playlists)
        self.actions["playlists"] = self.playlists_menu.menuAction()
        self.menu.addSeparator()
        self._add("rebuild", "Rebuild model", lambda: self.start_work("rebuild"))
        self._add("update", "Update library", lambda: self.start_work("update"))
        self._add("pause", "Pause work", self.toggle_pause)
        self._add("cancel", "Cancel work", self.cancel_work)
        self.menu.addSeparator()
        self._add("report", "Model report…", self.show_report)
        self._add("settings", "Settings…", self.show_settings)
        self.menu.addSeparator()
        self._add("quit", "Quit", self.quit)
        self._sync_work_actions()

    def fill_playlists(self) -> None:
        """The generated playlists the last run wrote (read when the submenu opens)."""
        self.playlists_menu.clear()
        figures = PipelineState.load(state_path(self.ctx)).figures.get("recommend", {})
        playlists = [Path(p) for p in figures.get("playlists", []) if Path(p).is_file()]
        if not playlists:
            self.playlists_menu.addAction("None yet: choose Rebuild model").setEnabled(False)
        for path in playlists:
            # "&" in a menu entry marks its shortcut key: "&&" shows "Rock & Roll" as written.
            action = self.playlists_menu.addAction(playlist_title(path).replace("&", "&&"))
            action.setData(str(path))
            action.triggered.connect(lambda _c=False, p=path: self.push_playlist(p))

    def _sync_work_actions(self) -> None:
        busy = self.worker.busy
        self.actions["pause"].setEnabled(busy)
        self.actions["cancel"].setEnabled(busy)
        self.actions["pause"].setText("Resume work" if self.worker.paused else "Pause work")
        self.actions["rebuild"].setEnabled(not busy)

    # -- what the entries do ---------------------------------------------------------------------
    def play_recommended(self) -> None:
        self._player_task("Play recommended", self.player.play_recommended)

    def toggle_radio(self) -> None:
        """The radio entry: starts a radio, or stops the one playing."""
        if self.radio is None:
            self.radio_from_current()
        else:
            self.stop_radio()

    def radio_from_current(self) -> bool:
        """Starts an endless radio from the song playing now; False when one is already on."""
        return self.radio_control.start(AppContext(self.ctx.dirs, self.ctx.settings))

    def more_like_these(self) -> bool:
        """A radio from the playing song and the songs played in the last hour (the players do
        not tell which songs are selected); False when a radio is already on."""
        return self.radio_control.start(AppContext(self.ctx.dirs, self.ctx.settings), more_like_these=True)

    def stop_radio(self) -> None:
        self.radio_control.stop()

    @property
    def radio(self) -> Task | None:
        """The radio running now, if any."""
        return self.radio_control.task

    @property
    def radio_text(self) -> str:
        return self.radio_control.text

    def _radio_changed(self, text: str) -> None:
        self._set_status(self.status, self.status_text)
        emit(self.radio_changed, text)

    def path_to(self, target: Path | None = None) -> None:
        """Plays a song path from the song playing now to ``target`` (asked for when not given:
        a song file, the person's music folder first)."""
        target = target or self.pick_song()
        if target is None:
            return
        self._player_task("Path", lambda ctx: self.player.path_to(ctx, target),
                          lambda name: self.notify("Path", f"Playing {name!r}."))

    def pick_song(self) -> Path | None:
        """A song file the person picks; None when they cancel."""
        folders = self.ctx.settings.music_folders
        start = Path(folders[0]).expanduser() if folders else Path.home() / "Music"
        chosen, _ = QFileDialog.getOpenFileName(
            None, "Path to which song?", str(start if start.is_dir() else Path.home()),
            "Songs (*.mp3 *.flac *.ogg *.oga *.opus *.m4a *.aac *.wav *.wma *.ape *.wv *.mpc);;All files (*)")
        return Path(chosen) if chosen else None

    def push_playlist(self, path: Path) -> None:
        """Puts a generated playlist into the player's playlists; what plays is left alone."""
        self._player_task(f"Playlist {path.stem}", lambda ctx: self.player.push_playlist(ctx, path),
                          lambda result: self._playlist_pushed(path, result))

    def _playlist_pushed(self, path: Path, result: str) -> None:
        name = playlist_title(path)
        if result == "kept":
            self.notify("Playlist kept", f"{name!r} is already in your player's playlists and was "
                        "left as it is: replacing it would make the player switch to it and play it. "
                        "Delete it in the player to get the new songs.")
        else:
            self.notify("Playlist added", f"{name!r} is now in your player's playlists.")

    def play_found(self, query: str, found: list[Any]) -> None:
        """Plays what the search box found as a playlist named by the words."""
        self._player_task("Play songs like", lambda ctx: self.player.play_found(ctx, query, found),
                          lambda name: self.notify("Playing", f"Playing {name!r}."))

    def play_song(self, key: str) -> None:
        self._player_task("Play song", lambda ctx: self.player.play_song(ctx, key))

    def _player_task(self, title: str, call: Callable[[AppContext], Any],
                     on_result: Callable[[Any], None] | None = None) -> Task:
        """Runs ``call`` off the GUI thread; a failure becomes a notification, a result goes to
        ``on_result`` on the GUI thread."""
        ctx = AppContext(self.ctx.dirs, self.ctx.settings)

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> Any:
            return call(ctx)

        task = Task(job, title, self)
        task.done.connect(lambda result, error, t=task: self._player_done(t, title, result, error,
                                                                          on_result))
        self._player_tasks.add(task)
        task.start()
        return task

    def _player_done(self, task: Task, title: str, result: Any, error: BaseException | None,
                     on_result: Callable[[Any], None] | None) -> None:
        task.wait()
        self._player_tasks.discard(task)
        task.deleteLater()
        if error is not None:
            self.notify(f"{title} failed", describe(error, self.ctx.dirs.logs), error=True)
        elif on_result is not None:
            on_result(result)

    def start_work(self, kind: str) -> bool:
        if self.library_unset():
            self.offer_demo_library()  # never generate it unasked: it takes minutes and 460 MB
            return False
        if kind == "update" and not self.model_ready():
            self.notify("No model yet", "Choose Rebuild model first: it reads the whole library.")
            return False
        started = self.worker.start(kind)
        if not started and kind != "update":
            self.notify("Busy", "Other work is running; cancel it first.")
        return started

    def toggle_pause(self) -> None:
        if self.worker.paused:
            self.worker.resume()
        else:
            self.worker.pause()

    def cancel_work(self) -> None:
        self.worker.cancel()
        self._set_status("working", "Stopping after the current step…")

    # -- the first start -------------------------------------------------------------------------
    def library_unset(self) -> bool:
        """True while no player database or music folder is set or found: the library would be
        the demo one, which the person has not chosen (``player = demo`` chooses it)."""
        from musicrec_desktop.errors import LibraryError
        from musicrec_desktop.library import resolve_source

        if self.ctx.settings.player != "auto":
            return False
        try:
            source, _database = resolve_source(self.ctx.settings)
        except LibraryError:
            return False
        return source == "demo"

    def offer_demo_library(self) -> Any:
        """Asks whether to use the demo library or to open Settings; returns the question."""
        if self._demo_offer is None:
            from musicrec_desktop.app.first_run import DemoOffer

            self._demo_offer = DemoOffer()
            self._demo_offer.chosen.connect(self._demo_offer_chosen)
        _raise(self._demo_offer)
        return self._demo_offer

    def _demo_offer_chosen(self, choice: str) -> None:
        from musicrec_desktop.app.first_run import OPEN_SETTINGS, USE_DEMO

        if choice == USE_DEMO:
            self.use_demo_library()
        elif choice == OPEN_SETTINGS:
            self.show_settings(tab="Library")

    def use_demo_library(self) -> None:
        """Chooses the demo library in the settings and builds the model from it."""
        try:
            self.ctx.save_settings(self.ctx.settings.replace(player="demo"))
        except OSError as exc:
            self.notify("Demo library", f"Could not save {self.ctx.dirs.settings_file}: {exc}",
                        error=True)
            return
        if self._settings_dialog is not None:
            self._settings_dialog.load(self.ctx.settings)
        self.notify("Demo library", "Making the demo library (a few minutes), then learning from it. "
                    "Click the icon to see how far it got.")
        self.start_work("run")

    def start_up(self, update_on_start: bool = True, delay_s: float = STARTUP_UPDATE_S) -> str:
        """What the tray does once its icon is up; returns what it chose, in words."""
        self.restart_watcher()
        if self.library_unset():
            self.offer_demo_library()
            return "offered the demo library"
        state = PipelineState.load(state_path(self.ctx))
        if update_on_start and state.started:
            # Work was interrupted (quit, crash, power): carry on from its checkpoint.
            QTimer.singleShot(int(delay_s * 1000), lambda: self.worker.start("run"))
            return "resuming"
        if not model_built(state):
            self.notify("musicrec", "Choose Rebuild model to learn your taste from your library.")
            return "asked for a first build"
        if update_on_start:
            QTimer.singleShot(int(delay_s * 1000), lambda: self.worker.start("update"))
            return "updating"
        return "idle"

    # -- worker signals --------------------------------------------------------------------------
    def _work_started(self, kind: str, stages: list[str]) -> None:
        self._work_kind = kind
        self.last_error = None
        self._set_status("working", "Starting…")
        self._sync_work_actions()
        if self._progress_window is not None:
            self._progress_window.begin(stages)

    def _progressed(self, progress: Progress) -> None:
        if self._progress_window is not None:
            self._progress_window.on_progress(progress)
        now = time.monotonic()
        if now - self._last_tooltip < 0.5 and progress.done < progress.total:
            return  # the tooltip need not change more than twice a second
        self._last_tooltip = now
        title = STAGE_TITLES.get(progress.stage, progress.stage)
        text = title
        if progress.total:
            text += f" {progress.fraction:.0%}"
        if progress.eta_s:
            text += f", {progress.eta_s / 60:.0f} min left" if progress.eta_s >= 60 else \
                f", {progress.eta_s:.0f} s left"
        self._set_status("working", text)

    def _work_finished(self, report: PipelineReport | None, error: BaseException | None) -> None:
        self._sync_work_actions()
        failure = error or (report.error if report else None)
        if self._progress_window is not None:
            self._progress_window.end(report, failure)
        if isinstance(failure, PipelineBusyError):
            # Not a failure of this app: nothing was done, and the other run keeps things up to date.
            self._set_status("idle", "Waiting: another musicrec run is working")
            if self._work_kind != "update":  # asked for by the person, not by a library change
                self.notify("musicrec is busy", describe(failure, self.ctx.dirs.logs))
            return
        if failure is not None:
            self.last_error = failure
            self._set_status("error", f"Failed: {failure}")
            self.notify("musicrec: work failed", describe(failure, self.ctx.dirs.logs), error=True)
            return
        assert report is not None
        self._set_status("idle", report.summary())
        if report.cancelled or (report.ran and report.seconds >= LONG_WORK_S):
            self.notify("musicrec", report.summary())
        if self._report_window is not None:
            self._report_window.reload()
        self.restart_watcher()  # the library location may be known only now
        if self.update_held and self.model_ready():
            self.update_held = False
            self.worker.start("update")

    def _paused_changed(self, paused: bool) -> None:
        self._sync_work_actions()
        self._set_status("working", "Paused" if paused else "Resuming…")

    # -- status, notifications -------------------------------------------------------------------
    def _set_status(self, status: str, text: str) -> None:
        changed = status != self.status
        self.status, self.status_text = status, text
        if changed:
            self.icon.setIcon(state_icon(status))
        self.icon.setToolTip(f"musicrec: {text}" + (f"\n{self.radio_text}" if self.radio_text else ""))
        if changed:
            emit(self.status_changed, status)

    def notify(self, title: str, text: str, error: bool = False) -> None:
        emit(self.notified, title, text)
        if not self.ctx.settings.notifications:
            return
        kind = QSystemTrayIcon.MessageIcon.Critical if error else QSystemTrayIcon.MessageIcon.Information
        self.icon.showMessage(title, text, kind, 10_000)

    # -- windows ---------------------------------------------------------------------------------
    def progress_window(self) -> Any:
        if self._progress_window is None:
            from musicrec_desktop.app.progress_window import ProgressWindow

            self._progress_window = ProgressWindow(self.worker, self.log_tail.line, self.ctx.dirs.logs,
                                                   self.toggle_pause, self.cancel_work)
        return self._progress_window

    def report_window(self) -> Any:
        if self._report_window is None:
            from musicrec_desktop.app.report_window import ReportWindow

            self._report_window = ReportWindow(self.ctx, self)
            self._report_window.song_clicked.connect(self.play_song)
        return self._report_window

    def search_box(self) -> Any:
        if self._search_box is None:
            from musicrec_desktop.app.search_box import SearchBox

            self._search_box = SearchBox(self.ctx)
            self._search_box.play_requested.connect(self.play_found)
        return self._search_box

    def settings_dialog(self) -> Any:
        if self._settings_dialog is None:
            from musicrec_desktop.app.settings_dialog import SettingsDialog

            self._settings_dialog = SettingsDialog(self.ctx)
            self._settings_dialog.saved.connect(self.settings_saved)
        return self._settings_dialog

    def show_progress(self) -> None:
        _raise(self.progress_window())

    def show_report(self) -> None:
        window = self.report_window()
        window.reload()
        _raise(window)

    def show_search(self) -> None:
        box = self.search_box()
        _raise(box)
        box.words.setFocus()

    def show_settings(self, tab: str | None = None) -> None:
        dialog = self.settings_dialog()
        dialog.load(self.ctx.settings)
        if tab is not None:
            dialog.show_tab(tab)
        _raise(dialog)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_progress()

    def settings_saved(self, settings: Settings) -> None:
        """The dialog saved new settings: keep autostart and the watcher in line with them."""
        try:
            autostart.apply(settings.autostart, data_root(self.ctx.dirs))
        except OSError as exc:
            self.notify("Start with the desktop", f"Could not change {autostart.entry_path()}: {exc}",
                        error=True)
        self.restart_watcher()

    # -- library watching ------------------------------------------------------------------------
    def restart_watcher(self) -> None:
        """Watches what the settings read the library from now (nothing, when watching is off)."""
        if self.watcher is not None:
            self.watcher.stop()
        self.watcher = watcher_for(self.ctx.settings, emitter(self.library_changed), self.watch_quiet_s)
        if self.watcher is not None:
            self.watcher.start()

    def model_ready(self) -> bool:
        """Whether a first build has trained an encoder, which every update needs."""
        return model_built(PipelineState.load(state_path(self.ctx)))

    def _library_changed(self, changes: LibraryChanges) -> None:
        what = f"{len(changes.songs)} song files" + (", ratings" if changes.database else "")
        if not self.model_ready():
            # An update would fail in its embed stage and turn the icon red on every player write.
            log.info("library changed (%s): held until the first Rebuild model finishes", what)
            self.update_held = True
            return
        log.info("library changed (%s): updating", what)
        self.worker.start("update")

    # -- other launches --------------------------------------------------------------------------
    def handle_request(self, request: str) -> None:
        """Does what another launch asked for: "show" (a second ``musicrec tray``), "rebuild",
        "play-recommended" or "radio" (``musicrec tray --rebuild`` ..., the desktop actions)."""
        if request == "show":
            self.show_progress()
        elif request == "rebuild":
            if self.start_work("rebuild"):
                self.show_progress()
        elif request == "play-recommended":
            self.play_recommended()
        elif request == "radio":
            self.radio_from_current()
        elif request != "status":
            log.warning("another launch asked for %r, which this version does not know", request)

    def status_line(self) -> str:
        """The answer to another launch: the status and the windows open (``bench/tray.py``)."""
        windows = [name for name, window in (("progress", self._progress_window),
                                             ("report", self._report_window),
                                             ("settings", self._settings_dialog),
                                             ("search", self._search_box),
                                             ("demo offer", self._demo_offer))
                   if window is not None and window.isVisible()]
        return f"ok {self.status}; windows: {', '.join(windows) or 'none'}"

    # -- life cycle ------------------------------------------------------------------------------
    def show(self) -> None:
        self.icon.show()

    def shutdown(self, timeout_ms: int = 60_000) -> None:
        """Stops the watcher, cancels work and waits for every thread."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        self.worker.stop(timeout_ms)
        self.radio_control.shutdown(timeout_ms)
        if self._search_box is not None:
            self._search_box.shutdown(timeout_ms)
        for task in list(self._player_tasks):
            task.wait(timeout_ms)
        self._player_tasks.clear()
        self.log_tail.detach()
        self.icon.hide()

    def quit(self) -> None:
        self.shutdown()
        QTimer.singleShot(0, QApplication.quit)


def _raise(widget: Any) -> None:
    widget.show()
    widget.raise_()
    widget.activateWindow()
