"""XSPF 1.0 validity (a structural check of the specification's rules) and round trips of odd names."""

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.service import Recommendation, write_playlists
from musicrec_desktop.recommend.writers import XSPF_NS, m3u8_text, safe_file_name, xspf_text
from musicrec_desktop.settings import Settings

NS = {"x": XSPF_NS}
TRACK_ORDER = ["location", "identifier", "title", "creator", "annotation", "info", "image", "album",
               "trackNum", "duration", "link", "meta", "extension"]
PLAYLIST_ORDER = ["title", "creator", "annotation", "info", "location", "identifier", "image", "date",
                  "license", "attribution", "link", "meta", "extension", "trackList"]
ODD_NAMES = ["Sigur Rós – Hoppípolla.flac", "with space #1 100% live.mp3", "日本語の歌.ogg",
             "a%20b.flac", "semi;colon & 'quote'.opus"]


def validate_xspf(text: str) -> ET.Element:
    """Checks the XSPF 1.0 rules the players rely on; returns the root."""
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{{{XSPF_NS}}}playlist" and root.get("version") == "1"
    children = [c.tag.split("}")[1] for c in root]
    assert children.count("trackList") == 1
    assert children == sorted(children, key=PLAYLIST_ORDER.index), children
    for tag in ("title", "creator", "date"):
        assert children.count(tag) <= 1
    for track in root.find("x:trackList", NS):
        assert track.tag == f"{{{XSPF_NS}}}track"
        tags = [c.tag.split("}")[1] for c in track]
        assert tags == sorted(tags, key=TRACK_ORDER.index), tags
        repeatable = ("location", "identifier", "link", "meta")
        assert all(tags.count(t) <= 1 for t in TRACK_ORDER if t not in repeatable)
        for location in track.findall("x:location", NS):
            uri = location.text
            assert urlsplit(uri).scheme and " " not in uri and all(ord(c) < 128 for c in uri)
        duration = track.find("x:duration", NS)
        if duration is not None:
            assert duration.text.isdigit()  # xs:nonNegativeInteger, milliseconds
    return root


def entries(folder: Path) -> list[Recommendation]:
    out = []
    for i, name in enumerate(ODD_NAMES):
        path = folder / "Müsic #dir" / name
        song = Song(key=path.as_uri(), url=path.as_uri(), path=path, title=f"Title {i} <&>",
                    artist="Ärtist & Co", album="Album %1", length_s=61.5 + i)
        out.append(Recommendation(song, 0.9 - i / 10, 0.8, f"because you rated X {'★' * 5}"))
    return out


def test_xspf_is_valid_and_round_trips_odd_names(tmp_path):
    songs = entries(tmp_path)
    root = validate_xspf(xspf_text("Discover", songs))
    tracks = root.findall("x:trackList/x:track", NS)
    assert len(tracks) == len(ODD_NAMES)
    for track, entry in zip(tracks, songs, strict=True):
        uri = track.find("x:location", NS).text
        assert uri.startswith("file:///") and "#" not in uri and " " not in uri
        assert Path(unquote(urlsplit(uri).path)) == entry.song.path
        assert track.find("x:title", NS).text == entry.song.title
        assert track.find("x:creator", NS).text == "Ärtist & Co"
        assert track.find("x:album", NS).text == "Album %1"
        assert track.find("x:annotation", NS).text == entry.reason
        assert track.find("x:duration", NS).text == str(round(entry.song.length_s * 1000))
    assert "%2520" in xspf_text("x", songs)  # a literal %20 in a file name is encoded, not kept


def test_m3u8_round_trips_odd_names(tmp_path):
    songs = entries(tmp_path)
    lines = m3u8_text("Discover", songs).splitlines()
    assert lines[0] == "#EXTM3U"
    paths = [line for line in lines if not line.startswith("#")]
    assert [Path(p) for p in paths] == [e.song.path for e in songs]
    extinf = [line for line in lines if line.startswith("#EXTINF:")]
    assert extinf[0] == "#EXTINF:62,Ärtist & Co - Title 0 <&>"


def test_write_playlists_atomically_with_safe_names(tmp_path):
    out = tmp_path / "out"
    settings = Settings(playlist_format="both")
    lists = {"Genre: rock/metal": entries(tmp_path), "Discover": entries(tmp_path)}
    names = sorted(p.name for p in write_playlists(settings, lists, out))
    assert names == ["Discover.m3u8", "Discover.xspf",
                     "Genre - rock - metal.m3u8", "Genre - rock - metal.xspf"]
    assert sorted(p.name for p in out.iterdir()) == names  # no temporary files left behind
    validate_xspf((out / "Discover.xspf").read_text(encoding="utf-8"))


def test_output_folder_setting_expands_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    files = write_playlists(Settings(output_dir="~/Music/recommendations"), {"Discover": entries(tmp_path)})
    assert files == [tmp_path / "Music" / "recommendations" / "Discover.xspf"]


@pytest.mark.parametrize(("name", "safe"), [
    ("Genre: rock", "Genre - rock"), ("../../etc/passwd", "etc - passwd"), ("", "playlist"),
    ("Ünïcode ★ list", "Ünïcode ★ list"), ("a\x00b\nc", "a - b - c"), ("x" * 300, "x" * 100),
])
def test_safe_file_names(name, safe):
    assert safe_file_name(name) == safe
