"""Reading the person's library: player databases (read-only) and music folders.

``load_library`` is the one entry point: it follows ``settings.player`` and, for "auto", takes
the first of Strawberry's database, Clementine's database, the music folders, the demo library.
"""

from __future__ import annotations

import logging
from pathlib import Path

from musicrec_desktop.errors import LibraryError
from musicrec_desktop.library.folders import scan_folders
from musicrec_desktop.library.players import PLAYERS, find_database, read_player_database
from musicrec_desktop.library.snapshot import DEFAULT_WAIT_S
from musicrec_desktop.library.song import LibraryScan, Song, song_key
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback, ignore_progress
from musicrec_desktop.settings import Settings

__all__ = ["LibraryScan", "Song", "load_library", "resolve_source", "song_key"]

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
                 progress: ProgressCallback = ignore_progress,
                 cancel: CancelToken | None = None) -> LibraryScan:
    """The person's songs from the library ``settings`` choose (see ``resolve_source``)."""
    source, path = resolve_source(settings, home)
    log.info("library: %s %s", source, path or "")
    if path is not None:
        return read_player_database(path, source, wait_s=wait_s)
    if source == "folders":
        return scan_folders(settings.music_folders, progress)
    return _demo_library(dirs, wait_s, progress, cancel)


def _demo_library(dirs: DataDirs, wait_s: float, progress: ProgressCallback,
                  cancel: CancelToken | None) -> LibraryScan:
    """The demo library, generated on first use (a few minutes: progress and cancel reach it)."""
    try:
        from musicrec_desktop.demo.library import ensure_demo_library
    except ImportError as exc:
        raise LibraryError(dirs.state, "no player database or music folder found, and the demo "
                                       "library is not available in this install") from exc
    database = ensure_demo_library(dirs, progress=progress, cancel=cancel)
    return read_player_database(database, "strawberry", source="demo",
                                wait_s=wait_s)
