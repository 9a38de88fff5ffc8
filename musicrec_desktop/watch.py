"""Notices changes to the music folders and the player database, and reports them in batches.

Qt-free. watchdog's inotify threads block in the kernel while nothing changes, so watching costs
no CPU when idle. Events are collected until nothing happened for ``quiet_s`` seconds (a player
saving ratings or a folder being copied makes many events); then ``on_change`` gets one batch,
called on the watcher's timer thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from musicrec_desktop.settings import Settings

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = frozenset({
    ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".wma", ".aif",
    ".aiff", ".ape", ".wv", ".mpc", ".cue",
})
# Reading a file (our own snapshot of the player database included) makes "opened" and
# "closed without writing" events; only these change something.
_CHANGING_EVENTS = frozenset({EVENT_TYPE_CREATED, EVENT_TYPE_DELETED, EVENT_TYPE_MODIFIED,
                              EVENT_TYPE_MOVED, EVENT_TYPE_CLOSED})


@dataclass
class LibraryChanges:
    """One debounced batch: the song files that changed and whether the player database did."""

    songs: set[Path] = field(default_factory=set)
    database: bool = False

    def __bool__(self) -> bool:
        return self.database or bool(self.songs)


class LibraryWatcher:
    """``LibraryWatcher(folders, database, on_change).start()``; ``stop()`` before exit."""

    def __init__(self, music_folders: Iterable[Path], database: Path | None,
                 on_change: Callable[[LibraryChanges], None], quiet_s: float = 5.0) -> None:
        self.music_folders = [Path(f).expanduser() for f in music_folders]
        self.database = Path(database).expanduser() if database else None
        self.on_change = on_change
        self.quiet_s = quiet_s
        self._lock = threading.Lock()
        self._pending = LibraryChanges()
        self._timer: threading.Timer | None = None
        self._observer: Observer | None = None

    @property
    def running(self) -> bool:
        return self._observer is not None

    def watched(self) -> list[Path]:
        """The folders actually watched (missing ones are left out with a warning)."""
        folders = [f for f in self.music_folders if f.is_dir()]
        if self.database is not None and self.database.parent.is_dir():
            folders.append(self.database.parent)
        return folders

    def start(self) -> None:
        if self._observer is not None:
            return
        observer = Observer()
        handler = _Handler(self)
        for folder in self.music_folders:
            if folder.is_dir():
                observer.schedule(handler, str(folder), recursive=True)
            else:
                log.warning("music folder %s does not exist; not watching it", folder)
        if self.database is not None:
            if self.database.parent.is_dir():
                # The folder, not the file: players and our tests may replace the file.
                observer.schedule(handler, str(self.database.parent), recursive=False)
            else:
                log.warning("player database folder %s does not exist; not watching it",
                            self.database.parent)
        observer.daemon = True
        observer.start()
        self._observer = observer
        log.info("watching %s", ", ".join(map(str, self.watched())) or "nothing")

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._pending = LibraryChanges()
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

    # -- called on watchdog's thread -------------------------------------------------------------
    def _is_database(self, path: Path) -> bool:
        db = self.database
        return db is not None and path.parent == db.parent and path.name in (
            db.name, db.name + "-journal", db.name + "-wal")

    def _noticed(self, path: Path, folder_gone: bool = False) -> None:
        if self._is_database(path):
            change = "database"
        elif folder_gone or path.suffix.lower() in AUDIO_SUFFIXES:
            # A deleted or moved folder may have held songs.
            change = "song"
        else:
            return
        with self._lock:
            if self._observer is None:
                return
            if change == "database":
                self._pending.database = True
            else:
                self._pending.songs.add(path)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.quiet_s, self._flush)
            self._timer.daemon = True
            self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            changes, self._pending, self._timer = self._pending, LibraryChanges(), None
        if changes:
            log.info("library changed: %d song files%s", len(changes.songs),
                     ", player database" if changes.database else "")
            self.on_change(changes)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: LibraryWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGING_EVENTS:
            return
        folder_gone = event.is_directory and event.event_type in (EVENT_TYPE_DELETED, EVENT_TYPE_MOVED)
        if event.is_directory and not folder_gone:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self.watcher._noticed(Path(raw if isinstance(raw, str) else raw.decode()), folder_gone)


def watcher_for(settings: Settings, on_change: Callable[[LibraryChanges], None],
                quiet_s: float = 5.0) -> LibraryWatcher | None:
    """A watcher (not started) of what ``settings`` read the library from: the music folders and
    the player database (found the same way); None when watching is off or there is nothing."""
    from musicrec_desktop.errors import LibraryError
    from musicrec_desktop.library import resolve_source

    if not settings.watch_library:
        return None
    try:
        _source, database = resolve_source(settings)
    except LibraryError as exc:
        log.warning("not watching the player database: %s", exc)
        database = None
    if not (settings.music_folders or database):
        return None
    return LibraryWatcher([Path(f) for f in settings.music_folders], database, on_change, quiet_s)
