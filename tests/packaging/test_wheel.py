"""The built wheel, installed into a fresh virtual environment, runs and carries its resources.

The wheel is built without build isolation and installed without dependencies, so the test needs
no network: the new environment reaches the project's dependencies through a ``.pth`` file that
points at the development environment's site-packages, placed after its own site-packages so the
installed wheel (not the source tree) is what gets imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "musicrec_desktop", "resources", "plugin")


def run(cmd: list[str], cwd: Path, timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**environment, **env})


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a clean copy of the sources (the shared tree is never built in)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, src / name)
    result = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(src / "dist"), "."], cwd=src)
    assert result.returncode == 0, result.stderr
    (built,) = (src / "dist").glob("musicrec_desktop-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh environment with only the wheel installed; returns its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    result = run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                  "--no-index", "-q", str(wheel)], cwd=env_dir)
    assert result.returncode == 0, result.stderr
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=env_dir)
    deps = sysconfig.get_paths()["purelib"]
    (Path(site.stdout.strip()) / "zz_dev_dependencies.pth").write_text(deps + "\n")
    return env_dir / "bin"


def test_wheel_holds_resources_and_the_companion(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("musicrec_desktop/resources/schemas/strawberry.sql",
                   "musicrec_desktop/resources/schemas/clementine.sql",
                   "musicrec_desktop/resources/icons/musicrec.svg",
                   "musicrec_desktop/resources/icons/musicrec-working.svg",
                   "musicrec_desktop/resources/icons/musicrec-error.svg",
                   "musicrec_desktop/resources/icons/hicolor/256x256/apps/musicrec.png",
                   "musicrec_desktop/demo/styles.py",
                   "musicrec_companion/__main__.py"):
        assert needed in names, needed
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "musicrec = musicrec_desktop.cli:main" in text
    assert "musicrec-companion = musicrec_companion.__main__:main" in text


def test_installed_package_is_the_wheel_and_finds_its_resources(installed, tmp_path):
    probe = ("import json, musicrec_desktop, musicrec_companion;"
             "from musicrec_desktop.paths import resources_dir;"
             "from musicrec_desktop.demo.strawberry import schema_sql;"
             "print(json.dumps([musicrec_desktop.__file__, musicrec_companion.__file__,"
             " str(resources_dir()), len(schema_sql())]))")
    result = run([str(installed / "python"), "-c", probe], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    package, companion, resources, schema_chars = json.loads(result.stdout)
    env = str(installed.parent)
    assert package.startswith(env) and companion.startswith(env) and resources.startswith(env)
    assert (Path(resources) / "icons" / "musicrec.svg").is_file() and schema_chars > 1000


def test_musicrec_help_runs(installed, tmp_path):
    result = run([str(installed / "musicrec"), "--help"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("doctor", "run", "tray", "demo", "config"):
        assert command in result.stdout
    companion = run([str(installed / "musicrec-companion"), "--help"], cwd=tmp_path)
    assert companion.returncode == 0, companion.stderr


def test_musicrec_doctor_runs(installed, tmp_path):
    """The installed ``musicrec doctor`` finds this environment's torch and audio decoders and its
    data folders, and says the machine is ready (this is the machine the suite runs on)."""
    data = tmp_path / "data"
    result = run([str(installed / "musicrec"), "--data-dir", str(data), "doctor", "--json"],
                 cwd=tmp_path, timeout=300)
    report = json.loads(result.stdout)
    assert report["problems"] == [] and result.returncode == 0, (report["problems"], result.stderr)
    assert report["python"]["executable"].startswith(str(installed.parent))
    assert report["torch"]["version"].startswith("2.")
    assert {"FLAC", "OGG", "MP3"} <= set(report["audio"]["soundfile"]["formats"])
    assert report["data"]["state"] == str(data.resolve() / "state")
    assert report["data"]["state_free_gb"] > 0
    text = run([str(installed / "musicrec"), "--data-dir", str(data), "doctor"], cwd=tmp_path, timeout=300)
    assert text.returncode == 0 and text.stdout.strip().splitlines()[-1] == "ready", text.stdout
    assert f"({installed.parent}" in text.stdout.splitlines()[0]  # "Python 3.x (<env>/bin/python)"
