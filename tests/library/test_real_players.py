"""Databases made by the real players (headless): what they scanned, our odd rows, a running player."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.library.players import read_player_database
from musicrec_desktop.library.urls import file_url
from tests.library.helpers import ODD_SONGS, change_counter, run_player, sha256
from tests.support.player import HeadlessPlayer

pytestmark = pytest.mark.player


@pytest.mark.parametrize("made", ["strawberry_made", "clementine_made"])
def test_songs_the_real_player_scanned(made, request):
    db = request.getfixturevalue(made)
    before = sha256(db.path)
    scan = read_player_database(db.path)
    assert sha256(db.path) == before
    assert scan.source == db.player
    by_path = {s.path: s for s in scan.songs}
    for path in db.scanned:
        song = by_path[path]
        # Our own URL encoding is the player's: keys from the folder scan match the player's.
        assert song.url == file_url(path) and song.key == song.url
        assert song.available and song.length_s == pytest.approx(1.0, abs=0.05)
        assert song.rating is None and song.playcount == 0 and song.lastplayed is None
    titles = {s.title: s for s in scan.songs}
    assert titles["Straße"].artist == "Björk" and titles["Straße"].genre == "Hip Hop"
    assert titles["Straße"].year == 1999
    assert titles["Number One?"].genre == "Rock/Pop" and titles["Hundred"].genre == "Drum & Bass"
    # The odd rows added in the player's own schema after it made the database.
    assert dict(scan.skipped) == db.odd.expected_skips
    assert titles["odd name"].rating == 1.0 and titles["missing"].available is False
    assert len(scan.songs) == ODD_SONGS + len(db.scanned)


def test_library_command_while_strawberry_runs(strawberry_made, tmp_path, capsys):
    """The real player has the database open; our reads leave its file byte-identical.

    The player itself writes now and then (it re-checks its collection after starting). A round
    of reads in which the player wrote (SQLite's change counter moved) proves nothing and is
    done again; a round in which it did not must leave the file byte-identical.
    """
    def make(attempt: int) -> HeadlessPlayer:
        player = HeadlessPlayer("strawberry", tmp_path / f"home{attempt}")
        player.database.parent.mkdir(parents=True)
        shutil.copy(strawberry_made.path, player.database)
        return player

    def check(player: HeadlessPlayer) -> None:
        player.wait_until(lambda: player.query("SELECT COUNT(*) FROM songs")[0][0] > 0, 20, "open")
        quiet_rounds = 0
        for _ in range(10):
            before, counter = sha256(player.database), change_counter(player.database)
            for _ in range(3):
                assert main(["--data-dir", str(tmp_path / "data"), "library", "--json",
                             "--db", str(player.database)]) == 0
            assert '"songs": ' in capsys.readouterr().out
            if change_counter(player.database) == counter:
                assert sha256(player.database) == before
                quiet_rounds += 1
                if quiet_rounds == 2:
                    break
            time.sleep(0.5)
        assert quiet_rounds == 2 and player.running
        assert sorted(p.name for p in player.database.parent.iterdir()) == ["strawberry.db"]
        # doctor, with the player's HOME and session bus, finds its database and sees it running
        done = subprocess.run([sys.executable, "-m", "musicrec_desktop", "--data-dir",
                               str(tmp_path / "data"), "doctor", "--json"], env=player.env,
                              capture_output=True, text=True, timeout=120)
        players = json.loads(done.stdout)["players"]
        assert players["session_bus"] is True
        assert players["strawberry"] == {"database": str(player.database), "running": True}
        assert players["clementine"] == {"database": None, "running": False}

    run_player(make, check)
