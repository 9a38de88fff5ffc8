"""``musicrec build-cache``, ``train-encoder`` and ``embed`` on real FLAC files through the real cache."""

from __future__ import annotations

import hashlib
import json

import mutagen.flac
import pytest
import soundfile

from musicrec_desktop.cli import main
from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.demo.styles import render_song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore


@pytest.fixture
def music(tmp_path):
    """Eight 12-second songs of two styles, tagged with their genre."""
    folder = tmp_path / "music"
    folder.mkdir()
    for style, genre in (("electronic", "Techno"), ("jazz_classical", "Jazz")):
        for i in range(4):
            path = folder / f"{style}-{i}.flac"
            soundfile.write(path, render_song(style, i, 12.0, SAMPLE_RATE).T, SAMPLE_RATE)
            tags = mutagen.flac.FLAC(path)
            tags["genre"], tags["title"] = genre, f"{style} {i}"
            tags.save()
    return folder


def checksums(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_train_and_embed_commands_on_a_music_folder(tmp_path, music, capsys):
    data = tmp_path / "data"
    dirs = DataDirs.under(data).create()
    # One worker process: the loaders' worker path (pickled datasets, persistent workers) runs too.
    settings = Settings(player="folders", music_folders=[str(music)], num_workers=1, batch_size=4)
    settings.save(dirs.settings_file)
    before = checksums(music)
    assert main(["--data-dir", str(data), "build-cache"]) == 0
    capsys.readouterr()
    trained = run_json(capsys, "--data-dir", str(data), "train-encoder", "--quick", "--epochs", "2",
                       "--device", "cpu", "--json")
    assert trained["epochs_run"] == 2 and trained["step"] >= 2
    assert trained["songs_trained"] + trained["songs_heldout"] == 8
    assert trained["model_id"].startswith("resnet18-")
    # the trained encoder's vectors by name: with encoder = auto, embed fills auto's choice
    embedded = run_json(capsys, "--data-dir", str(data), "embed", "--backend", "moco", "--device", "cpu",
                        "--json")
    assert (embedded["embedded"], embedded["dim"], embedded["model_id"]) == (8, 512, trained["model_id"])
    with EmbeddingStore(dirs.embeddings_db) as store:
        assert store.current_model() == trained["model_id"]
        assert len(store.keys(trained["model_id"])) == 8
    again = run_json(capsys, "--data-dir", str(data), "embed", "--backend", "moco", "--json")
    assert (again["embedded"], again["up_to_date"]) == (0, 8)
    # A finished run resumed with the same number of epochs has nothing left to do.
    resumed = run_json(capsys, "--data-dir", str(data), "train-encoder", "--resume", "--json")
    assert (resumed["epochs_run"], resumed["model_id"]) == (0, trained["model_id"])
    assert checksums(music) == before  # the music files are only read


def test_resume_without_checkpoint_fails_with_a_message(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "train-encoder", "--resume"]) == 1
    assert "no encoder checkpoint" in capsys.readouterr().err
