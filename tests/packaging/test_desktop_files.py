"""Desktop entries, AppStream metadata and icons: valid for the freedesktop tools, and true.

The validators are skipped when not installed (``.ci/run`` installs desktop-file-utils and
appstream); the checks that the entries' commands exist and the icons' sizes run everywhere.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from musicrec_desktop.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
ICONS = REPO / "resources" / "icons"
DESKTOP_FILES = ("musicrec.desktop", "musicrec-autostart.desktop")
METAINFO = PACKAGING / "io.github.musicrec.musicrec.metainfo.xml"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
STATES = ("musicrec", "musicrec-working", "musicrec-error")


def needs(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


def entry(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(PACKAGING / name, encoding="utf-8")
    return parser


@pytest.mark.parametrize("name", DESKTOP_FILES)
def test_desktop_file_validates(name):
    result = subprocess.run([needs("desktop-file-validate"), str(PACKAGING / name)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_metainfo_validates():
    result = subprocess.run([needs("appstreamcli"), "validate", "--no-net", "--pedantic", str(METAINFO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pedantic" not in result.stdout and "warnings" not in result.stdout, result.stdout


def test_metainfo_points_at_the_desktop_entry_and_icon():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("launchable") == "musicrec.desktop"
    assert root.findtext("icon") == entry("musicrec.desktop")["Desktop Entry"]["Icon"]
    assert {b.text for b in root.iter("binary")} == {"musicrec", "musicrec-companion"}


def test_every_exec_line_is_a_real_command():
    """Each Exec (main entry, actions, autostart) parses with the real command line."""
    parser = build_parser()
    execs = []
    for name in DESKTOP_FILES:
        for section in entry(name).values():
            if "Exec" in section:
                execs.append(section["Exec"])
    assert len(execs) == 5
    for line in execs:
        program, *args = shlex.split(line)
        assert program == "musicrec"
        parsed = parser.parse_args(args)  # exits (fails the test) on an unknown command or option
        assert callable(parsed.run)


def test_actions_are_the_promised_ones():
    main = entry("musicrec.desktop")
    actions = main["Desktop Entry"]["Actions"].strip(";").split(";")
    names = {main[f"Desktop Action {a}"]["Name"]: main[f"Desktop Action {a}"]["Exec"] for a in actions}
    # Each goes through the tray (started when it is not running), never a second process that
    # would train or play beside it.
    assert names == {"Play Recommended": "musicrec tray --play-recommended",
                     "Radio From Current Song": "musicrec tray --radio",
                     "Rebuild Model": "musicrec tray --rebuild"}
    parser = build_parser()
    requests = {parser.parse_args(shlex.split(line)[1:]).request for line in names.values()}
    assert requests == {"play-recommended", "radio", "rebuild"}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("state", STATES)
def test_icons_exist_in_every_size(state):
    svg = ET.parse(ICONS / f"{state}.svg").getroot()
    assert svg.tag.endswith("svg") and svg.get("viewBox") == "0 0 256 256"
    for size in PNG_SIZES:
        assert png_size(ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{state}.png") == (size, size)


def test_flatpak_manifest_names_existing_files():
    """Checked as text: PyYAML is not one of the project's dependencies."""
    text = (PACKAGING / "flatpak" / "io.github.musicrec.musicrec.yml").read_text(encoding="utf-8")
    app_id = re.search(r"^app-id: (\S+)$", text, re.M).group(1)
    assert app_id == ET.parse(METAINFO).getroot().findtext("id")
    assert re.search(r"^rename-desktop-file: musicrec.desktop$", text, re.M)
    named = re.findall(r"\b(?:packaging|resources)/\S+", text.replace("${size}", "256"))
    assert len(named) == 4
    for relative in named:
        assert (REPO / relative.rstrip(";")).is_file(), relative
