"""Reading the listening histories people have: a ListenBrainz export (a JSON array or JSON lines)
and CSV files of ``timestamp,path`` or ``timestamp,artist,title,album`` (the shape of common
Last.fm exports). The form is told from the file itself: its first character, its header or, for
a CSV without one, its number of columns.

Anything unreadable stops the read with a ``HistoryFileError`` naming the file and the line:
nothing is imported from a file half read.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from musicrec_desktop.errors import MusicrecError

LISTENBRAINZ, CSV_PATHS, CSV_NAMES = "listenbrainz", "csv-paths", "csv-names"

# Header names each column goes by in the exports seen in the wild, first choice first.
_TIMESTAMP = ("timestamp", "uts", "listened_at", "time", "date", "utc_time")
_PATH = ("path", "url", "file", "location", "filename")
_ARTIST = ("artist", "artist_name")
_TITLE = ("title", "track", "track_name", "name")
_ALBUM = ("album", "release", "release_name")
_MBID = ("recording_mbid", "track_mbid", "mbid")
# Dates as some Last.fm exporters write them ("31 Jan 2021 14:30"); ISO 8601 is tried first.
_DATE_FORMATS = ("%d %b %Y %H:%M", "%d %b %Y, %H:%M")


class HistoryFileError(MusicrecError):
    """A history file, or one line of it, that cannot be read."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = Path(path), line, reason
        super().__init__(f"{path}" + (f", line {line}" if line else "") + f": {reason}")


@dataclass(frozen=True)
class Listen:
    """One listen as the file tells it; what is not told is ""."""

    at: float  # epoch seconds, when it was played
    where: str  # "line 3" (JSON lines, CSV) or "listen 3" (a JSON array), for the unmatched list
    artist: str = ""
    title: str = ""
    album: str = ""
    mbid: str = ""  # MusicBrainz recording id, lower case
    location: str = ""  # a path or file:// URL

    def describe(self) -> str:
        if self.location:
            return self.location
        return " – ".join(p for p in (self.artist, self.title) if p) + (
            f" ({self.album})" if self.album else "")


def read_history_file(path: Path) -> tuple[str, list[Listen]]:
    """``(form, listens)`` of the file at ``path``; form is one of LISTENBRAINZ, CSV_PATHS,
    CSV_NAMES."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HistoryFileError(path, None, f"not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise HistoryFileError(path, None, exc.strerror or str(exc)) from exc
    start = text.lstrip()[:1]
    if start == "[":
        return LISTENBRAINZ, _listenbrainz_array(path, text)
    if start == "{":
        return LISTENBRAINZ, _listenbrainz_object_or_lines(path, text)
    if not start:
        raise HistoryFileError(path, None, "the file is empty")
    return _csv(path, text)


def _listenbrainz_array(path: Path, text: str) -> list[Listen]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryFileError(path, exc.lineno, f"not JSON ({exc.msg})") from exc
    # A pretty-printed array has no line per listen: each is named by its place instead.
    return [_listenbrainz_item(path, None, item, f"listen {i}") for i, item in enumerate(items, 1)]


def _listenbrainz_object_or_lines(path: Path, text: str) -> list[Listen]:
    """JSON lines, or one object: the API's answer saved as is, ``{"payload": {"listens": []}}``."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return list(_listenbrainz_lines(path, text))
    payload = whole.get("payload") if isinstance(whole, dict) else None
    if isinstance(payload, dict) and isinstance(payload.get("listens"), list):
        return [_listenbrainz_item(path, None, item, f"listen {i}")
                for i, item in enumerate(payload["listens"], 1)]
    return list(_listenbrainz_lines(path, text))


def _listenbrainz_lines(path: Path, text: str) -> Iterator[Listen]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HistoryFileError(path, number, f"not a JSON object ({exc.msg})") from exc
        yield _listenbrainz_item(path, number, item, "")


def _listenbrainz_item(path: Path, line: int | None, item: object, where: str) -> Listen:
    def fail(reason: str) -> HistoryFileError:
        return HistoryFileError(path, line, f"{where}: {reason}" if where else reason)

    if not isinstance(item, dict):
        raise fail("a listen is a JSON object")
    meta = item.get("track_metadata")
    if not isinstance(meta, dict):
        raise fail("no track_metadata")
    at = item.get("listened_at")
    if isinstance(at, str) and at.strip():  # some tools write the time as ISO 8601 text
        at = _timestamp(path, line, at, where)
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise fail(f"listened_at is {at!r}, not epoch seconds")
    info = meta.get("additional_info") if isinstance(meta.get("additional_info"), dict) else {}
    mapping = meta.get("mbid_mapping") if isinstance(meta.get("mbid_mapping"), dict) else {}
    mbid = info.get("recording_mbid") or mapping.get("recording_mbid") or ""
    return Listen(at=float(at), where=where or f"line {line}", artist=_str(meta.get("artist_name")),
                  title=_str(meta.get("track_name")), album=_str(meta.get("release_name")),
                  mbid=_str(mbid).lower())


def _csv(path: Path, text: str) -> tuple[str, list[Listen]]:
    rows = list(csv.reader(text.splitlines()))
    first = [c.strip().casefold() for c in rows[0]]
    if _column(first, _TIMESTAMP) is not None:
        header, body, start = first, rows[1:], 2
    elif len(first) == 2:  # no header: timestamp,path
        header, body, start = ["timestamp", "path"], rows, 1
    elif len(first) == 4:  # no header: timestamp,artist,title,album
        header, body, start = ["timestamp", "artist", "title", "album"], rows, 1
    else:
        raise HistoryFileError(path, 1, "not a history file this app reads: a CSV needs a header "
                                        "with timestamp and path, or timestamp, artist and title "
                                        "(album optional); a ListenBrainz export is JSON")
    at = _column(header, _TIMESTAMP)
    columns = {name: _column(header, names) for name, names in
               (("location", _PATH), ("artist", _ARTIST), ("title", _TITLE), ("album", _ALBUM),
                ("mbid", _MBID))}
    if columns["location"] is not None:
        form = CSV_PATHS
    elif columns["artist"] is not None and columns["title"] is not None:
        form = CSV_NAMES
    else:
        raise HistoryFileError(path, 1, f"the header {','.join(header)} has a timestamp but "
                                        "neither a path nor an artist and a title")
    listens = []
    for number, row in enumerate(body, start):
        if not any(c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise HistoryFileError(path, number, f"{len(row)} columns where the header has "
                                                 f"{len(header)}")
        values = {name: row[i].strip() for name, i in columns.items() if i is not None}
        if form == CSV_PATHS and not values["location"]:
            raise HistoryFileError(path, number, "no path")
        if form == CSV_NAMES and not values["title"]:
            raise HistoryFileError(path, number, "no title")
        values["mbid"] = values.get("mbid", "").lower()
        listens.append(Listen(at=_timestamp(path, number, row[at]), where=f"line {number}",
                              **values))
    return form, listens


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    return next((header.index(n) for n in names if n in header), None)


def _timestamp(path: Path, line: int | None, text: str, where: str = "") -> float:
    """Epoch seconds from epoch seconds or an ISO 8601 date (UTC when it names no zone)."""
    text = text.strip()
    try:
        number = float(text)
        if math.isfinite(number):
            return number
    except ValueError:
        pass
    when = None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                when = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if when is None:
        raise HistoryFileError(path, line, (f"{where}: " if where else "") + f"timestamp {text!r} "
                                           "is neither epoch seconds nor an ISO 8601 date")
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
