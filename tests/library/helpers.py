"""Builders for library tests: tagged audio files, player databases and the odd rows they hold."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf
from mutagen.flac import FLAC
from mutagen.id3 import ID3, POPM, TCON, TDRC, TIT2, TPE1, TXXX
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from musicrec_desktop.library.urls import file_url
from tests.support.player import HeadlessPlayer

SCHEMAS = Path(__file__).resolve().parents[2] / "resources" / "schemas"
LOCATION = {"strawberry": "url", "clementine": "filename"}
NS = 1_000_000_000
T = TypeVar("T")


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tone(seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    """A quiet stereo sine, float32 frames x 2."""
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.2 * np.sin(2 * np.pi * 440 * t)
    return np.stack([mono, mono], axis=1).astype(np.float32)


def write_song(path: Path, title: str = "", artist: str = "", genre: str = "", date: str = "",
               rating_tag: tuple[str, object] | None = None) -> Path:
    """A short real audio file in the format its suffix names, tagged with mutagen.

    ``rating_tag``: ("popm", 0-255), ("fmps", "0.8") or ("rating", "80").
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".m4a":
        if not shutil.which("ffmpeg"):
            raise RuntimeError("ffmpeg is needed to write M4A")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "sine=frequency=440:duration=1", "-c:a", "aac", str(path)], check=True)
    else:
        fmt, subtype, rate = {".flac": ("FLAC", "PCM_16", 16000), ".ogg": ("OGG", "VORBIS", 16000),
                              ".opus": ("OGG", "OPUS", 48000), ".mp3": ("MP3", "MPEG_LAYER_III", 16000),
                              ".wav": ("WAV", "PCM_16", 16000)}[suffix]
        sf.write(path, tone(1.0, rate), rate, format=fmt, subtype=subtype)
    if suffix in (".mp3", ".wav"):
        _tag_id3(path, title, artist, genre, date, rating_tag)
    elif suffix == ".m4a":
        audio = MP4(path)
        for key, value in (("\xa9nam", title), ("\xa9ART", artist), ("\xa9gen", genre),
                           ("\xa9day", date)):
            if value:
                audio[key] = [value]
        if rating_tag:
            audio["----:com.apple.iTunes:FMPS_Rating"] = [MP4FreeForm(str(rating_tag[1]).encode())]
        audio.save()
    else:
        audio = {".flac": FLAC, ".ogg": OggVorbis, ".opus": OggOpus}[suffix](path)
        for key, value in (("title", title), ("artist", artist), ("genre", genre), ("date", date)):
            if value:
                audio[key] = value
        if rating_tag:
            audio["fmps_rating" if rating_tag[0] == "fmps" else "rating"] = str(rating_tag[1])
        audio.save()
    return path


def _tag_id3(path: Path, title: str, artist: str, genre: str, date: str,
             rating_tag: tuple[str, object] | None) -> None:
    if path.suffix.lower() == ".wav":
        audio = WAVE(path)
        audio.add_tags()
        tags = audio.tags
    else:
        tags = ID3()
    for frame, value in ((TIT2, title), (TPE1, artist), (TCON, genre), (TDRC, date)):
        if value:
            tags.add(frame(encoding=3, text=[value]))
    if rating_tag and rating_tag[0] == "popm":
        tags.add(POPM(email="Windows Media Player 9 Series", rating=int(rating_tag[1]), count=0))
    elif rating_tag:
        tags.add(TXXX(encoding=3, desc="FMPS_Rating" if rating_tag[0] == "fmps" else "RATING",
                      text=[str(rating_tag[1])]))
    if path.suffix.lower() == ".wav":
        audio.save()
    else:
        tags.save(path)


# File names that need percent-encoding: space, non-ASCII, '#', '?', '%', '&'.
ODD_NAMES = ("Ünïcödé straße.flac", "track #1?.flac", "100% & more.ogg")


def make_music(folder: Path) -> list[Path]:
    """A few real, tagged FLAC and Ogg files with odd names (what a player can scan)."""
    return [
        write_song(folder / ODD_NAMES[0], "Straße", "Björk", "Hip Hop", "1999"),
        write_song(folder / ODD_NAMES[1], "Number One?", "Artist #1", "Rock/Pop", "2004"),
        write_song(folder / "sub dir" / ODD_NAMES[2], "Hundred", "Percent", "Drum & Bass", "2010"),
    ]


def schema_database(player: str, path: Path) -> Path:
    """An empty database made from the player's real schema (resources/schemas)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript((SCHEMAS / f"{player}.sql").read_text(encoding="utf-8"))
    return path


def insert_song(db: sqlite3.Connection, player: str, location: str | None, **values: object) -> None:
    """One row in the player's own schema. NULL is written wherever the schema allows it."""
    columns = list(db.execute("PRAGMA table_info(songs)"))
    not_null = {c[1] for c in columns if c[3]}
    # Clementine binds its URL as a QByteArray, so the real player stores it as a BLOB.
    loc = location.encode() if player == "clementine" and location is not None else location
    required = {c[1]: -1 for c in columns if c[3] and c[4] is None}  # what the player always binds
    row = {**required, LOCATION[player]: loc, **values}
    row = {k: v for k, v in row.items()
           if k in required or (k in {c[1] for c in columns} and not (v is None and k in not_null))}
    names = ", ".join(row)
    db.execute(f"INSERT INTO songs ({names}) VALUES ({', '.join('?' * len(row))})",
               tuple(row.values()))


# Songs ``add_odd_rows`` leaves: 23 rows, less 6 that are not local files or have no location,
# less 2 duplicates ("dup rated" of "dup unrated", "localhost" of "odd name").
ODD_SONGS = 15


@dataclass
class OddRows:
    """What ``add_odd_rows`` wrote, for the assertions."""

    music: Path
    present: Path  # an existing file with an odd name
    missing: Path
    cue: Path
    expected_skips: dict[str, int]


def add_odd_rows(database: Path, player: str, music: Path) -> OddRows:
    """Rows for every odd case real databases hold, in ``player``'s schema."""
    present = music / ODD_NAMES[0]
    if not present.exists():
        write_song(present, "Straße", "Björk", "Hip Hop", "1999")
    cue = write_song(music / "cue" / "whole album.flac", "Album", "Band", "Jazz")
    missing = music / "gone" / "deleted song.flac"
    raw_unencoded = write_song(music / "raw #name?.flac", "Raw", "Raw", "")
    score = {"score": 55.5} if player == "clementine" else {}
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        add = lambda location, **v: insert_song(db, player, location, **v)  # noqa: E731
        add(file_url(present), title="odd name", artist="A", genre="R&B",
            rating=1, playcount=7, skipcount=1, lastplayed=1_700_000_000, year=1999,
            length=200 * NS, **score)
        add("http://radio.example/stream.mp3", title="stream")
        add("cdda://sr0/3", title="cd track")
        add("smb://nas/music/song.flac", title="on the network")
        add("tidal:/track/12345", title="internet service")
        add("file://nas/share/song.flac", title="file on another host")
        add("", title="no location")
        add(file_url(missing), title="missing", rating=0.6, length=100 * NS, unavailable=1)
        add(file_url(cue), title="cue one", beginning=0, length=180 * NS, rating=0.8)
        add(file_url(cue), title="cue two", beginning=180 * NS, length=120 * NS, rating=0.4)
        # The player marked it unavailable (say, while its drive was unmounted); it is there now.
        add(f"file://{raw_unencoded}", title="unencoded", unavailable=1)
        for i, (rating, genre) in enumerate([(0.7, "Hip-Hop"), (-1, "HipHop"), (None, None),
                                             (1.5, "Rhythm and Blues"), (5, "Drum & Bass"),
                                             (-0.5, ""), ("abc", "Rock & Pop"),
                                             (1.0000001, "Ambient; Jazz"), (0, "Shoegaze")]):
            song = write_song(music / "ratings" / f"r{i}.flac", f"rating {i}", "R", genre or "")
            add(file_url(song), title=f"rating {i}", rating=rating, genre=genre, year=None,
                artist=None, album=None, lastplayed=-1 if i % 2 else None,
                playcount=None, length=None)
        dup = write_song(music / "dup.flac", "dup", "D", "Pop")
        add(file_url(dup), title="dup unrated", rating=-1, playcount=0)
        add(file_url(dup), title="dup rated", rating=0.6, playcount=3)
        # The same file as "odd name", spelled with a host: a duplicate, not a second song.
        add(f"file://localhost{file_url(present)[len('file://'):]}", title="localhost")
    return OddRows(music, present, missing, cue, {
        "not a local file (http)": 1, "not a local file (cdda)": 1, "not a local file (smb)": 1,
        "not a local file (tidal)": 1, "not a local file (file)": 1, "no location": 1,
        "duplicate row": 2,  # "dup rated" after "dup unrated"; "localhost" after "odd name"
    })


START_ATTEMPTS = 3


def run_player(make: Callable[[int], HeadlessPlayer], work: Callable[[HeadlessPlayer], T]) -> T:
    """``work(player)`` with a real player from ``make(attempt)`` running; stopped afterwards.

    Strawberry 1.0.14 now and then dies (SIGSEGV) while starting or scanning; a player that
    crashed is made and started again, up to ``START_ATTEMPTS`` times.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        player = make(attempt)
        try:
            player.start()
            return work(player)
        except RuntimeError:
            if player.running or attempt == START_ATTEMPTS:
                raise
        finally:
            player.stop()
    raise AssertionError("unreachable")


def change_counter(database: Path) -> int:
    """SQLite's file change counter (header bytes 24-27): every write transaction bumps it."""
    with open(database, "rb") as fh:
        return int.from_bytes(fh.read(28)[24:28], "big")
