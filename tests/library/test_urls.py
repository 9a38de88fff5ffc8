"""Locations: the players' percent-encoded URLs and local paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from musicrec_desktop.library.urls import file_url, local_path, url_scheme


@pytest.mark.parametrize("name", ["plain.flac", "with space.mp3", "Ünïcödé straße.flac", "#1 hit?.ogg",
                                  "100% & more.ogg", "a%20b.flac", "日本語.m4a", "semi;colon=eq+plus.wav"])
def test_round_trip(name):
    path = Path("/music") / "Sub dir ü" / name
    url = file_url(path)
    assert url.startswith("file:///music/Sub%20dir%20%C3%BC/")
    assert " " not in url and "#" not in url and "?" not in url
    assert local_path(url) == path


def test_encoding_matches_what_the_players_store():
    # Seen in a database written by Strawberry 1.0.14 (and Clementine 1.4, as a BLOB).
    url = "file:///tmp/lib2exp/music/a%20b%231%3F%25&%C3%BC.flac"
    assert file_url(Path("/tmp/lib2exp/music/a b#1?%&ü.flac")) == url
    assert local_path(url) == Path("/tmp/lib2exp/music/a b#1?%&ü.flac")


def test_names_that_are_not_utf8_survive():
    url = "file:///music/caf%E9.flac"  # Latin-1 byte, as an old file system would have it
    assert os.fsencode(local_path(url)) == b"/music/caf\xe9.flac"


@pytest.mark.parametrize("url, path", [
    ("file://localhost/a/b.flac", "/a/b.flac"), ("/plain/path.mp3", "/plain/path.mp3"),
    ("FILE:///x.flac", "/x.flac"), ("file:///raw #1?.flac", "/raw #1?.flac"),
    ("http://host/a.mp3", None), ("cdda://sr0/1", None), ("smb://nas/a.flac", None),
    ("file://nas/share/a.flac", None), ("tidal:/track/1", None), ("relative/a.mp3", None), ("", None),
])
def test_local_path(url, path):
    assert local_path(url) == (Path(path) if path else None)


def test_scheme():
    urls = ("HTTP://a", "/x:y", "spotify:track:1", "c:")
    assert [url_scheme(u) for u in urls] == ["http", "", "spotify", "c"]
