"""``musicrec build-cache`` and ``musicrec cache-stats`` end to end."""

from __future__ import annotations

import json

from cache_audio_gen import write

from musicrec_desktop.cli import main


def test_build_cache_on_a_folder_then_stats(tmp_path, capsys):
    music = tmp_path / "music"
    music.mkdir()
    write(music / "one.flac", 40.0, 22050)
    write(music / "two.wav", 70.0, 22050)
    (music / "bad.mp3").write_text("not audio")
    data = str(tmp_path / "data")
    assert main(["--data-dir", data, "config", "set", "cache_format", "npy"]) == 0
    capsys.readouterr()
    assert main(["--data-dir", data, "build-cache", "--folder", str(music), "--workers", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cached"] == 2 and report["songs"] == 2
    assert main(["--data-dir", data, "build-cache", "--folder", str(music), "--workers", "0"]) == 0
    assert "cached 0, up to date 2" in capsys.readouterr().out
    assert main(["--data-dir", data, "cache-stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["songs"] == 2 and stats["chunks"] == 3 and stats["formats"] == {"npy": 2}
    assert stats["bytes"] == report["total_bytes"] and stats["oldest"] <= stats["newest"]
    assert main(["--data-dir", data, "cache-stats"]) == 0
    assert "chunks:         3" in capsys.readouterr().out


def test_cache_stats_before_any_build_says_what_to_do(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "cache-stats"]) == 3
    assert "build-cache" in capsys.readouterr().err
