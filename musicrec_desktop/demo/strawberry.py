"""The demo ratings database, in the schema the real Strawberry 1.0.14 creates.

Rows are filled the way Strawberry fills them for songs of its collection (source 2, one
collection directory, percent-encoded ``file://`` URLs, lengths in nanoseconds, rating -1 when
unrated), so the same reader serves a person's real database and the demo one.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from musicrec_desktop.demo.catalog import DemoSong
from musicrec_desktop.errors import LibraryError
from musicrec_desktop.files import atomic_write
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.paths import resources_dir

SCHEMA = "schemas/strawberry.sql"
SOURCE_COLLECTION = 2
FILETYPES = {"flac": 2, "ogg": 5, "mp3": 8}  # Song::FileType values stored by Strawberry
FTS_COLUMNS = ("ftstitle", "ftsalbum", "ftsartist", "ftsalbumartist", "ftscomposer", "ftsperformer",
               "ftsgrouping", "ftsgenre", "ftscomment")


def schema_sql() -> str:
    path = resources_dir() / SCHEMA
    if not path.is_file():  # a source checkout where the package's resources link is missing
        path = Path(__file__).resolve().parents[2] / "resources" / SCHEMA
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LibraryError(path, f"Strawberry's schema is missing from this install: {exc}") from exc


def write_strawberry_db(path: Path, music: Path, songs: list[DemoSong], now: int) -> Path:
    """Writes a new database at ``path`` (atomically) for ``songs`` stored under ``music``."""
    with atomic_write(path) as tmp, contextlib.closing(sqlite3.connect(tmp)) as db:
        db.executescript(schema_sql())
        db.execute("INSERT INTO directories (path, subdirs) VALUES (?, 1)", (str(music),))
        directory_id = db.execute("SELECT max(ROWID) FROM directories").fetchone()[0]
        folders = sorted({(music / s.relpath).parent for s in songs} | {music})
        for folder in folders:
            db.execute("INSERT INTO subdirectories (directory_id, path, mtime) VALUES (?, ?, ?)",
                       (directory_id, str(folder), int(folder.stat().st_mtime)))
        for song in songs:
            _insert_song(db, music / song.relpath, song, directory_id, now)
        db.commit()
    return path


def _insert_song(db: sqlite3.Connection, file: Path, song: DemoSong, directory_id: int, now: int) -> None:
    stat = file.stat()
    row = {
        "title": song.title, "album": song.album, "artist": song.artist, "albumartist": "",
        "track": song.track, "year": song.year, "genre": song.genre or None,
        "beginning": 0, "length": int(round(song.seconds * 1e9)),
        "bitrate": int(round(stat.st_size * 8 / song.seconds / 1000)),
        "samplerate": _samplerate(file), "bitdepth": 16 if song.ext == "flac" else -1,
        "source": SOURCE_COLLECTION, "directory_id": directory_id, "url": file_url(file),
        "filetype": FILETYPES[song.ext], "filesize": stat.st_size,
        # ctime is when the player first listed the file: the listener's library grew over time
        "mtime": int(stat.st_mtime), "ctime": song.added if song.added >= 0 else int(stat.st_ctime),
        "unavailable": 0,
        "playcount": song.playcount, "skipcount": song.skipcount, "lastplayed": song.lastplayed,
        "lastseen": now, "effective_albumartist": song.artist, "effective_originalyear": song.year,
        "rating": song.rating,
    }
    cursor = db.execute(f"INSERT INTO songs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                        tuple(row.values()))
    fts = (song.title, song.album, song.artist, "", "", "", "", song.genre, "")
    db.execute(f"INSERT INTO songs_fts (ROWID, {', '.join(FTS_COLUMNS)}) VALUES (?{', ?' * len(fts)})",
               (cursor.lastrowid, *fts))


def _samplerate(file: Path) -> int:
    import soundfile

    try:
        return int(soundfile.info(str(file)).samplerate)
    except (RuntimeError, soundfile.LibsndfileError):
        return -1
