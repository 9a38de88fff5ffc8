"""The autostart entry's Exec line, checked by the freedesktop validator and by GLib's own parser.

``gio launch`` starts a desktop entry the way a desktop does; the entry here runs Python, which
writes the arguments it received, so what a person's desktop would pass is compared exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from musicrec_desktop.app import autostart

AWKWARD = ["/tmp/my music 100%/data", 'say "hi"', "$HOME", "back\\slash", "tick`", "it's", "a;b|c"]


def needs(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


def validate(entry: Path) -> None:
    result = subprocess.run([needs("desktop-file-validate"), str(entry)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_autostart_entry_quotes_a_data_folder_with_a_space_and_percent(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    data = tmp_path / "my data 100%"
    entry = autostart.enable(data)
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(' --data-dir "' + str(data).replace("%", "%%") + '" tray')
    assert "'" not in exec_line  # single quotes are not quoting in desktop entries
    validate(entry)


def test_glib_reads_back_exactly_the_arguments_written(tmp_path):
    out = tmp_path / "argv.json"
    part = out.with_suffix(".part")  # renamed when complete: never read half written
    program = (f"import json, os, sys; open({str(part)!r}, 'w').write(json.dumps(sys.argv[1:])); "
               f"os.replace({str(part)!r}, {str(out)!r})")
    entry = tmp_path / "probe.desktop"
    entry.write_text("[Desktop Entry]\nType=Application\nName=probe\n"
                     f"Exec={autostart.desktop_exec([sys.executable, '-c', program, *AWKWARD])}\n",
                     encoding="utf-8")
    validate(entry)
    launched = subprocess.run([needs("gio"), "launch", str(entry)], capture_output=True, text=True,
                              timeout=30)
    assert launched.returncode == 0, launched.stderr
    deadline = time.monotonic() + 20  # gio returns once the process is started, not ended
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(out.read_text()) == AWKWARD
