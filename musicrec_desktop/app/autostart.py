"""Start with the desktop: an XDG autostart entry in $XDG_CONFIG_HOME/autostart (~/.config)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ENTRY_NAME = "musicrec.desktop"
# Characters that make an Exec argument need quotes (Desktop Entry Specification, "The Exec key").
_RESERVED = frozenset(' \t\n"\'\\><~|&;$*?#()`')


def autostart_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart"


def entry_path() -> Path:
    return autostart_dir() / ENTRY_NAME


def tray_command(data_dir: Path | None = None) -> list[str]:
    """How the desktop should start the tray: the installed ``musicrec`` or this interpreter."""
    found = shutil.which("musicrec")
    command = [found] if found else [sys.executable, "-m", "musicrec_desktop"]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    return command + ["tray"]


def desktop_exec(argv: list[str]) -> str:
    """``argv`` as the value of a desktop entry's ``Exec`` key.

    Not shell quoting: the spec allows double quotes only, with double quote, backtick, dollar
    and backslash escaped by a backslash inside them; then the value is a string, whose own
    escaping doubles every backslash (so one literal backslash is four); and ``%`` starts a field
    code, so it is written ``%%``.
    """
    return " ".join(_exec_argument(arg) for arg in argv)


def _exec_argument(arg: str) -> str:
    if arg and not _RESERVED.intersection(arg):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    for char, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r"), ("%", "%%")):
        quoted = quoted.replace(char, escaped)
    return quoted


def is_enabled() -> bool:
    return entry_path().is_file()


def enable(data_dir: Path | None = None) -> Path:
    """Writes the entry (replacing an old one) and returns its path."""
    path = entry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    exec_line = desktop_exec(tray_command(data_dir))
    path.write_text(
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=musicrec\n"
        "Comment=Learns your taste from your music library and plays what you will like\n"
        f"Exec={exec_line}\n"
        "Icon=musicrec\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n",
        encoding="utf-8")
    return path


def disable() -> None:
    entry_path().unlink(missing_ok=True)


def apply(enabled: bool, data_dir: Path | None = None) -> None:
    """Makes the entry match the setting."""
    if enabled:
        enable(data_dir)
    else:
        disable()
