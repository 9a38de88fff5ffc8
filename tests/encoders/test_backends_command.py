"""``musicrec backends [--measure] [--json]`` on a real music folder: two albums in two folders,
embedded by the dsp and musicnn backends through ``musicrec embed --backend``."""

from __future__ import annotations

import json

import mutagen.flac
import pytest
import soundfile

from musicrec_desktop.cli import main
from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.demo.styles import render_song
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.musicnn import package
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def data(tmp_path):
    """24 6-second songs: an electronic album and a jazz album of 12 each, each in its own folder
    (12 songs an album, so that all 10 nearest songs can be from the same album)."""
    music = tmp_path / "music"
    for style, album in (("electronic", "Pulses"), ("jazz_classical", "Brushes")):
        (music / album).mkdir(parents=True)
        for i in range(12):
            path = music / album / f"{i}.flac"
            soundfile.write(path, render_song(style, i, 6.0, SAMPLE_RATE).T, SAMPLE_RATE)
            tags = mutagen.flac.FLAC(path)
            tags["album"], tags["artist"], tags["title"] = album, f"{album} band", str(i)
            tags.save()
    data = tmp_path / "data"
    dirs = DataDirs.under(data).create()
    settings = Settings(player="folders", music_folders=[str(music)], num_workers=0, device="cpu")
    settings.save(dirs.settings_file)
    assert main(["--data-dir", str(data), "build-cache"]) == 0
    return str(data)


def test_backends_lists_every_backend_with_what_was_measured(data, capsys):
    capsys.readouterr()
    before = run_json(capsys, "--data-dir", data, "backends", "--json")
    rows = {r["name"]: r for r in before["backends"]}
    assert set(rows) == {"moco", "musicnn", "dsp", "mfcc", "mert"}
    assert rows["mert"]["available"] is False and "off" in rows["mert"]["why_not"]
    assert rows["moco"]["available"] is False and "musicrec train-encoder" in rows["moco"]["why_not"]
    assert rows["dsp"]["available"] is True and rows["dsp"]["disk_bytes"] == 0
    assert all(r["songs"] == 0 and r["same_album"] is None for r in rows.values())
    assert before["chance"]["same_album"] == pytest.approx(11 / 23)

    backends = ["dsp"]
    try:
        package.checkpoint_prefix()
        backends.append("musicnn")
        assert rows["musicnn"]["disk_bytes"] > 9_000_000  # the checkpoint files it reads
    except NotReadyError:
        assert rows["musicnn"]["available"] is False
    for name in backends:
        embedded = run_json(capsys, "--data-dir", data, "embed", "--backend", name, "--json")
        assert (embedded["backend"], embedded["embedded"]) == (name, 24)
    after = run_json(capsys, "--data-dir", data, "backends", "--measure", "--json")
    rows = {r["name"]: r for r in after["backends"]}
    for name in backends:
        row = rows[name]
        assert row["songs"] == 24 and row["measured_songs"] == 24
        assert row["songs_per_s"] > 0
        assert row["dimension"] == {"dsp": 23, "musicnn": 200}[name]
        # two clearly different styles: most nearest songs are from the same album and folder
        assert row["same_album"] > before["chance"]["same_album"] + 0.1, row  # clearly above chance
        assert row["same_album"] == row["same_folder"] == row["same_artist"]
        assert row["rating_pearson"] is None  # nothing rated
    # album decides (nothing is rated); a tie goes to the one listed first (musicnn, then dsp)
    best = max(sorted(backends, key=["musicnn", "dsp"].index), key=lambda n: rows[n]["same_album"])
    assert after["auto"] == best and after["encoder"] == "auto"
    assert main(["--data-dir", data, "backends"]) == 0
    text = capsys.readouterr().out
    assert "folder P@10" in text and f"encoder = auto: auto uses {best}, the best measured" in text
