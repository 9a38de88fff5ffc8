"""Reading the person's library: player databases (read-only) and music folders.

``load_library`` reads it afresh: it follows ``settings.player`` and, for "auto", takes the first
of Strawberry's database, Clementine's database, the music folders, the demo library (only when it
has been made: making it is for the first-run paths, ``musicrec run`` and the tray's offer). Every
fresh read is stored (``library.stored``); ``current_library`` gives the stored one, reading
afresh only when there is none for these settings.
"""

from __future__ import annotations

import logging
from pathlib import Path

from musicrec_desktop.errors import LibraryError, NoLibraryError
from musicrec_desktop.library.folders import scan_folders
from musicrec_desktop.library.players import PLAYERS, find_database, read_player_database
from musicrec_desktop.library.snapshot import DEFAULT_WAIT_S
from musicrec_desktop.library.song import LibraryScan, Song, song_key
from musicrec_desktop.library.stored import store_library, stored_library
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import ProgressCallback, ignore_progress
from musicrec_desktop.settings import Settings

__all__ = ["LibraryScan", "Song", "current_library", "load_library", "resolve_source", "song_key"]

log = logging.getLogger(__name__)


def resolve_source(settings: Settings, home: Path | None = None) -> tuple[str, Path | None]:
    """Which library ``settings`` point at: ``(player|"folders"|"demo", database or None)``.

    Raises ``LibraryError`` when a named player's database cannot be found.
    """
    player = settings.player
    given = Path(settings.database_path).expanduser() if settings.database_path else None
    if player in PLAYERS:
        path = given or find_database(player, home)
        if path is None:
            raise LibraryError(f"~/{player}", f"no {player.title()} database found; set its path "
                                              "with --db PATH or musicrec config set database_path")
        return player, path
    if player == "auto":
        if given is not None:
            return "auto", given
        for name in PLAYERS:
            path = find_database(name, home)
            if path is not None:
                return name, path
        if any(Path(f).expanduser().is_dir() for f in settings.music_folders):
            return "folders", None
        return "demo", None
    return player, None  # folders, demo


def load_library(settings: Settings, dirs: DataDirs, *, home: Path | None = None,
                 wait_s: float = DEFAULT_WAIT_S,
                 progress: ProgressCallback = ignore_progress) -> LibraryScan:
    """A fresh read of the library ``settings`` choose (see ``resolve_source``), stored for the
    later stages. ``NoLibraryError`` when none is configured or found and no demo library was
    made."""
    source, path = resolve_source(settings, home)
    log.info("library: %s %s", source, path or "")
    if path is not None:
        scan = read_player_database(path, source, wait_s=wait_s)
    elif source == "folders":
        scan = scan_folders(settings.music_folders, progress)
    else:
        if not dirs.demo_database.is_file():
            raise NoLibraryError()
        scan = read_player_database(dirs.demo_database, "strawberry", source="demo", wait_s=wait_s)
    store_library(settings, dirs, scan)
    return scan


def current_library(settings: Settings, dirs: DataDirs) -> LibraryScan:
    """The library as last read (by the library stage or any fresh read) with these settings;
    read afresh, once, when there is none."""
    return stored_library(settings, dirs) or load_library(settings, dirs)
