"""``musicrec library`` and ``musicrec doctor`` through the real command line entry."""

from __future__ import annotations

import json
import platform
import sys

import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.errors import EXIT_LOCKED
from musicrec_desktop.paths import DataDirs
from tests.library.helpers import ODD_SONGS, sha256
from tests.library.test_snapshot import hold_lock


def run_json(capsys, *argv):
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else None), out.err


def test_library_json(odd_db, tmp_path, capsys):
    before = sha256(odd_db.path)
    code, data, _ = run_json(capsys, "--data-dir", str(tmp_path / "d"), "library", "--json",
                             "--db", str(odd_db.path))
    assert code == 0 and sha256(odd_db.path) == before
    assert data["source"] == odd_db.player and data["songs"] == ODD_SONGS
    assert data["local_files_present"] == ODD_SONGS - 1 and data["rated_songs"] == 8
    assert data["rating_histogram_stars"] == {"0": 1, "0.5": 0, "1": 0, "1.5": 0, "2": 1, "2.5": 0,
                                              "3": 2, "3.5": 1, "4": 1, "4.5": 0, "5": 2}
    cats = data["songs_per_genre_category"]
    assert cats["hiphop"] == 4 and cats["electronic"] == 2 and cats["jazz_classical"] == 1
    assert cats["rock"] == 1 and cats["pop"] == 1 and cats["country"] == 0
    assert data["top_unmapped_genres"] == {"Shoegaze": 1}
    assert data["skipped_rows"] == odd_db.odd.expected_skips
    assert data["notes"] == {"file missing": 1, "rating out of range": 3, "rating not a number": 1,
                             "marked unavailable by the player": 1,
                             "marked unavailable by the player, file present": 1}


def test_library_text(odd_db, tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "d"), "library", "--db", str(odd_db.path)]) == 0
    out = capsys.readouterr().out
    assert f"\n  songs                {ODD_SONGS}\n" in out
    assert "\n       1  not a local file (http)\n" in out and "\n       1  Shoegaze\n" in out
    assert "\n       2  duplicate row\n" in out and "\n       1  marked unavailable by the player\n" in out
    # Categories in the person's words, not their ids.
    assert "\n  Hip-hop and RnB      4\n" in out and "\n  Jazz and classical   1\n" in out
    assert "jazz_classical" not in out and "hiphop" not in out


def test_library_exit_codes(odd_db, tmp_path, capsys):
    data = ["--data-dir", str(tmp_path / "d")]
    assert main([*data, "library", "--db", str(tmp_path / "none.db")]) == 1
    assert "none.db: no such database file" in capsys.readouterr().err
    holder = hold_lock(odd_db.path, "BEGIN EXCLUSIVE", 60)
    try:
        assert main([*data, "library", "--wait", "0.3", "--db", str(odd_db.path)]) == EXIT_LOCKED
        assert "locked" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(SystemExit) as usage:
        main([*data, "library", "--player", "winamp"])
    assert usage.value.code == 2


def test_doctor_json(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code, data, _ = run_json(capsys, "--data-dir", str(tmp_path / "d"), "doctor", "--json")
    assert code == (1 if data["problems"] else 0)
    assert data["python"]["version"].startswith("3.")
    assert data["torch"]["version"]
    assert "FLAC" in data["audio"]["soundfile"]["formats"]
    assert data["data"]["state"] == str((tmp_path / "d" / "state").resolve())
    assert data["data"]["state_free_gb"] > 0
    assert data["players"]["session_bus"] is False
    assert data["players"]["strawberry"] == {"database": None, "running": None}
    assert data["similarity_index"] is None


def test_doctor_reports_the_saved_similarity_index(tmp_path, capsys, monkeypatch):
    import numpy as np

    from musicrec_desktop.recommend.service import index_path
    from musicrec_desktop.store.similarity import SimilarityIndex

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    vectors = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    path = index_path(DataDirs.under(tmp_path / "d"))
    path.parent.mkdir(parents=True, exist_ok=True)
    SimilarityIndex.build("m1", [f"song{i}" for i in range(300)], vectors, kind="exact").save(path)
    _, data, _ = run_json(capsys, "--data-dir", str(tmp_path / "d"), "doctor", "--json")
    index = data["similarity_index"]
    assert (index["kind"], index["songs"], index["dim"]) == ("exact", 300, 16)
    assert index["memory_bytes"] >= 300 * 16 * 4 and index["recall_at_10"] == 1.0
    main(["--data-dir", str(tmp_path / "d"), "doctor"])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("index       "))
    assert line.startswith("index       exact, 300 songs x 16, ") and "recall@10 1.000" in line


def test_doctor_text(tmp_path, capsys, monkeypatch):
    import soundfile
    import torch

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code = main(["--data-dir", str(tmp_path / "d"), "doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Python      {platform.python_version()} ({sys.executable})"
    assert lines[1].startswith(f"torch       {torch.__version__} (CUDA build: ")
    assert any(line.startswith(f"soundfile   libsndfile {soundfile.__libsndfile_version__}: ")
               and "FLAC" in line for line in lines)
    assert "D-Bus       no session bus: cannot see running players" in lines
    assert "strawberry  no database found" in lines and "clementine  no database found" in lines
    state = (tmp_path / "d" / "state").resolve()
    assert any(line.startswith(f"data        state {state} (") for line in lines)
    assert "index       not built yet (musicrec run)" in lines
    problems = [line for line in lines if line.startswith("PROBLEM     ")]
    assert lines[-1] == ("not ready" if problems else "ready")
    assert code == (1 if problems else 0)
