"""The library as the library stage last read it, stored in the data folder for the later stages.

One JSON file (``state/library.json``): the songs with their ratings, plays, skips and genres,
what was skipped, the source, the library settings it was read with and a fingerprint of the
songs. Later stages, commands and windows read this instead of the player's database; a fresh read
(``load_library``) replaces it. A file read with other library settings, or unreadable, counts as
none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from musicrec_desktop.files import write_text_atomic
from musicrec_desktop.library.song import LibraryScan, Song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings

log = logging.getLogger(__name__)

FILE = "library.json"
VERSION = 1
LIBRARY_SETTINGS = ("player", "database_path", "music_folders")  # what chooses the library
_FIELDS = [f.name for f in dataclasses.fields(Song)]


def stored_path(dirs: DataDirs) -> Path:
    return dirs.state / FILE


def fingerprint(scan: LibraryScan) -> str:
    """Changes when a song comes or goes or any of its fields changes (a rating, a play...)."""
    digest = hashlib.sha1()
    for song in sorted(scan.songs, key=lambda s: s.key):
        digest.update(json.dumps(_row(song), default=str).encode())
    return digest.hexdigest()[:16]


def store_library(settings: Settings, dirs: DataDirs, scan: LibraryScan) -> str:
    """Writes ``scan`` as the stored library; returns its fingerprint."""
    data = {"version": VERSION, "settings": _library_settings(settings), "source": scan.source,
            "location": str(scan.location) if scan.location else None, "fingerprint": fingerprint(scan),
            "skipped": dict(scan.skipped), "notes": dict(scan.notes), "fields": _FIELDS,
            "songs": [_row(s) for s in scan.songs]}
    write_text_atomic(stored_path(dirs), json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return data["fingerprint"]


def stored_library(settings: Settings, dirs: DataDirs) -> LibraryScan | None:
    """The stored library when it was read with the same library settings, else None."""
    path = stored_path(dirs)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fields = data.get("fields")
        # A file from before a field was added still reads (the new fields take their defaults);
        # one with fields this version does not know is from a newer version: read afresh.
        if data.get("version") != VERSION or not isinstance(fields, list) or set(fields) - set(_FIELDS):
            return None
        if data["settings"] != _library_settings(settings):
            log.info("%s was read with other library settings; reading the library again", path)
            return None
        songs = [_song(fields, row) for row in data["songs"]]
        location = Path(data["location"]) if data["location"] else None
        return LibraryScan(data["source"], location, songs, Counter(data["skipped"]), Counter(data["notes"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s is unreadable (%s); reading the library again", path, exc)
        return None


def stored_fingerprint(dirs: DataDirs) -> str | None:
    try:
        return json.loads(stored_path(dirs).read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError):
        return None


def _library_settings(settings: Settings) -> dict[str, Any]:
    return {k: getattr(settings, k) for k in LIBRARY_SETTINGS}


def _row(song: Song) -> list[Any]:
    return [str(v) if isinstance(v, Path) else v for v in dataclasses.astuple(song)]


def _song(fields: list[str], row: list[Any]) -> Song:
    values = dict(zip(fields, row, strict=True))
    values["path"] = Path(values["path"]) if values["path"] is not None else None
    return Song(**values)
