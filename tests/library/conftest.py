"""Player databases for the library tests, each built once per session and copied per test."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.library.helpers import OddRows, add_odd_rows, make_music, schema_database
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


@pytest.fixture(scope="session")
def _strawberry_made(tmp_path_factory) -> PlayerDb:
    if not available("strawberry"):
        pytest.skip("strawberry, Xvfb or dbus-daemon not installed")
    root = tmp_path_factory.mktemp("strawberry-made")
    files = make_music(root / "music")
    player = HeadlessPlayer("strawberry", root / "home")
    player.add_collection_folder(root / "music")
    with player:
        player.wait_until(lambda: player.query("SELECT COUNT(*) FROM songs")[0][0] >= len(files),
                          60, "Strawberry did not scan its collection folder")
        player.quit()
    odd = add_odd_rows(player.database, "strawberry", root / "odd")
    return PlayerDb("strawberry", player.database, odd, files)


@pytest.fixture(scope="session")
def _clementine_made(tmp_path_factory) -> PlayerDb:
    if not available("clementine"):
        pytest.skip("clementine, Xvfb or dbus-daemon not installed")
    root = tmp_path_factory.mktemp("clementine-made")
    files = make_music(root / "music")
    player = HeadlessPlayer("clementine", root / "home")
    with player:  # the first start creates the database
        player.quit()
    # Clementine, too, scans the folders of its ``directories`` table when it starts.
    with contextlib.closing(sqlite3.connect(player.database)) as db, db:
        db.execute("INSERT INTO directories (path, subdirs) VALUES (?, 0)", (str(root / "music"),))
    with HeadlessPlayer("clementine", root / "home") as again:
        again.wait_until(lambda: again.query("SELECT COUNT(*) FROM songs")[0][0] >= len(files),
                         60, "Clementine did not scan its library folder")
        again.quit()
    odd = add_odd_rows(player.database, "clementine", root / "odd")
    return PlayerDb("clementine", player.database, odd, files)


@pytest.fixture
def strawberry_made(_strawberry_made, tmp_path) -> PlayerDb:
    """A database the real Strawberry created and filled by scanning real audio, plus odd rows."""
    return _copy(_strawberry_made, tmp_path / "db")


@pytest.fixture
def clementine_made(_clementine_made, tmp_path) -> PlayerDb:
    """A database the real Clementine created and filled by scanning real audio, plus odd rows."""
    return _copy(_clementine_made, tmp_path / "db")
