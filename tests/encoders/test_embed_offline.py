"""``musicrec embed --backend musicnn`` (and dsp) with no network at all: run in a new network
namespace (``unshare -rn``: only a loopback device, down), as a real musicrec process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import soundfile

from musicrec_desktop.cli import main
from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.demo.styles import render_song
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.musicnn import package
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore

OFFLINE = ["unshare", "--map-root-user", "--net"]
PROBE = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"


def offline(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*OFFLINE, *argv], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def no_network() -> None:
    if shutil.which("unshare") is None:
        pytest.skip("no unshare here")
    try:
        probe = offline(sys.executable, "-c", PROBE, timeout=30)
    except OSError as exc:
        pytest.skip(f"unshare cannot run: {exc}")
    if "Operation not permitted" in probe.stderr and "unshare" in probe.stderr:
        pytest.skip(f"user namespaces are not allowed here: {probe.stderr.strip()}")
    # the sandbox is real: inside it, a connection fails because no network is reachable
    assert probe.returncode != 0 and "Network is unreachable" in probe.stderr, probe.stderr


@pytest.mark.parametrize("backend", ["musicnn", "dsp"])
def test_embed_backend_without_network(no_network, tmp_path, backend):
    if backend == "musicnn":
        try:
            package.checkpoint_prefix()
        except NotReadyError as exc:
            pytest.skip(str(exc))
    music = tmp_path / "music"
    music.mkdir()
    for style in ("electronic", "jazz_classical"):
        soundfile.write(music / f"{style}.flac", render_song(style, 0, 8.0, SAMPLE_RATE).T, SAMPLE_RATE)
    data = tmp_path / "data"
    dirs = DataDirs.under(data).create()
    Settings(player="folders", music_folders=[str(music)], num_workers=0).save(dirs.settings_file)
    assert main(["--data-dir", str(data), "build-cache"]) == 0
    done = offline(sys.executable, "-m", "musicrec_desktop", "--data-dir", str(data), "embed",
                   "--backend", backend, "--device", "cpu", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["backend"], report["embedded"]) == (backend, 2)
    with EmbeddingStore(dirs.embeddings_db) as store:
        assert store.current_model(backend) == report["model_id"]
        keys, vectors = store.load(report["model_id"])
        assert vectors.shape == (2, report["dim"])
        if backend == "musicnn":
            assert len(store.load_extras(report["model_id"], "tags")) == 2
