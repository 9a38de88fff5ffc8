"""``musicrec history import`` and ``musicrec history`` through the real command line, over a real
Strawberry database (the player's real schema) of real audio files, with real export files."""

from __future__ import annotations

import contextlib
import csv
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.store.history import HistoryStore, ListeningEvent
from tests.library.helpers import insert_song, schema_database, sha256, write_song

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC
MIN = 60
ROADS_MBID = "9f7bd6ba-3c3c-4b25-a8ff-1f5e1a1b2c3d"


@pytest.fixture
def library(tmp_path) -> dict[str, Path]:
    """Five real FLAC files in a Strawberry 1.0.14 database: two "Get Lucky" on two albums, and
    one song whose title tag is empty (the player shows its file name)."""
    music = tmp_path / "music"
    files = {
        "hyper": write_song(music / "Björk" / "Hyper-Ballad.flac", "Hyper-Ballad", "Björk"),
        "lucky_album": write_song(music / "Daft Punk" / "RAM" / "Get Lucky.flac", "Get Lucky", "Daft Punk"),
        "lucky_single": write_song(music / "Daft Punk" / "Single" / "Get Lucky.flac", "Get Lucky",
                                   "Daft Punk"),
        "untitled": write_song(music / "Aphex Twin" / "03 - Windowlicker.flac"),
        "roads": write_song(music / "Portishead" / "Roads #1.flac", "Roads", "Portishead"),
    }
    db = schema_database("strawberry", tmp_path / "strawberry.db")
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        rows = {"hyper": ("Hyper-Ballad", "Björk", "Post"),
                "lucky_album": ("Get Lucky", "Daft Punk", "Random Access Memories"),
                "lucky_single": ("Get Lucky", "Daft Punk", "Get Lucky (Single)"),
                "untitled": ("", "", ""),
                "roads": ("Roads", "Portishead", "Dummy")}
        for name, (title, artist, album) in rows.items():
            insert_song(conn, "strawberry", file_url(files[name]), title=title, artist=artist,
                        album=album)
    return {"db": db, "data": tmp_path / "data", **files}


def with_mbids(db: Path, mbids: dict[str, str]) -> None:
    """The column a Strawberry newer than the 1.0.14 installed here keeps MusicBrainz ids in
    (its schema has musicbrainz_recording_id among ten musicbrainz_* columns)."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("ALTER TABLE songs ADD COLUMN musicbrainz_recording_id TEXT")
        for path, mbid in mbids.items():
            conn.execute("UPDATE songs SET musicbrainz_recording_id = ? WHERE url = ?",
                         (mbid, file_url(Path(path))))


def musicrec(capsys, lib, *argv) -> tuple[int, dict | None, str]:
    capsys.readouterr()
    code = main(["--data-dir", str(lib["data"]), "--db", str(lib["db"]), *argv])
    out = capsys.readouterr()
    data = json.loads(out.out) if "--json" in argv and out.out.strip() else None
    return code, data, out.out + out.err


def listenbrainz(at: int, artist: str, title: str, album: str = "", mbid: str = "") -> dict:
    """One listen as ListenBrainz exports it."""
    meta = {"artist_name": artist, "track_name": title, "additional_info": {
        "recording_mbid": mbid, "submission_client": "Strawberry", "duration_ms": 180000}}
    if album:
        meta["release_name"] = album
    return {"listened_at": at, "recording_msid": "00000000-0000-0000-0000-000000000000",
            "track_metadata": meta, "user_name": "someone"}


# Minutes after T0: 0, 4, 8 | 130, 160 (exactly 30: the same session) | 191 (31: a new one).
LISTENS = [
    listenbrainz(T0, "Bjork", "Hyper Ballad", "Post"),  # accents and punctuation differ
    listenbrainz(T0 + 4 * MIN, "Daft Punk feat. Pharrell Williams", "Get Lucky (feat. Pharrell)",
                 "Get Lucky (Single)"),  # the album decides between the two
    listenbrainz(T0 + 8 * MIN, "Aphex Twin", "Windowlicker"),  # the file name of an untitled song
    listenbrainz(T0 + 60 * MIN, "Nobody", "Not In The Library", "Nowhere"),
    listenbrainz(T0 + 130 * MIN, "Portishead", "Roads (Live)", "Roseland", ROADS_MBID.upper()),
    listenbrainz(T0 + 160 * MIN, "DAFT PUNK", "get lucky"),  # no album: the first of the two
    listenbrainz(T0 + 191 * MIN, "Björk", "Hyper-Ballad"),
]


def write_jsonl(path: Path, listens: list[dict]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in listens), encoding="utf-8")
    return path


def test_listenbrainz_jsonl_matches_by_name_and_file_name(library, tmp_path, capsys):
    export = write_jsonl(tmp_path / "listens.jsonl", LISTENS)
    before = sha256(library["db"])
    code, report, _ = musicrec(capsys, library, "history", "import", str(export), "--json")
    assert code == 0 and sha256(library["db"]) == before  # the player's database is only read
    assert report["form"] == "listenbrainz" and report["listens"] == 7
    # Without MusicBrainz ids in the library "Roads (Live)" is not "Roads".
    assert report["matched"] == 5 and report["added"] == 5 and report["unmatched_count"] == 2
    assert report["matched_by"] == {"artist and title": 4, "file name": 1}
    assert [(u["where"], u["listen"]) for u in report["unmatched"]] == [
        ("line 4", "Nobody – Not In The Library (Nowhere)"),
        ("line 5", "Portishead – Roads (Live) (Roseland)")]
    assert report["notes"] == ["the library has no MusicBrainz ids; listens were matched by "
                               "artist and title instead"]
    with HistoryStore(DataDirs.under(library["data"]).history_db) as history:
        stored = [(e.song_url, e.at, e.kind) for e in history.events()]
    assert stored == [(file_url(library["hyper"]), T0, "finish"),
                      (file_url(library["lucky_single"]), T0 + 4 * MIN, "finish"),
                      (file_url(library["untitled"]), T0 + 8 * MIN, "finish"),
                      (file_url(library["lucky_album"]), T0 + 160 * MIN, "finish"),
                      (file_url(library["hyper"]), T0 + 191 * MIN, "finish")]

    # The same file again adds nothing.
    code, again, _ = musicrec(capsys, library, "history", "import", str(export), "--json")
    assert code == 0 and again["matched"] == 5 and again["added"] == 0
    assert again["already_there"] == 5


def test_listenbrainz_json_array_matches_by_mbid_where_the_library_has_them(library, tmp_path, capsys):
    with_mbids(library["db"], {library["roads"]: ROADS_MBID})
    export = tmp_path / "listens.json"
    export.write_text(json.dumps(LISTENS, indent=2), encoding="utf-8")
    code, report, _ = musicrec(capsys, library, "history", "import", str(export), "--json")
    assert code == 0 and report["matched"] == 6 and report["added"] == 6
    assert report["matched_by"] == {"artist and title": 4, "file name": 1, "MusicBrainz id": 1}
    assert report["unmatched"] == [{"where": "listen 4", "at": T0 + 60 * MIN,
                                    "listen": "Nobody – Not In The Library (Nowhere)"}]
    assert report["notes"] == []

    code, summary, _ = musicrec(capsys, library, "history", "--json")
    assert code == 0
    assert summary["listens"] == 6 and summary["matched"] == 6 and summary["imported"] == 6
    # Gaps of 4, 4, 122, 30 and 31 minutes: new sessions after the 122 and the 31.
    assert summary["sessions"] == 3
    assert summary["first"] == "2023-11-14T22:13:20+00:00"
    assert summary["last"] == "2023-11-15T01:24:20+00:00"
    assert summary["span_days"] == 0.1


def test_listenbrainz_api_answer_saved_as_a_file(library, tmp_path, capsys):
    export = tmp_path / "listens.json"
    export.write_text(json.dumps({"payload": {"count": 3, "user_id": "someone",
                                              "listens": LISTENS[:3]}}), encoding="utf-8")
    code, report, _ = musicrec(capsys, library, "history", "import", str(export), "--json")
    assert code == 0 and report["listens"] == 3 and report["added"] == 3


def test_csv_of_paths(library, tmp_path, capsys):
    export = tmp_path / "plays.csv"
    with export.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["timestamp", "path"])
        writer.writerow([T0, str(library["hyper"])])  # a plain path
        writer.writerow(["2023-11-14T22:20:00Z", file_url(library["roads"])])  # "#" as %23
        writer.writerow(["2023-11-14T23:00:00+01:00", file_url(library["untitled"])])
        writer.writerow([T0 + 900, str(tmp_path / "elsewhere" / "song.flac")])
        writer.writerow([T0 + 960, "http://radio.example/stream.mp3"])
    code, report, _ = musicrec(capsys, library, "history", "import", str(export), "--json")
    assert code == 0 and report["form"] == "csv-paths"
    assert report["listens"] == 5 and report["matched"] == 3 and report["matched_by"] == {"file": 3}
    assert [u["where"] for u in report["unmatched"]] == ["line 5", "line 6"]
    with HistoryStore(DataDirs.under(library["data"]).history_db) as history:
        times = [e.at for e in history.events()]
    # 23:00 at +01:00 is 22:00 UTC, before T0 (22:13:20).
    assert times == [datetime(2023, 11, 14, 22, 0, tzinfo=UTC).timestamp(), T0,
                     datetime(2023, 11, 14, 22, 20, tzinfo=UTC).timestamp()]


def test_csv_of_names_as_lastfm_exports_them(library, tmp_path, capsys):
    export = tmp_path / "scrobbles.csv"
    export.write_text(
        "timestamp,artist,title,album\n"
        f"{T0},Björk,Hyper-Ballad,Post\n"
        "2023-11-14 22:30:00,Daft Punk,Get Lucky,Random Access Memories\n"  # ISO, no zone: UTC
        "2023-11-14T22:35:00Z,Someone Else,Get Lucky,\n", encoding="utf-8")
    code, report, _ = musicrec(capsys, library, "history", "import", str(export), "--json")
    assert code == 0 and report["form"] == "csv-names"
    assert report["matched"] == 2 and report["unmatched_count"] == 1
    assert report["unmatched"][0]["where"] == "line 4"

    # The columns of a lastfm export (uts, track, track_mbid), the same two listens and one more:
    # only the new one is added.
    lastfm = tmp_path / "lastfm.csv"
    lastfm.write_text(
        "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n"
        f'{T0},"14 Nov 2023, 22:13",Björk,,Post,,Hyper-Ballad,\n'
        f'{T0 + 1000},"14 Nov 2023, 22:30",Daft Punk,,Random Access Memories,,Get Lucky,\n'
        f'{T0 + 5000},"14 Nov 2023, 23:36",Portishead,,Dummy,,Roads,\n', encoding="utf-8")
    code, second, _ = musicrec(capsys, library, "history", "import", str(lastfm), "--json")
    assert code == 0 and second["form"] == "csv-names"
    assert second["matched"] == 3 and second["added"] == 1 and second["already_there"] == 2


@pytest.mark.parametrize(("text", "message"), [
    ("timestamp,artist,title,album\n1700000000,A,B,C\nyesterday,A,B,C\n",
     ", line 3: timestamp 'yesterday' is neither epoch seconds nor an ISO 8601 date"),
    ("timestamp,path\n1700000000\n", ", line 2: 1 columns where the header has 2"),
    ("when,who,what\n1,2,3\n", ", line 1: not a history file this app reads"),
    ('{"listened_at": 1700000000, "track_metadata": {"track_name": "B"}}\n{"listened_at": \n',
     ", line 2: not a JSON object"),
    ('{"listened_at": null, "track_metadata": {"track_name": "B"}}\n',
     ", line 1: listened_at is None, not epoch seconds"),
    ('[{"listened_at": 1700000000}]', ": listen 1: no track_metadata"),
    ('[{"listened_at": "2023-11-14T22:13:20Z", "track_metadata": {}}, '
     '{"listened_at": "soon", "track_metadata": {}}]',
     ": listen 2: timestamp 'soon' is neither epoch seconds nor an ISO 8601 date"),
    ("timestamp,path\nnan,/music/a.flac\n",
     ", line 2: timestamp 'nan' is neither epoch seconds nor an ISO 8601 date"),
])
def test_an_unreadable_file_is_named_with_its_line_and_nothing_is_imported(
        library, tmp_path, capsys, text, message):
    export = tmp_path / "bad.txt"
    export.write_text(text, encoding="utf-8")
    code, _, out = musicrec(capsys, library, "history", "import", str(export))
    assert code == 1
    assert f"musicrec: {export}{message}" in out
    assert not DataDirs.under(library["data"]).history_db.exists()


def test_history_text_and_the_companion_beside_imported_listens(library, tmp_path, capsys):
    dirs = DataDirs.under(library["data"])
    export = write_jsonl(tmp_path / "listens.jsonl", LISTENS[:3])
    code, _, out = musicrec(capsys, library, "history", "import", str(export))
    assert code == 0
    assert "  listens       3\n" in out and "  added         3 (0 already in the history)\n" in out
    # The companion records a play of a song outside the library, a day later, at the same
    # moment twice (start, then a skip): both kept, as before.
    url = "file:///elsewhere/radio%20song.flac"
    with HistoryStore(dirs.history_db) as history:
        history.record(ListeningEvent(url, None, "start", T0 + 86400, player="strawberry"))
        history.record(ListeningEvent(url, None, "skip", T0 + 86400, 12.0, "strawberry"))
        assert len(history.events()) == 5
    code, _, out = musicrec(capsys, library, "history")
    assert code == 0
    assert "  listens    4 (3 imported, 1 skipped)\n" in out
    assert "  matched    3 (songs in your library)\n" in out
    assert "  sessions   2 (a gap over 30 minutes starts a new one)\n" in out
    assert "  span       2023-11-14T22:13:20+00:00 to 2023-11-15T22:13:20+00:00 (1 days)\n" in out


def test_music_folders_give_the_mbids_picard_tags(tmp_path, capsys):
    """Recording ids where MusicBrainz Picard writes them: a Vorbis comment, an ID3 UFID frame
    and an MP4 freeform atom; listens named otherwise are matched by them alone."""
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3, UFID
    from mutagen.mp4 import MP4, MP4FreeForm

    music = tmp_path / "music"
    ids = {ext: f"{n:08d}-1111-4222-8333-444455556666" for n, ext in enumerate(("flac", "mp3", "m4a"))}
    flac = write_song(music / "a.flac", "A", "Band")
    tags = FLAC(flac)
    tags["musicbrainz_trackid"] = ids["flac"]
    tags.save()
    mp3 = write_song(music / "b.mp3", "B", "Band")
    id3 = ID3(mp3)
    id3.add(UFID(owner="http://musicbrainz.org", data=ids["mp3"].encode()))
    id3.save(mp3)
    m4a = write_song(music / "c.m4a", "C", "Band")
    mp4 = MP4(m4a)
    mp4["----:com.apple.iTunes:MusicBrainz Track Id"] = [MP4FreeForm(ids["m4a"].encode())]
    mp4.save()
    export = write_jsonl(tmp_path / "listens.jsonl", [
        listenbrainz(T0 + i * MIN, "Someone", f"Renamed {i}", mbid=mbid.upper())
        for i, mbid in enumerate(ids.values())])
    data = ["--data-dir", str(tmp_path / "data")]
    assert main([*data, "config", "set", "player", "folders"]) == 0
    assert main([*data, "config", "set", "music_folders", str(music)]) == 0
    capsys.readouterr()
    assert main([*data, "history", "import", str(export), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["matched"] == 3 and report["matched_by"] == {"MusicBrainz id": 3}
    assert report["notes"] == []
