"""XSPF 1.0 validity (the specification's rules, checked structurally: lxml and its schema
validation are not dependencies) and round trips of odd file names."""

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.service import Recommendation, write_playlists
from musicrec_desktop.recommend.writers import XSPF_NS, location_uri, m3u8_text, safe_file_name, xspf_text
from musicrec_desktop.settings import Settings

NS = {"x": XSPF_NS}
# the xsd:sequence of the specification's schema (xspf-1_0.2.xsd), in order
TRACK_ORDER = ["location", "identifier", "title", "creator", "annotation", "info", "image", "album",
               "trackNum", "duration", "link", "meta", "extension"]
PLAYLIST_ORDER = ["title", "creator", "annotation", "info", "location", "identifier", "image", "date",
                  "license", "attribution", "link", "meta", "extension", "trackList"]
REPEATABLE = {"location", "identifier", "link", "meta", "extension"}
URI_ELEMENTS = {"location", "identifier", "info", "image", "license"}
# RFC 3986 characters; anything else (spaces, unicode, a bare "%") must be percent-encoded
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
ODD_NAMES = ["Sigur Rós – Hoppípolla.flac", "with space #1 100% live.mp3", "日本語の歌.ogg",
             "a%20b.flac", "semi;colon & 'quote'.opus"]


def _children(element: ET.Element, order: list[str]) -> list[str]:
    """The local names of ``element``'s children, checked: XSPF namespace, known, in schema order,
    at most once unless repeatable."""
    names = []
    for child in element:
        namespace, _, name = child.tag[1:].partition("}")
        assert namespace == XSPF_NS, f"{child.tag}: not in the XSPF namespace"
        assert name in order, f"<{name}> is not an XSPF child of <{element.tag.split('}')[1]}>"
        names.append(name)
    assert names == sorted(names, key=order.index), f"out of schema order: {names}"
    assert all(names.count(n) == 1 for n in names if n not in REPEATABLE), names
    return names


def _check_uri(element: ET.Element) -> None:
    uri = element.text or ""
    assert URI.fullmatch(uri), f"<{element.tag.split('}')[1]}> {uri!r}: not an absolute, encoded URI"
    parts = urlsplit(uri)
    if parts.scheme == "file":
        assert parts.netloc in ("", "localhost") and parts.path.startswith("/"), uri
        assert not parts.fragment and not parts.query, f"{uri}: '#' or '?' in a file name left unencoded"


def validate_xspf(text: str) -> ET.Element:
    """Checks a document against the XSPF 1.0 rules; returns the root."""
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{{{XSPF_NS}}}playlist", root.tag
    assert root.get("version") == "1" and set(root.attrib) <= {"version"}, root.attrib
    names = _children(root, PLAYLIST_ORDER)
    assert names.count("trackList") == 1
    for child in root:
        name = child.tag.split("}")[1]
        if name in URI_ELEMENTS:
            _check_uri(child)
        if name == "date":
            assert datetime.fromisoformat(child.text).tzinfo is not None, child.text  # xs:dateTime
    for track in root.find("x:trackList", NS):
        assert track.tag == f"{{{XSPF_NS}}}track"
        _children(track, TRACK_ORDER)
        for child in track:
            name = child.tag.split("}")[1]
            assert name == "extension" or len(child) == 0, f"<{name}> holds elements"
            if name in URI_ELEMENTS:
                _check_uri(child)
            if name == "duration":
                assert re.fullmatch(r"\d+", child.text), child.text  # xs:nonNegativeInteger, ms
            if name == "trackNum":
                assert re.fullmatch(r"[1-9]\d*", child.text), child.text  # xs:positiveInteger
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


@pytest.mark.parametrize(("broken", "needle"), [
    ('version="1"', 'version="0"'),
    (XSPF_NS, "http://xspf.org/ns/1/"),
    ("<duration>61500</duration>", "<duration>61.5</duration>"),
    ("<duration>61500</duration>", "<duration>-1</duration>"),
    ("file:///", "/"),  # a path, not a URI
    ("%20", " "),  # unencoded space
])
def test_the_validator_rejects_broken_xspf(tmp_path, broken, needle):
    text = xspf_text("Discover", entries(tmp_path)[:2])
    assert broken in text
    with pytest.raises(AssertionError):
        validate_xspf(text.replace(broken, needle, 1))


def test_the_validator_rejects_out_of_order_and_unencoded_hash(tmp_path):
    text = xspf_text("Discover", entries(tmp_path)[:1])
    title = re.search(r"\s*<title>Title 0.*?</title>", text).group(0)
    with pytest.raises(AssertionError, match="schema order"):
        validate_xspf(text.replace(title, "").replace("<track>", "<track>" + title, 1))
    with pytest.raises(AssertionError, match="'#'"):
        validate_xspf(text.replace("%23", "#", 1))


def test_symlinked_music_folder_keeps_the_path_the_player_knows(tmp_path, monkeypatch):
    real = tmp_path / "disk" / "music"
    real.mkdir(parents=True)
    (tmp_path / "Music").symlink_to(real)
    path = tmp_path / "Music" / "Artist" / "a song #1.flac"  # as the player scanned it
    song = Song(key=path.as_uri(), url=path.as_uri(), path=path, title="A", artist="B", length_s=3.0)
    entry = Recommendation(song, 1.0, 0.9, "because")
    uri = location_uri(song)
    assert uri == path.as_uri() and "/Music/Artist/a%20song%20%231.flac" in uri and "disk" not in uri
    assert m3u8_text("x", [entry]).splitlines()[-1] == str(path)
    # a relative path is made absolute against the working folder, still without following links
    monkeypatch.chdir(tmp_path)
    relative = Song(key="k", url="k", path=Path("Music/Artist/x.flac"))
    assert location_uri(relative) == (tmp_path / "Music" / "Artist" / "x.flac").as_uri()


def test_m3u8_round_trips_odd_names(tmp_path):
    songs = entries(tmp_path)
    lines = m3u8_text("Discover", songs).splitlines()
    assert lines[0] == "#EXTM3U"
    paths = [line for line in lines if not line.startswith("#")]
    assert [Path(p) for p in paths] == [e.song.path for e in songs]
    extinf = [line for line in lines if line.startswith("#EXTINF:")]
    assert extinf[0] == "#EXTINF:62,Ärtist & Co - Title 0 <&>"


def test_m3u8_cannot_be_injected_through_file_names(tmp_path):
    # A real file whose name holds line breaks: written as a path, it would add playlist lines.
    folder = tmp_path / "Music"
    folder.mkdir()
    names = ["inj\n#EXTINF:1,evil\nevil-line.mp3", "cr\r#EXTM3U.mp3", "sep\u2028x.mp3", "plain.mp3"]
    songs = []
    for name in names:
        path = folder / name
        path.write_bytes(b"ID3")
        songs.append(Recommendation(Song(key=path.as_uri(), url=path.as_uri(), path=path,
                                         title="t\n#EXTINF:2,evil", artist="a"), 1.0, 0.9, "r"))
    stream = Song(key="s", url="http://radio.example/a\n#EXTINF:3,evil\nhttp://evil", path=None)
    songs.append(Recommendation(stream, 1.0, 0.9, "r"))
    out = tmp_path / "out"
    written = write_playlists(Settings(playlist_format="m3u8"), {"Discover": songs}, out)
    lines = written[0].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 + 2 * len(songs)  # #EXTM3U, #PLAYLIST, then two lines a song
    assert [line.startswith("#EXTINF:-1,a - t #EXTINF:2,evil") for line in lines[2:-2:2]] == [True] * 4
    locations = lines[3::2]
    assert [Path(unquote(urlsplit(loc).path)) for loc in locations[:3]] == [s.song.path for s in songs[:3]]
    assert all(loc.startswith("file:///") for loc in locations[:3])
    assert locations[3] == str(folder / "plain.mp3")  # ordinary names stay plain paths
    assert locations[4] == "http://radio.example/a%0A#EXTINF:3,evil%0Ahttp://evil"


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
