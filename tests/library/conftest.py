"""Player databases for the library tests, each built once per session and copied per test."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.library.helpers import OddRows, add_odd_rows, make_music, run_player, schema_database
from tests.support.player import HeadlessPlayer, available


@dataclass
class PlayerDb:
    player: str
    path: Path  # a private copy for the test
    odd: OddRows
    scanned: list[Path]  # files the real player scanned itself (empty for schema-built ones)


def _copy(made: PlayerDb, folder: Path) -> PlayerDb:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / made.path.name
    shutil.copy2(made.path, target)
    return PlayerDb(made.player, target, made.odd, made.scanned)


@pytest.fixture(scope="session")
def _schema_dbs(tmp_path_factory) -> dict[str, PlayerDb]:
    root = tmp_path_factory.mktemp("schema-dbs")
    music = root / "music"
    make_music(music)
    made = {}
    for player in ("strawberry", "clementine"):
        path = schema_database(player, root / player / f"{player}.db")
        made[player] = PlayerDb(player, path, add_odd_rows(path, player, music / player), [])
    return made


@pytest.fixture(params=["strawberry", "clementine"])
def odd_db(request, _schema_dbs, tmp_path) -> PlayerDb:
    """A database in the player's real schema (resources/schemas) holding every odd row."""
    return _copy(_schema_dbs[request.param], tmp_path / "db")


def scanned_by(name: str, root: Path, folder: Path, expected: int) -> Path:
    """The database of the real player ``name`` after it scanned ``folder`` on start."""

    def make(attempt: int) -> HeadlessPlayer:
        home = root / f"home{attempt}"
        if name == "strawberry":
            player = HeadlessPlayer(name, home)
            player.add_collection_folder(folder)
            return player
        # The first start creates Clementine's database; Clementine, too, scans the folders of
        # its ``directories`` table when it starts.
        first = run_player(lambda _: HeadlessPlayer(name, home), lambda p: (p.quit(), p.database)[1])
        with contextlib.closing(sqlite3.connect(first)) as db, db:
            db.execute("INSERT INTO directories (path, subdirs) VALUES (?, 0)", (str(folder),))
        return HeadlessPlayer(name, home)

    def scan(player: HeadlessPlayer) -> Path:
        player.wait_until(lambda: player.query("SELECT COUNT(*) FROM songs")[0][0] >= expected,
                          60, f"{name} did not scan {folder}")
        player.quit()
        return player.database

    return run_player(make, scan)


def _made_by(name: str, tmp_path_factory) -> PlayerDb:
    if not available(name):
        pytest.skip(f"{name}, Xvfb or dbus-daemon not installed")
    root = tmp_path_factory.mktemp(f"{name}-made")
    files = make_music(root / "music")
    database = scanned_by(name, root, root / "music", len(files))
    return PlayerDb(name, database, add_odd_rows(database, name, root / "odd"), files)


@pytest.fixture(scope="session")
def _strawberry_made(tmp_path_factory) -> PlayerDb:
    return _made_by("strawberry", tmp_path_factory)


@pytest.fixture(scope="session")
def _clementine_made(tmp_path_factory) -> PlayerDb:
    return _made_by("clementine", tmp_path_factory)


@pytest.fixture
def strawberry_made(_strawberry_made, tmp_path) -> PlayerDb:
    """A database the real Strawberry created and filled by scanning real audio, plus odd rows."""
    return _copy(_strawberry_made, tmp_path / "db")


@pytest.fixture
def clementine_made(_clementine_made, tmp_path) -> PlayerDb:
    """A database the real Clementine created and filled by scanning real audio, plus odd rows."""
    return _copy(_clementine_made, tmp_path / "db")
