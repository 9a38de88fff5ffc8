"""``musicrec demo``: writes the library where asked and says how to use it."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest

from musicrec_desktop.cli import main


def test_demo_command_writes_library(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["--data-dir", str(tmp_path / "data"), "demo", "--out", str(out), "--songs", "7",
            "--length", "2", "3", "--workers", "1"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["songs"] == 7 and report["written"] == 7
    assert report["database"] == str(out / "strawberry.db")
    with contextlib.closing(sqlite3.connect(report["database"])) as db:
        assert db.execute("SELECT count(*) FROM songs").fetchone() == (7,)
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "0 written now" in text and "musicrec config set database_path" in text


def test_demo_command_refuses_bad_length(tmp_path):
    with pytest.raises(SystemExit, match="--length"):
        main(["--data-dir", str(tmp_path), "demo", "--length", "5", "1"])
    assert not (tmp_path / "state" / "demo").exists()
