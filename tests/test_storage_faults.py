"""What musicrec says when its own files cannot be written, and when its reader goes away: a
message that names the file and what to do, never a traceback (issue 19, item 7). Real disks:
a small tmpfs filled to the last byte, a folder without write permission, a real pipe."""

from __future__ import annotations

import subprocess
import sys

import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.errors import EXIT_BROKEN_PIPE, EXIT_ERROR
from musicrec_desktop.settings import Settings
from tests.support.disk import fill, small_disk, without_file_access

MUSICREC = [sys.executable, "-m", "musicrec_desktop"]


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and "Logging error" not in text


def test_config_set_on_a_full_disk_names_the_file_and_says_the_disk_is_full(tmp_path, capsys):
    with small_disk(tmp_path / "disk", 512) as disk:
        data = disk / "data"
        assert main(["--data-dir", str(data), "config", "set", "batch_size", "64"]) == 0
        fill(disk)
        capsys.readouterr()
        assert main(["--data-dir", str(data), "config", "set", "batch_size", "32"]) == EXIT_ERROR
        err = capsys.readouterr().err
        assert f"musicrec: {data / 'config' / 'settings.toml'}: the disk is full (No space left " \
               "on device, 0 kB free); free some space and run the command again" in err
        assert no_traceback(err)
        assert Settings.load(data / "config" / "settings.toml").batch_size == 64  # the old file
        assert sorted(p.name for p in (data / "config").iterdir()) == ["settings.toml"]


def test_build_cache_on_a_full_disk_says_the_disk_is_full(tmp_path):
    """SQLite reports a full disk as "database or disk is full" or "disk I/O error"."""
    music = tmp_path / "music"
    music.mkdir()
    data = tmp_path / "data"
    with small_disk(tmp_path / "disk", 512) as disk:
        settings = Settings(player="folders", music_folders=[str(music)], cache_dir=str(disk / "cache"))
        settings.save(data / "config" / "settings.toml")
        fill(disk)
        done = subprocess.run([*MUSICREC, "--data-dir", str(data), "build-cache"], capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == EXIT_ERROR and no_traceback(done.stderr)
    assert f"{disk / 'cache' / 'index.sqlite'}: cannot open the cache index: " in done.stderr
    assert "; the disk is full (0 kB free): free some space and run it again" in done.stderr


def test_a_log_file_on_a_full_disk_gets_one_line_not_a_traceback_each_message(tmp_path):
    with small_disk(tmp_path / "disk", 512) as disk:
        data = disk / "data"
        (data / "logs").mkdir(parents=True)
        Settings(player="folders", music_folders=[str(tmp_path)]).save(data / "config" / "settings.toml")
        fill(disk)
        done = subprocess.run([*MUSICREC, "--data-dir", str(data), "-v", "library"],
                              capture_output=True, text=True, timeout=120)
    assert no_traceback(done.stderr), done.stderr
    assert done.stderr.count("cannot be written (No space left on device); no more lines go there") == 1


def test_a_data_folder_that_cannot_be_written_is_a_message(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for argv in (["build-cache"], ["config", "set", "batch_size", "64"]):
            done = subprocess.run(without_file_access([*MUSICREC, "--data-dir", str(locked / "data"),
                                                       *argv]), capture_output=True, text=True, timeout=120)
            assert done.returncode == EXIT_ERROR and no_traceback(done.stderr), done.stderr
            assert ": permission denied; fix the folder's permissions or keep musicrec's files " \
                   "elsewhere (musicrec --data-dir DIR" in done.stderr
            assert f"musicrec: {locked / 'data'}" in done.stderr
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("argv", [["config", "show"], ["config", "show", "--json"], ["--help"]])
def test_a_reader_that_goes_away_is_no_error(tmp_path, argv):
    """`musicrec config show | head -1`: the pipe closes after one line."""
    shell = f"{' '.join(MUSICREC)} --data-dir {tmp_path / 'data'} {' '.join(argv)} | head -1; " \
            "echo \"status ${PIPESTATUS[0]}\" >&2"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
    assert len(done.stdout.splitlines()) == 1 and no_traceback(done.stderr), done.stderr
    assert "BrokenPipe" not in done.stderr and "Exception ignored" not in done.stderr
    # 0 when all of it fitted into the pipe before `head` left, else what a shell reports for it
    assert done.stderr.strip().splitlines()[-1] in ("status 0", f"status {EXIT_BROKEN_PIPE}")
