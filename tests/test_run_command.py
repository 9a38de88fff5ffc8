"""What ``musicrec run`` prints at its end: where the playlists are and how to open them.

The playlists come from the real library, rating and recommendation stages on real FLAC files
with embeddings in a real store (no encoder is trained: that is the only stage left out).
"""

from __future__ import annotations

import json
import shlex
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from musicrec_desktop.app.player import playlist_files
from musicrec_desktop.commands.run import _print_report
from musicrec_desktop.recommend.study_run import study_path
from tests.app import tiny
from tests.support import player as headless


@pytest.fixture
def finished_run(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    ctx, report = tiny.finished_run(tmp_path)
    return ctx, report, tmp_path / "My playlists"


def test_the_end_of_a_run_names_the_playlist_folder_its_files_and_how_to_open_them(finished_run, capsys):
    ctx, report, folder = finished_run
    _print_report(report, ctx)
    out = capsys.readouterr().out.splitlines()

    files = sorted(p.name for p in folder.glob("*.xspf"))
    # Genre playlists are named in the person's words, not by category id.
    assert {"Discover.xspf", "Genre - Jazz and classical.xspf", "Genre - Latin and world.xspf"} <= set(files)
    assert not any("_" in name for name in files)
    start = out.index(f"Playlists in {folder}:")
    assert sorted(line.strip() for line in out[start + 1:start + 1 + len(files)]) == files
    command = next(line for line in out if line.strip().startswith("strawberry --create"))
    assert shlex.split(command) == ["strawberry", "--create", "Discover", str(folder / "Discover.xspf")]
    assert any("Music > Open file" in line for line in out)
    assert any(line.endswith("musicrec push-playlists") for line in out)
    assert out[-1].startswith("Done in ")  # the summary stays the last line


def test_a_run_without_playlists_says_nothing_about_them(finished_run, capsys):
    ctx, report, folder = finished_run
    for path in folder.iterdir():
        path.unlink()  # the person deleted them; the run's figures still list them
    _print_report(report, ctx)
    assert "Playlists in" not in capsys.readouterr().out


def test_a_run_that_studied_the_listening_prints_the_study_table(finished_run, capsys):
    ctx, report, _ = finished_run
    _print_report(report, ctx)
    assert "study:" not in capsys.readouterr().out  # no listening history, no study

    figure = {"mean": 0.5, "low": 0.25, "high": 0.75}
    names = ("hit_rate", "mrr", "precision", "recall", "ndcg")
    metrics = {f"{m}@{k}": figure for m in names for k in (10, 50)}
    row = {"backend": "musicnn", "recommender": "session_knn", "model_id": "m", "test": metrics,
           "validation": metrics}
    study = {"n_test": 12, "n_validation": 13, "n_ranked": 36, "songs_to_find": 40, "rows": [row],
             "chosen": "session_knn", "in_use": "m", "choose_by": "ndcg@10", "caveats": []}
    study_path(ctx.dirs).write_text(json.dumps(study), encoding="utf-8")
    report.figures["rating"]["study"] = {"chosen": "session_knn", "n_validation": 13, "n_test": 12}
    _print_report(report, ctx)
    out = capsys.readouterr().out
    assert "study: 12 test and 13 validation listening sessions" in out
    assert next(line for line in out.splitlines() if line.startswith("musicnn")).split()[:3] == [
        "musicnn", "session_knn", "0.500±0.250"]


@pytest.mark.skipif(not headless.available("strawberry"), reason="needs strawberry, Xvfb and dbus")
def test_the_printed_command_opens_the_playlist_in_a_real_strawberry(finished_run, capsys, request):
    ctx, report, folder = finished_run
    _print_report(report, ctx)
    command = next(line for line in capsys.readouterr().out.splitlines()
                   if line.strip().startswith("strawberry --create"))
    songs = sorted(p.name for p in playlist_files(folder / "Discover.xspf"))
    # A short HOME: the player's single-instance socket lives under it and must stay under 108 bytes.
    home = Path(tempfile.mkdtemp(prefix="mr-run-"))
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    with headless.HeadlessPlayer("strawberry", home) as player:
        result = player.run_cli(*shlex.split(command)[1:])
        assert result.returncode == 0, result.stderr
        player.wait_until(lambda: 'string "Discover"' in player.call(
            "org.mpris.MediaPlayer2.Playlists", "GetPlaylists", "uint32:0", "uint32:50",
            "string:Alphabetical", "boolean:false"), 20, "strawberry did not create the playlist")
        player.wait_until(lambda: "Saving playlist" in player.log_file.read_text(), 20,
                          "strawberry did not fill the playlist")
        player.quit()  # MPRIS Quit: the player saves its playlists to its database
        rows = player.query("SELECT i.url FROM playlists p JOIN playlist_items i ON i.playlist = p.ROWID "
                            "WHERE p.name = 'Discover'")
    assert songs and sorted(Path(unquote(urlsplit(url).path)).name for (url,) in rows) == songs
