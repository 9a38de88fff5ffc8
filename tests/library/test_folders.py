"""The folder library: real files of every supported format, tags and ratings read by mutagen."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from mutagen.flac import FLAC
from mutagen.id3 import COMM, ID3, TBPM, TMOO
from mutagen.mp4 import MP4, MP4FreeForm

from musicrec_desktop.errors import LibraryError
from musicrec_desktop.library.folders import (
    NOT_A_FILE,
    rating_from_popm,
    rating_from_text,
    scan_folders,
)
from musicrec_desktop.library.genres import GenreMapper
from musicrec_desktop.library.players import read_player_database
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.settings import Settings
from tests.library.helpers import run_player, sha256, write_song
from tests.support.player import HeadlessPlayer, available


@pytest.fixture
def music(tmp_path) -> Path:
    root = tmp_path / "Music"
    write_song(root / "a" / "one.mp3", "One", "Ann", "Hip-Hop", "2001", ("popm", 196))
    write_song(root / "a" / "two.flac", "Two", "Bob", "Jazz/Blues", "1999-05-01", ("fmps", "1"))
    write_song(root / "b" / "three.ogg", "Three", "Cé", "Électronique; House", "", ("rating", "60"))
    write_song(root / "b" / "four.opus", "Four", "Dee", "Country", "2020", ("fmps", "0.3"))
    write_song(root / "c" / "five #5?.wav", "Five", "Eve", "Reggae", "", ("fmps", "0.5"))
    write_song(root / "c" / "six.flac", "", "", "", "")
    (root / "c" / "broken.mp3").write_bytes(b"\x00not audio at all" * 64)
    (root / "c" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    if shutil.which("ffmpeg"):
        write_song(root / "d" / "seven.m4a", "Seven", "Fay", "Latin", "2018", ("fmps", "0.8"))
    return root


def test_every_format_with_tags_and_ratings(music):
    checksums = {p: sha256(p) for p in music.rglob("*") if p.is_file()}
    scan = scan_folders([music])
    assert {p: sha256(p) for p in checksums} == checksums  # never written
    songs = {s.path.name: s for s in scan.songs}
    expected = {"one.mp3", "two.flac", "three.ogg", "four.opus", "five #5?.wav", "six.flac"}
    if shutil.which("ffmpeg"):
        expected.add("seven.m4a")
    assert set(songs) == expected
    assert scan.skipped == {"unreadable audio file (mp3)": 1}
    one = songs["one.mp3"]
    assert (one.title, one.artist, one.genre, one.year, one.rating) == ("One", "Ann", "Hip-Hop", 2001, 0.8)
    assert songs["two.flac"].rating == 1.0 and songs["two.flac"].year == 1999
    assert songs["two.flac"].genre == "Jazz/Blues"
    assert songs["three.ogg"].rating == pytest.approx(0.6) and songs["three.ogg"].artist == "Cé"
    assert songs["four.opus"].rating == pytest.approx(0.3) and songs["four.opus"].year == 2020
    assert songs["five #5?.wav"].rating == 0.5 and songs["five #5?.wav"].title == "Five"
    six = songs["six.flac"]
    assert (six.title, six.genre, six.rating, six.year) == ("", "", None, None)
    if shutil.which("ffmpeg"):
        assert songs["seven.m4a"].rating == pytest.approx(0.8) and songs["seven.m4a"].genre == "Latin"
    for song in scan.songs:
        assert song.available and song.length_s == pytest.approx(1.0, abs=0.1)
        assert song.key == song.url == file_url(song.path)
    assert scan.source == "folders" and len(scan.local_songs) == len(scan.songs)


def test_missing_folders(music, tmp_path):
    scan = scan_folders([music, tmp_path / "nowhere"])
    assert scan.skipped["music folder missing"] == 1 and len(scan.songs) >= 6
    with pytest.raises(LibraryError, match="does not exist"):
        scan_folders([tmp_path / "nowhere"])
    with pytest.raises(LibraryError, match="no music folders"):
        scan_folders([])


@pytest.mark.parametrize("popm, rating", [(0, None), (1, 0.2), (13, 0.2), (54, 0.2), (64, 0.4),
                                          (118, 0.4), (128, 0.6), (186, 0.6), (196, 0.8),
                                          (242, 0.8), (252, 1.0), (255, 1.0)])
def test_popm_steps(popm, rating):
    assert rating_from_popm(popm) == rating


@pytest.mark.parametrize("text, fmps, rating", [
    ("1", True, 1.0), ("0.6", True, 0.6), ("0,4", True, 0.4), ("3", True, None),
    ("0.6", False, 0.6), ("3", False, 0.6), ("80", False, 0.8), ("0", False, 0.0),
    ("500", False, None), ("-1", False, None), ("x", False, None),
])
def test_rating_texts(text, fmps, rating):
    assert rating_from_text(text, fmps=fmps) == (pytest.approx(rating) if rating is not None else None)


def test_shared_recordings(shared_audio):
    scan = scan_folders([shared_audio])
    assert len(scan.songs) == 17 and not scan.skipped
    by_name = {s.path.name: s for s in scan.songs}
    vibe = by_name["Kevin_MacLeod_-_Vibe_Ace.ogg"]
    assert (vibe.artist, vibe.genre) == ("Kevin MacLeod", "Jazz")
    assert all(s.length_s and s.length_s > 10 for s in scan.songs)


def test_shared_recordings_genres(shared_audio):
    scan = scan_folders([shared_audio])
    labels = GenreMapper.from_settings(Settings()).labels(scan.songs)
    by_name = {s.path.name: labels.get(s.key) for s in scan.songs}
    assert by_name["Confession_-_Quesabe.mp3"] == ["hiphop"]  # tagged "rnb"
    assert by_name["Guayeteo_-_JhoyKing.mp3"] == ["latin_world"]  # "reggaeton, latin"
    assert by_name["Karissa_Hobbs_-_Lets_Go_Fishin.ogg"] == ["country"]  # "Folk"
    assert by_name["Kevin_MacLeod_-_Vibe_Ace.ogg"] == ["jazz_classical"]
    assert by_name["admiralbob77_-_Choice_-_Drum-bass.ogg"] is None  # no genre tag: unlabelled


@pytest.mark.player
def test_real_strawberry_scans_the_shared_recordings_to_the_same_keys(shared_audio, tmp_path):
    """Keys from our folder scan equal the URLs Strawberry stores (non-ASCII names included)."""
    if not available("strawberry"):
        pytest.skip("strawberry, Xvfb or dbus-daemon not installed")
    ours = scan_folders([shared_audio])

    def make(attempt: int) -> HeadlessPlayer:
        player = HeadlessPlayer("strawberry", tmp_path / f"home{attempt}")
        player.add_collection_folder(shared_audio)
        return player

    def scan(player: HeadlessPlayer) -> Path:
        player.wait_until(lambda: player.query("SELECT COUNT(*) FROM songs")[0][0] >= len(ours.songs),
                          60, "Strawberry did not scan ../shared/audio")
        player.quit()
        return player.database

    checksums = {s.path: sha256(s.path) for s in ours.songs}
    theirs = read_player_database(run_player(make, scan))
    assert {s.key for s in theirs.songs} == {s.key for s in ours.songs}
    mine = ours.by_key()
    for song in theirs.songs:
        assert (song.title, song.artist, song.genre) == (mine[song.key].title, mine[song.key].artist,
                                                         mine[song.key].genre.replace("; ", ";"))
        assert song.length_s == pytest.approx(mine[song.key].length_s, abs=0.1)
    assert {p: sha256(p) for p in checksums} == checksums


def test_a_fifo_named_like_a_song_is_skipped_with_a_reason_not_waited_on(tmp_path):
    """A named pipe with no writer blocks whoever opens it; `library` and `build-cache` (real
    processes, so that a hang fails the test instead of stopping it) skip it and say why."""
    music = tmp_path / "Music"
    write_song(music / "one.flac", "One", "Ann", "Rock", "2001", ("fmps", "1"))
    os.mkfifo(music / "pipe.mp3")
    (music / "link to pipe.flac").symlink_to(music / "pipe.mp3")
    data = tmp_path / "data"
    base = [sys.executable, "-m", "musicrec_desktop", "--data-dir", str(data), "--player", "folders"]
    subprocess.run([*base, "config", "set", "music_folders", str(music)], check=True, timeout=60)
    shown = subprocess.run([*base, "library", "--json"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["skipped_rows"] == {NOT_A_FILE: 2}
    assert "pipe.mp3: skipped: a named pipe (FIFO), not an audio file" in shown.stderr
    built = subprocess.run([*base, "build-cache", "--workers", "0"], capture_output=True, text=True,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    # the build goes on, and its summary counts what the library left out (a 1 s song is too short)
    assert built.stdout.startswith("cached 0, up to date 0, skipped 3,"), built.stdout
    assert f"  skipped 2: {NOT_A_FILE}\n" in built.stdout and "  skipped 1: too_short\n" in built.stdout
    assert stat.S_ISFIFO(os.lstat(music / "pipe.mp3").st_mode)  # left as it was


def test_tempo_mood_and_comment_tags(tmp_path):
    mp3 = write_song(tmp_path / "m" / "a.mp3", "A")
    tags = ID3(mp3)
    tags.add(TBPM(encoding=3, text=["128"]))
    tags.add(TMOO(encoding=3, text=["Calm"]))
    tags.add(COMM(encoding=3, lang="eng", desc="iTunNORM", text=[" 00000A2B 00000B3C"]))  # not it
    tags.add(COMM(encoding=3, lang="eng", desc="", text=["recorded live"]))
    tags.save(mp3)
    flac = FLAC(write_song(tmp_path / "m" / "b.flac", "B"))
    flac["bpm"], flac["mood"], flac["comment"] = "95.5", "Dreamy", "a demo"
    flac.save()
    write_song(tmp_path / "m" / "c.ogg", "C")
    expected = {"A": (128.0, "Calm", "recorded live"), "B": (95.5, "Dreamy", "a demo"), "C": (None, "", "")}
    if shutil.which("ffmpeg"):
        m4a = MP4(write_song(tmp_path / "m" / "d.m4a", "D"))
        m4a["tmpo"], m4a["\xa9cmt"] = [150], ["for a rainy evening"]
        m4a["----:com.apple.iTunes:MOOD"] = [MP4FreeForm(b"Sad")]
        m4a.save()
        expected["D"] = (150.0, "Sad", "for a rainy evening")
    songs = scan_folders([tmp_path / "m"]).songs
    assert {s.title: (s.bpm, s.mood, s.comment) for s in songs} == expected
