"""Every command that reads the library leaves the player's database byte-identical.

The odd database lies where the player keeps it (in a private HOME), so the commands find it the
way they find a person's: through the ``auto`` player setting, and doctor through its search.
On a fresh data folder the later stages stop cleanly (nothing is trained yet); they have read the
library by then, and the database must be untouched all the same.
"""

from __future__ import annotations

import shutil

import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.errors import EXIT_ERROR, EXIT_NOT_READY, EXIT_OK
from musicrec_desktop.library.players import default_databases
from tests.library.helpers import ODD_SONGS, sha256

READING_COMMANDS = [
    (("library", "--json"), EXIT_OK),
    (("build-cache", "--workers", "0", "--json"), EXIT_OK),
    (("cache-stats", "--json"), EXIT_NOT_READY),
    (("doctor", "--json"), None),  # 0 or 1, by what this machine offers
    (("embed", "--device", "cpu"), EXIT_OK),  # a pretrained encoder reads the song files: no cache needed
    (("train-encoder", "--quick", "--device", "cpu"), EXIT_NOT_READY),
    (("train-classifier",), EXIT_NOT_READY),
    (("recommend",), EXIT_NOT_READY),
    (("playlists",), EXIT_NOT_READY),
    (("evaluate",), EXIT_NOT_READY),
    (("run", "--update", "--device", "cpu"), EXIT_NOT_READY),
]


@pytest.fixture
def installed_db(odd_db, tmp_path, monkeypatch):
    """The odd database at the player's default place in a private HOME."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    target = default_databases(home)[odd_db.player][0]
    target.parent.mkdir(parents=True)
    shutil.copy2(odd_db.path, target)
    return target


@pytest.mark.parametrize("argv, exit_code", READING_COMMANDS, ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else None)
def test_the_player_database_is_untouched_by(argv, exit_code, installed_db, tmp_path, capsys):
    before, stat_before = sha256(installed_db), installed_db.stat()
    code = main(["--data-dir", str(tmp_path / "data"), *argv])
    err = capsys.readouterr().err
    assert code == exit_code if exit_code is not None else code in (EXIT_OK, EXIT_ERROR), err
    assert "Traceback" not in err
    assert sha256(installed_db) == before
    assert installed_db.stat().st_mtime_ns == stat_before.st_mtime_ns
    # No journal, -wal or -shm beside it, not even an empty one.
    assert sorted(p.name for p in installed_db.parent.iterdir()) == [installed_db.name]


def test_doctor_finds_the_installed_database(installed_db, tmp_path, capsys):
    main(["--data-dir", str(tmp_path / "data"), "doctor"])
    player = installed_db.stem  # strawberry.db, clementine.db
    assert f"\n{player:<11} {installed_db}\n" in capsys.readouterr().out


def test_build_cache_honours_the_global_db_option(odd_db, tmp_path, capsys):
    before = sha256(odd_db.path)
    code = main(["--data-dir", str(tmp_path / "data"), "--db", str(odd_db.path), "build-cache",
                 "--workers", "0"])
    out = capsys.readouterr().out
    assert code == EXIT_OK and sha256(odd_db.path) == before
    # Every local song of the odd rows was looked at (each is one second: too short for a chunk).
    assert out.startswith(f"cached 0, up to date 0, skipped {ODD_SONGS - 1}, removed 0 in ")
    assert sorted(p.name for p in odd_db.path.parent.iterdir()) == [odd_db.path.name]
