"""Strawberry and Clementine databases: where they live, which is which, and their songs."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from musicrec_desktop.errors import LibraryError
from musicrec_desktop.library.snapshot import DEFAULT_WAIT_S, snapshot
from musicrec_desktop.library.song import LibraryScan, Song, song_key
from musicrec_desktop.library.urls import local_path, url_scheme

log = logging.getLogger(__name__)

PLAYERS = ("strawberry", "clementine")
LOCATION_COLUMN = {"strawberry": "url", "clementine": "filename"}
# Read when present; an older or newer schema without one of them reads as NULL.
_COLUMNS = ("title", "artist", "album", "albumartist", "genre", "year", "rating", "playcount",
            "skipcount", "lastplayed", "score", "length", "beginning", "unavailable",
            # Strawberry after 1.0.14 keeps MusicBrainz ids; 1.0.14 and Clementine do not.
            "musicbrainz_recording_id",
            "ctime",  # when the player listed the file: the song's date added
            # bpm: Clementine and newer Strawberry schemas; mood: newer Strawberry schemas only.
            "bpm", "mood", "comment")
_NS = 1_000_000_000


def default_databases(home: Path | None = None) -> dict[str, list[Path]]:
    """Where each player keeps its database on Linux, most usual place first (native, Flatpak)."""
    home = Path(home) if home else Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    flatpak = home / ".var" / "app"
    return {
        "strawberry": [
            data_home / "strawberry" / "strawberry" / "strawberry.db",
            flatpak / "org.strawberrymusicplayer.strawberry" / "data" / "strawberry" / "strawberry"
            / "strawberry.db",
        ],
        # Clementine builds its config path from $HOME, not from XDG_CONFIG_HOME.
        "clementine": [
            home / ".config" / "Clementine" / "clementine.db",
            flatpak / "org.clementine_player.Clementine" / "config" / "Clementine" / "clementine.db",
        ],
    }


def find_database(player: str, home: Path | None = None) -> Path | None:
    """The first existing default database of ``player``, or None."""
    return next((p for p in default_databases(home)[player] if p.is_file()), None)


def detect_player(db: sqlite3.Connection, path: Path) -> str:
    """``"strawberry"`` or ``"clementine"`` from the ``songs`` table's columns."""
    columns = _columns(db)
    if "url" in columns:
        return "strawberry"
    if "filename" in columns:
        return "clementine"
    what = "has no songs table" if not columns else "has a songs table without url or filename"
    raise LibraryError(path, f"not a Strawberry or Clementine database ({what})")


def read_player_database(path: Path | str, player: str = "auto", *, source: str | None = None,
                         wait_s: float = DEFAULT_WAIT_S) -> LibraryScan:
    """Every song of a Strawberry or Clementine database, read from a snapshot.

    ``player`` "auto" recognises the schema; a named player whose schema does not match is
    logged and the schema wins. ``source`` overrides the scan's source name (the demo library).
    """
    path = Path(path).expanduser()
    db = snapshot(path, wait_s)
    try:
        detected = detect_player(db, path)
        if player not in ("auto", detected):
            log.warning("%s is a %s database, not %s; reading it as %s",
                        path, detected.title(), player.title(), detected.title())
        rows = _select_songs(db, detected)
        scan = songs_from_rows(rows, source or detected, path)
    except sqlite3.DatabaseError as exc:
        raise LibraryError(path, f"cannot read its songs: {exc}") from exc
    finally:
        db.close()
    log.info("%s: %d songs, skipped %s", path, len(scan.songs), dict(scan.skipped))
    return scan


def _columns(db: sqlite3.Connection) -> set[str]:
    return {row[1] for row in db.execute("PRAGMA table_info(songs)")}


def _select_songs(db: sqlite3.Connection, player: str) -> sqlite3.Cursor:
    present = _columns(db)
    parts = [f"{LOCATION_COLUMN[player]} AS url"]
    parts += [c if c in present else f"NULL AS {c}" for c in _COLUMNS]
    return db.execute(f"SELECT {', '.join(parts)} FROM songs ORDER BY rowid")


def songs_from_rows(rows: Iterable[tuple], source: str, location: Path | None) -> LibraryScan:
    """Songs from rows of ``(url, *_COLUMNS)``; odd rows are skipped or repaired and counted.

    Rows for the same file and start offset are one song, however the URL spells the path
    (``file://localhost/x``, ``file:///a/../x`` and ``file:///x``): of those the row that says
    most about the person's taste is kept, the first one on a tie. Symlinks are not followed:
    resolving every path doubled the time a large library takes to read.
    """
    scan = LibraryScan(source, location)
    kept: dict[tuple[str, float], int] = {}  # (normalised path, beginning) -> index in scan.songs
    for row in rows:
        song = _song(row, scan.skipped, scan.notes)
        if song is None:
            continue
        same_file = (os.path.normpath(song.path), song.beginning_s)
        index = kept.get(same_file)
        if index is None:
            kept[same_file] = len(scan.songs)
            scan.songs.append(song)
            continue
        scan.skipped["duplicate row"] += 1
        if _richness(song) > _richness(scan.songs[index]):
            scan.songs[index] = song
    missing = sum(1 for s in scan.songs if not s.available)
    if missing:
        scan.notes["file missing"] = missing
    return scan


def _song(row: tuple, skipped: Counter[str], notes: Counter[str]) -> Song | None:
    (url, title, artist, album, albumartist, genre, year, rating, playcount, skipcount,
     lastplayed, score, length, beginning, unavailable, mbid, ctime, bpm, mood, comment) = row
    url = _text(url).strip()
    if not url:
        skipped["no location"] += 1
        return None
    path = local_path(url)
    if path is None:
        skipped[f"not a local file ({url_scheme(url) or 'unknown'})"] += 1
        return None
    beginning_ns = max(_int(beginning, 0), 0)
    length_ns = _int(length, 0)
    value, problem = parse_rating(rating)
    if problem:
        notes[problem] += 1
    available = os.path.isfile(path)
    if _int(unavailable, 0) > 0:
        # The player marks a file it did not find on its last scan. What is on disk now decides
        # (a drive may be mounted again); the counts tell how far the player is behind.
        notes["marked unavailable by the player, file present" if available
              else "marked unavailable by the player"] += 1
    return Song(
        key=song_key(url, beginning_ns),
        url=url,
        path=path,
        title=_text(title),
        artist=_text(artist),
        album=_text(album),
        albumartist=_text(albumartist),
        genre=_text(genre).strip(),
        year=_positive(_int(year, 0)),
        rating=value,
        playcount=max(_int(playcount, 0), 0),
        skipcount=max(_int(skipcount, 0), 0),
        lastplayed=_positive(_int(lastplayed, 0)),
        score=_float(score),
        length_s=length_ns / _NS if length_ns > 0 else None,
        beginning_s=beginning_ns / _NS,
        available=available,
        mbid=_text(mbid).strip().lower(),
        added=_positive(_int(ctime, 0)),
        bpm=parse_bpm(bpm),
        mood=_text(mood).strip(),
        comment=_text(comment).strip(),
    )


def parse_bpm(value: object) -> float | None:
    """A tempo in beats per minute, or None: NULL, '', -1 and 0 (the players' "unknown") and
    anything that is not a positive number."""
    number = _float(value)
    return number if number is not None and number > 0 else None


def parse_rating(value: object) -> tuple[float | None, str | None]:
    """A stored rating as 0..1 or None (unrated), and what was wrong with it, if anything.

    The players store 0..1 in an INTEGER column, so 1.0 reads back as int 1; -1 and NULL mean
    unrated. Values a hair above 1 (float noise) are 1; anything else outside 0..1 is ignored.
    """
    number = _float(value)
    if number is None:
        return None, (None if value is None or value == "" else "rating not a number")
    if number < 0:
        return None, None if number == -1 else "rating out of range"
    if number <= 1.0:
        return number, None
    if number <= 1.001:
        return 1.0, None
    return None, "rating out of range"


def _richness(song: Song) -> tuple:
    """Of two rows for the same song, keep the one that says more about the person's taste."""
    return (song.rating is not None, song.playcount + song.skipcount, song.lastplayed or 0)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):  # Clementine binds URLs as QByteArray: stored as BLOB
        return value.decode("utf-8", errors="replace")
    return str(value)


def _float(value: object) -> float | None:
    if type(value) is float or type(value) is int:  # the common case, kept fast
        return float(value) if value == value and abs(value) != float("inf") else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value: object, default: int) -> int:
    if type(value) is int:
        return value
    number = _float(value)
    return default if number is None else int(number)


def _positive(value: int) -> int | None:
    return value if value > 0 else None
