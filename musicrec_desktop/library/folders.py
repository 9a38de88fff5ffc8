"""The folder library: songs found by walking music folders and reading their tags (mutagen).

For people without a player database. Ratings come from the tags players and taggers write:
ID3 POPM (0-255), FMPS_RATING (0..1) and RATING comments, MP4 ``rate`` / FMPS freeform atoms.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

import mutagen
from mutagen.id3 import ID3
from mutagen.mp4 import MP4Tags

from musicrec_desktop.errors import LibraryError
from musicrec_desktop.library.players import parse_bpm
from musicrec_desktop.library.song import LibraryScan, Song, song_key
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.progress import ProgressCallback, RateMeter, ignore_progress

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".wav"})
_YEAR = re.compile(r"\d{4}")
NOT_A_FILE = "not a regular file (a pipe, socket or device)"


def scan_folders(folders: Sequence[Path | str], progress: ProgressCallback = ignore_progress,
                 ) -> LibraryScan:
    """Every audio file under ``folders`` (recursively) as a Song; unreadable files are counted."""
    roots = [Path(f).expanduser() for f in folders]
    if not roots:
        raise LibraryError("music_folders", "no music folders are set (musicrec config set "
                                            "music_folders ~/Music)")
    missing = [r for r in roots if not r.is_dir()]
    if len(missing) == len(roots):
        raise LibraryError(missing[0], "music folder does not exist")
    scan = LibraryScan("folders", roots[0].resolve())
    for root in missing:
        log.warning("%s: music folder does not exist", root)
        scan.skipped["music folder missing"] += 1
    files = sorted(set(_audio_files(r for r in roots if r not in missing)))
    meter = RateMeter(len(files))
    for done, path in enumerate(files, 1):
        song = read_song(path, scan.skipped)
        if song is not None:
            scan.songs.append(song)
        if done % 200 == 0 or done == len(files):
            progress(meter.report("library", done, str(path)))
    return scan


def _audio_files(roots: Iterable[Path]) -> Iterable[Path]:
    for root in roots:
        for folder, _dirs, names in os.walk(root.resolve(), onerror=_walk_error):
            for name in names:
                if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                    yield Path(folder) / name


def _walk_error(exc: OSError) -> None:
    log.warning("cannot list %s: %s", exc.filename, exc.strerror)


def read_song(path: Path, skipped: dict[str, int] | None = None) -> Song | None:
    """A Song from one file's tags; None (counted in ``skipped``) when mutagen cannot read it."""
    skipped = skipped if skipped is not None else {}
    try:
        with open_regular_file(path) as fh:
            audio = mutagen.File(fh)  # None: not a format mutagen knows
    except NotARegularFileError as exc:
        log.warning("%s: skipped: %s", path, exc)
        skipped[NOT_A_FILE] = skipped.get(NOT_A_FILE, 0) + 1
        return None
    except (mutagen.MutagenError, OSError, ValueError, EOFError) as exc:
        log.info("%s: unreadable: %s", path, exc)
        audio = None
    if audio is None:  # (a file without tags is falsy, so compare with None)
        reason = f"unreadable audio file ({path.suffix.lower().lstrip('.')})"
        skipped[reason] = skipped.get(reason, 0) + 1
        return None
    tags = _read_tags(audio.tags)
    url = file_url(path)
    length = getattr(audio.info, "length", None)
    return Song(
        key=song_key(url), url=url, path=path,
        title=tags.get("title", ""), artist=tags.get("artist", ""), album=tags.get("album", ""),
        albumartist=tags.get("albumartist", ""), genre=tags.get("genre", ""),
        year=_year(tags.get("date", "")), rating=tags.get("rating"),
        length_s=float(length) if length else None,
        mbid=tags.get("mbid", "").strip().lower(),
        bpm=parse_bpm(tags.get("bpm")), mood=tags.get("mood", ""), comment=tags.get("comment", ""),
    )


class NotARegularFileError(OSError):
    """A pipe, socket or device under an audio file's name: reading it could block for ever."""


def open_regular_file(path: Path) -> BinaryIO:
    """``path`` opened for reading, or ``NotARegularFileError`` when it is not a regular file.

    Opened without blocking (a FIFO with no writer blocks ``open`` for ever) and checked on the
    open descriptor, so nothing can swap the file between the check and the read.
    """
    fh = open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK))  # noqa: SIM115
    mode = os.fstat(fh.fileno()).st_mode
    if not stat.S_ISREG(mode):
        fh.close()
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "not a regular file"
        raise NotARegularFileError(f"{kind}, not an audio file")
    return fh


def _read_tags(tags: object) -> dict:
    if tags is None:
        return {}
    if isinstance(tags, ID3):
        return _id3(tags)
    if isinstance(tags, MP4Tags):
        return _mp4(tags)
    return _vorbis(tags)  # FLAC, Ogg Vorbis, Opus: Vorbis comments


def _id3(tags: ID3) -> dict:
    out = {}
    for field, frame in (("title", "TIT2"), ("artist", "TPE1"), ("album", "TALB"),
                         ("albumartist", "TPE2"), ("date", "TDRC"), ("bpm", "TBPM"),
                         ("mood", "TMOO")):
        if frame in tags:
            out[field] = _join(str(v) for v in tags[frame].text)
    # The plain comment (no description); iTunes keeps its loudness and gapless data in
    # described ones ("iTunNORM", "iTunSMPB").
    comments = [f for f in tags.getall("COMM") if not f.desc]
    if comments:
        out["comment"] = _join(str(v) for v in comments[0].text)
    if "TCON" in tags:
        out["genre"] = _join(tags["TCON"].genres)  # resolves ID3v1 numbers such as "(17)"
    if "UFID:http://musicbrainz.org" in tags:  # where MusicBrainz Picard writes the recording id
        out["mbid"] = tags["UFID:http://musicbrainz.org"].data.decode("ascii", "replace")
    out["rating"] = _id3_rating(tags)
    return out


def _id3_rating(tags: ID3) -> float | None:
    for frame in tags.getall("TXXX"):
        if frame.desc.upper() in ("FMPS_RATING", "RATING") and frame.text:
            rating = rating_from_text(str(frame.text[0]), fmps=frame.desc.upper() == "FMPS_RATING")
            if rating is not None:
                return rating
    for frame in tags.getall("POPM"):
        rating = rating_from_popm(getattr(frame, "rating", 0))
        if rating is not None:
            return rating
    return None


def rating_from_popm(value: int) -> float | None:
    """ID3 POPM 0-255 -> 0..1 by the Windows Media Player / MediaMonkey steps; 0 is unrated.

    WMP writes 1, 64, 128, 196, 255 for one to five stars; MediaMonkey's half stars fall in
    between and are rounded down to the star below.
    """
    if not value or value < 0:
        return None
    for top, rating in ((63, 0.2), (127, 0.4), (191, 0.6), (251, 0.8)):
        if value <= top:
            return rating
    return 1.0


def rating_from_text(text: str, fmps: bool = False) -> float | None:
    """A rating tag as 0..1. FMPS_RATING is always a fraction 0..1 (Strawberry writes "1" for five
    stars); a plain RATING is a fraction when written with a decimal point, else 1-5 stars or a
    0-100 percentage."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    if value < 0 or value != value:
        return None
    if fmps or (value <= 1 and ("." in text or value == 0)):
        return value if value <= 1 else None
    if value <= 5:
        return value / 5
    if value <= 100:
        return value / 100
    return None


def _vorbis(tags: object) -> dict:
    def first(*names: str) -> str:
        for name in names:
            values = tags.get(name)  # type: ignore[attr-defined]
            if values:
                return _join(values)
        return ""

    out = {"title": first("title"), "artist": first("artist"), "album": first("album"),
           "albumartist": first("albumartist", "album artist"), "genre": first("genre"),
           "date": first("date", "year"), "mbid": first("musicbrainz_trackid"),
           "bpm": first("bpm"), "mood": first("mood"), "comment": first("comment", "description")}
    for name in ("fmps_rating", "rating"):
        text = first(name)
        rating = rating_from_text(text.split(";")[0], fmps=name == "fmps_rating") if text else None
        if rating is not None:
            out["rating"] = rating
            break
    return out


def _mp4(tags: MP4Tags) -> dict:
    def first(name: str) -> str:
        values = tags.get(name)
        return _join(str(v) for v in values) if values else ""

    out = {"title": first("\xa9nam"), "artist": first("\xa9ART"), "album": first("\xa9alb"),
           "albumartist": first("aART"), "genre": first("\xa9gen"), "date": first("\xa9day"),
           "bpm": first("tmpo"), "comment": first("\xa9cmt")}
    if tags.get("----:com.apple.iTunes:MOOD"):
        out["mood"] = bytes(tags["----:com.apple.iTunes:MOOD"][0]).decode("utf-8", "replace").strip()
    if tags.get("----:com.apple.iTunes:MusicBrainz Track Id"):
        out["mbid"] = bytes(tags["----:com.apple.iTunes:MusicBrainz Track Id"][0]).decode(
            "ascii", "replace")
    for name in ("----:com.apple.iTunes:FMPS_Rating", "----:com.apple.iTunes:RATING"):
        if tags.get(name):
            rating = rating_from_text(bytes(tags[name][0]).decode("utf-8", "replace"),
                                      fmps=name.endswith("FMPS_Rating"))
            if rating is not None:
                out["rating"] = rating
                return out
    if tags.get("rate"):
        out["rating"] = rating_from_text(str(tags["rate"][0]))
    return out


def _join(values: Iterable[str]) -> str:
    return "; ".join(v.strip() for v in values if v and v.strip())


def _year(text: str) -> int | None:
    match = _YEAR.search(text or "")
    return int(match.group()) if match and int(match.group()) > 0 else None
