"""Playlist files: XSPF 1.0 and M3U8, written atomically into the playlist folder.

Both writers take ``Recommendation``-like entries (``.song`` and ``.reason``) so the reason a song
was chosen travels with it (XSPF ``annotation``; M3U8 has no field for it).
"""

from __future__ import annotations

import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from musicrec_desktop.files import write_text_atomic
from musicrec_desktop.library.song import Song

XSPF_NS = "http://xspf.org/ns/0/"
MAX_NAME_CHARS = 100
# Everything that some reader takes as the end of a line (Python's str.splitlines breaks on all).
LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


class Entry(Protocol):
    song: Song
    reason: str


def location_uri(song: Song) -> str:
    """A percent-encoded ``file://`` URI for local songs (``#``, ``%``, spaces, unicode encoded);
    the player's own URL for anything else (streams)."""
    return _absolute(song.path).as_uri() if song.path is not None else song.url


def _absolute(path: Path) -> Path:
    """``path`` made absolute without following symlinks: the player's library stores the path it
    scanned (``~/Music`` may be a link to another disk), and only that spelling matches its rows."""
    return Path(os.path.abspath(path))


def xspf_text(title: str, entries: Sequence[Entry], creator: str = "musicrec") -> str:
    """An XSPF 1.0 document. Track children follow the order of the specification's schema."""
    ET.register_namespace("", XSPF_NS)
    q = lambda tag: f"{{{XSPF_NS}}}{tag}"  # noqa: E731 - qualified names, read once below
    playlist = ET.Element(q("playlist"), {"version": "1"})
    ET.SubElement(playlist, q("title")).text = _clean(title)
    ET.SubElement(playlist, q("creator")).text = creator
    ET.SubElement(playlist, q("date")).text = datetime.now(UTC).isoformat(timespec="seconds")
    tracks = ET.SubElement(playlist, q("trackList"))
    for entry in entries:
        song = entry.song
        track = ET.SubElement(tracks, q("track"))
        ET.SubElement(track, q("location")).text = location_uri(song)
        for tag, value in (("title", song.title), ("creator", song.artist),
                           ("annotation", entry.reason), ("album", song.album)):
            if value:
                ET.SubElement(track, q(tag)).text = _clean(value)
        if song.length_s:
            ET.SubElement(track, q("duration")).text = str(round(song.length_s * 1000))
    ET.indent(playlist)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(playlist, encoding="unicode") + "\n"


def m3u8_text(title: str, entries: Sequence[Entry]) -> str:
    """An extended M3U in UTF-8: ``#EXTM3U``, then ``#EXTINF:seconds,Artist - Title`` and the path."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(title)}"]
    for entry in entries:
        song = entry.song
        seconds = round(song.length_s) if song.length_s else -1
        name = " - ".join(p for p in (song.artist, song.title) if p) or song.display_name
        lines.append(f"#EXTINF:{seconds},{_one_line(name)}")
        lines.append(_m3u8_location(song))
    return "\n".join(lines) + "\n"


def _m3u8_location(song: Song) -> str:
    """The song's line: its plain path, or its percent-encoded URI when the path holds a line
    break (a file named ``a\\n#EXTINF:1,evil\\nevil.mp3`` would otherwise write three lines).
    Players read ``file://`` URIs in M3U as well as paths."""
    if song.path is None:
        return LINE_BREAKS.sub(lambda m: quote(m.group()), song.url)
    path = str(_absolute(song.path))
    return location_uri(song) if LINE_BREAKS.search(path) else path


def safe_file_name(name: str) -> str:
    """A file name from a playlist name: no path separators, control or reserved characters."""
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " - ", name)
    name = re.sub(r"\s+", " ", name).strip(" .-")
    return name[:MAX_NAME_CHARS].rstrip(" .") or "playlist"


def write_atomic(path: Path, text: str) -> Path:
    """Writes ``text`` (UTF-8) so that readers see the old file or the whole new one."""
    return write_text_atomic(path, text, mode=0o644)


def write_playlist(out_dir: Path, title: str, entries: Sequence[Entry], fmt: str) -> list[Path]:
    """Writes one playlist as ``fmt`` ("xspf", "m3u8" or "both"); returns the files written."""
    if fmt not in ("xspf", "m3u8", "both"):
        raise ValueError(f"playlist format {fmt!r}: xspf, m3u8 or both")
    stem = safe_file_name(title)
    written = []
    if fmt in ("xspf", "both"):
        written.append(write_atomic(out_dir / f"{stem}.xspf", xspf_text(title, entries)))
    if fmt in ("m3u8", "both"):
        written.append(write_atomic(out_dir / f"{stem}.m3u8", m3u8_text(title, entries)))
    return written


def _one_line(text: str) -> str:
    return LINE_BREAKS.sub(" ", text).strip()


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters; tags sometimes do."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)
