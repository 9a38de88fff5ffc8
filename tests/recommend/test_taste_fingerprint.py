"""The taste fingerprint playlist (issue 18, item 4): the neighbourhood of the most played and best
rated songs, favouring songs not heard lately, refreshed by the recommend stage under a fixed name."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from musicrec_desktop.recommend.playlists import TASTE_FINGERPRINT, taste_fingerprint
from musicrec_desktop.recommend.service import Recommender

from .conftest import DAY, NOW, build_library, replace_songs


def _played_a_lot(lib):
    """Two unrated songs of Artist 5 (a middling style) played 80 times: anchors by plays alone."""
    heavy = [s for s in lib.scan.songs if s.artist == "Artist 5" and s.rating is None][:2]
    replace_songs(lib, {s.key: {"playcount": 80} for s in heavy})
    return heavy


def test_the_fingerprint_is_the_neighbourhood_of_the_most_played_and_best_rated_songs(tmp_path):
    lib = build_library(tmp_path)
    heavy = _played_a_lot(lib)
    songs = Recommender.open(lib.ctx, lib.scan).generated_playlists(12)[TASTE_FINGERPRINT]
    assert len(songs) == 12 and len({r.song.key for r in songs}) == 12
    # each song is near an anchor (named in its reason) of its own style; the anchors are the
    # best rated artists and the much played Artist 5, never a song of the list itself
    anchors = [r.reason.split("near ", 1)[1].split(" (")[0] for r in songs]
    assert all(a.startswith(r.song.artist + " – ") for a, r in zip(anchors, songs, strict=True))
    assert {a.split(" – ")[0] for a in anchors} <= {f"Artist {i}" for i in range(6)}
    assert "Artist 5" in {r.song.artist for r in songs}
    assert not {r.song.key for r in songs} & {s.key for s in heavy}
    assert not {r.song.display_name for r in songs} & set(anchors)
    assert any("(played 80 times)" in r.reason for r in songs)
    assert any("(rated ★★★★" in r.reason for r in songs)
    assert all(r.reason.endswith("last played 400 days ago") for r in songs)


def test_songs_heard_lately_give_way(tmp_path):
    lib = build_library(tmp_path)
    _played_a_lot(lib)
    first = [r.song.key for r in taste_fingerprint(Recommender.open(lib.ctx, lib.scan).ranker, 10)]
    # the top three were heard 20 days ago (recent_days is 14: still allowed)
    replace_songs(lib, {key: {"lastplayed": int(NOW - 20 * DAY)} for key in first[:3]})
    again = taste_fingerprint(Recommender.open(lib.ctx, lib.scan).ranker, 10)
    keys = [r.song.key for r in again]
    assert keys[:3] != first[:3]
    assert all(k not in keys or keys.index(k) > first.index(k) for k in first[:3])


def test_nothing_played_or_rated_gives_no_fingerprint(tmp_path):
    lib = build_library(tmp_path, rated_artists=0)
    replace_songs(lib, {s.key: {"playcount": 0} for s in lib.scan.songs})
    assert taste_fingerprint(Recommender.open(lib.ctx, lib.scan).ranker, 10) == []


def test_the_recommend_stage_writes_it_under_a_fixed_name(tmp_path):
    from tests.app.tiny import finished_run

    ctx, report = finished_run(tmp_path, songs=24)
    written = report.figures["recommend"]["playlists"]
    path = tmp_path / "My playlists" / f"{TASTE_FINGERPRINT}.xspf"
    assert str(path) in written
    root = ET.parse(path).getroot()
    ns = {"x": "http://xspf.org/ns/0/"}
    assert root.find("x:title", ns).text == TASTE_FINGERPRINT
    assert root.findall("x:trackList/x:track", ns)
