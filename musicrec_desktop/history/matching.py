"""Which library song a listen was: by MusicBrainz id, then by artist and title (the album
deciding between songs that share both), then by title against the file name of songs without a
title tag. A listen that names a file is matched by that file alone."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable

from musicrec_desktop.history.exports import Listen
from musicrec_desktop.history.names import normalise_name
from musicrec_desktop.library.song import Song
from musicrec_desktop.library.urls import local_path

# "01 - Title", "01. Title", "1 Title": the track number a file name often starts with.
_TRACK_NUMBER = re.compile(r"^\s*\d{1,3}\s*[-._)]?\s+")


# How a listen was matched, in the report's words.
BY_FILE, BY_MBID, BY_NAME, BY_FILE_NAME = "file", "MusicBrainz id", "artist and title", "file name"


class SongMatcher:
    """``SongMatcher(songs).match(listen) -> (song, how) | None``; how is one of BY_*."""

    def __init__(self, songs: Iterable[Song]) -> None:
        self.by_mbid: dict[str, Song] = {}
        self.by_path: dict[str, Song] = {}
        self.by_name: dict[tuple[str, str], list[Song]] = defaultdict(list)
        self.by_file_name: dict[str, list[Song]] = defaultdict(list)
        for song in songs:
            if song.mbid:
                self.by_mbid.setdefault(song.mbid, song)
            if song.path is not None:
                self.by_path.setdefault(os.path.normpath(song.path), song)
            title = normalise_name(song.title)
            if title:
                for artist in {normalise_name(song.artist), normalise_name(song.albumartist)}:
                    if artist:
                        self.by_name[(artist, title)].append(song)
            elif song.path is not None:
                self.by_file_name[_file_name(song.path.stem)].append(song)

    @property
    def knows_mbids(self) -> bool:
        return bool(self.by_mbid)

    def match(self, listen: Listen) -> tuple[Song, str] | None:
        if listen.location:
            path = local_path(listen.location)
            song = self.by_path.get(os.path.normpath(path)) if path is not None else None
            return (song, BY_FILE) if song else None
        if listen.mbid in self.by_mbid:
            return self.by_mbid[listen.mbid], BY_MBID
        artist, title = normalise_name(listen.artist), normalise_name(listen.title)
        if not title:
            return None
        found = self.by_name.get((artist, title))
        if found:
            return _by_album(found, listen.album), BY_NAME
        for name in (title, f"{artist} {title}"):  # "Title.flac", "Artist - Title.flac"
            if name in self.by_file_name:
                return self.by_file_name[name][0], BY_FILE_NAME
        return None


def _by_album(songs: list[Song], album: str) -> Song:
    """Of songs with the listen's artist and title, the one on its album; else the first."""
    wanted = normalise_name(album)
    return next((s for s in songs if wanted and normalise_name(s.album) == wanted), songs[0])


def _file_name(stem: str) -> str:
    return normalise_name(_TRACK_NUMBER.sub("", stem))
