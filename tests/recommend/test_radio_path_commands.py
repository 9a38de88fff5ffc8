"""``musicrec radio --seed A --seed B --seed C`` and ``musicrec path`` end to end: a folder library of
the real recordings (read where they lie), embeddings in a real store, the real recommender."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.cli import main


@pytest.fixture(scope="module")
def real_library(shared_audio, tmp_path_factory) -> tuple[Path, list[Path]]:
    from musicrec_desktop.library.folders import scan_folders
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.recommend.service import train_recommender
    from musicrec_desktop.settings import Settings
    from musicrec_desktop.store.embeddings import EmbeddingStore

    root = tmp_path_factory.mktemp("data")
    dirs = DataDirs.under(root).create()
    settings = Settings(player="folders", music_folders=[str(shared_audio)], recent_days=0, artist_cap=100,
                        output_dir=str(root / "out"), playlist_format="both")
    settings.save(dirs.settings_file)
    songs = sorted(scan_folders(settings.music_folders).songs, key=lambda s: s.key)
    assert len(songs) >= 15
    vectors = np.random.default_rng(1).normal(size=(len(songs), 16)).astype(np.float32)
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model("test-model", 16)
        store.put("test-model", [(s.key, v / np.linalg.norm(v)) for s, v in zip(songs, vectors, strict=True)])
        store.set_current("test-model")
    train_recommender(settings, dirs, scan_folders(settings.music_folders))  # as the rating stage does
    return root, [s.path for s in songs]


def test_radio_from_three_songs_as_json(real_library, capsys):
    data, music = real_library
    seeds = [str(music[0]), music[5].as_uri(), str(music[9])]
    args = ["--data-dir", str(data), "radio", "--n", "10", "--json"]
    assert main([*args, *(a for s in seeds for a in ("--seed", s))]) == 0
    out = json.loads(capsys.readouterr().out)
    paths = [Path(s["path"]) for s in out["songs"]]
    assert len(paths) == 10 and len(set(paths)) == 10
    assert not set(paths) & {music[0], music[5], music[9]}
    assert out["seeds"] == [music[0].as_uri(), music[5].as_uri(), music[9].as_uri()]
    assert all(s["reason"].startswith("radio from 3 songs, like ") for s in out["songs"])


def test_path_command_writes_the_playlist_and_ends_at_the_target(real_library, capsys):
    data, music = real_library
    assert main(["--data-dir", str(data), "path", "--from", str(music[2]), "--to", str(music[11]),
                 "--steps", "6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    paths = [Path(s["path"]) for s in out["songs"]]
    assert len(paths) == 6 and paths[-1] == music[11] and len(set(paths)) == 6
    assert Path(out["start"]["path"]) == music[2] and music[2] not in paths
    assert len(out["hops"]) == 6 and isinstance(out["smooth"], bool)
    xspf = next(Path(f) for f in out["files"] if f.endswith(".xspf"))
    assert any(f.endswith(".m3u8") for f in out["files"])
    ns = {"x": "http://xspf.org/ns/0/"}
    locations = [e.text for e in ET.parse(xspf).getroot().findall("x:trackList/x:track/x:location", ns)]
    assert locations == [music[2].as_uri(), *(p.as_uri() for p in paths)]
    assert out["playlist"] == ET.parse(xspf).getroot().find("x:title", ns).text
