"""A real Strawberry or Clementine running headless for tests.

Each player gets its own HOME, its own Xvfb display and its own D-Bus session bus, so tests never
touch the person's desktop and players of parallel tests never meet. Always use it as a context
manager: the player, the bus and the display are stopped on exit, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parents[2] / "resources" / "schemas"

PLAYERS = {
    # name: (binary, database under HOME, settings file under HOME, MPRIS bus name)
    "strawberry": (
        "strawberry",
        ".local/share/strawberry/strawberry/strawberry.db",
        ".config/strawberry/strawberry.conf",
        "org.mpris.MediaPlayer2.strawberry",
    ),
    "clementine": (
        "clementine",
        ".config/Clementine/clementine.db",
        ".config/Clementine/Clementine.conf",
        "org.mpris.MediaPlayer2.clementine",
    ),
}
MPRIS_PATH = "/org/mpris/MediaPlayer2"
START_ATTEMPTS = 3


def available(player: str) -> bool:
    binary = PLAYERS[player][0]
    return all(shutil.which(b) for b in (binary, "Xvfb", "dbus-daemon", "dbus-send"))


class HeadlessPlayer:
    """``with HeadlessPlayer("strawberry", tmp_path / "home") as player: player.run_cli(...)``."""

    def __init__(self, player: str, home: Path, settings_text: str | None = None) -> None:
        if player not in PLAYERS:
            raise ValueError(f"unknown player {player!r}")
        self.name = player
        self.binary, db, conf, self.bus_name = PLAYERS[player]
        self.home = Path(home)
        self.database = self.home / db
        self.settings_file = self.home / conf
        self.log_file = self.home / f"{player}.log"
        self.bus_address = ""
        self.display = ""
        self._xvfb: subprocess.Popen | None = None
        self._bus: subprocess.Popen | None = None
        self._player: subprocess.Popen | None = None
        self.home.mkdir(parents=True, exist_ok=True)
        self.sockets = Path(tempfile.mkdtemp(prefix="mr-"))
        if settings_text is not None:
            self.settings_file.parent.mkdir(parents=True, exist_ok=True)
            self.settings_file.write_text(settings_text, encoding="utf-8")

    # -- before start -----------------------------------------------------------------------
    def create_database(self) -> Path:
        """Creates the player's database from its real schema (resources/schemas), if absent."""
        if not self.database.exists():
            self.database.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(self.database)) as db:
                db.executescript((SCHEMAS / f"{self.name}.sql").read_text(encoding="utf-8"))
        return self.database

    def add_collection_folder(self, folder: Path) -> None:
        """Strawberry scans a folder listed in ``directories`` when it starts."""
        if self.name != "strawberry":
            raise ValueError("only Strawberry keeps collection folders in its database")
        self.create_database()
        with contextlib.closing(sqlite3.connect(self.database)) as db, db:
            db.execute("INSERT INTO directories (path, subdirs) VALUES (?, 0)", (str(folder),))

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Environment for any process that should see this player (CLI, MPRIS clients)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "DBUS_"))}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local/share"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_RUNTIME_DIR=str(self.sockets / "runtime"),
            # The players find their running instance through a local socket in the temp folder:
            # a private one keeps players of parallel tests (and the person's own) apart. It is a
            # short path of its own because socket paths must stay under 108 bytes.
            TMPDIR=str(self.sockets),
            DISPLAY=self.display,
            DBUS_SESSION_BUS_ADDRESS=self.bus_address,
            QT_QPA_PLATFORM="xcb",
            NO_AT_BRIDGE="1",
        )
        return env

    def start(self, timeout: float = 30.0) -> HeadlessPlayer:
        if self._xvfb is not None:
            raise RuntimeError("this HeadlessPlayer was started already; make a new one")
        (self.sockets / "runtime").mkdir(mode=0o700, exist_ok=True)
        self._xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.display = ":" + self._read_line(self._xvfb, "Xvfb", timeout)
        self._bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.bus_address = self._read_line(self._bus, "dbus-daemon", timeout)
        # Strawberry 1.0.14 now and then dies (SIGSEGV) while starting: start it again then.
        for attempt in range(1, START_ATTEMPTS + 1):
            with open(self.log_file, "ab") as log:
                self._player = subprocess.Popen(
                    [self.binary], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )
            try:
                self.wait_until(lambda: self.bus_name in self.bus_names(), timeout,
                                f"{self.name} did not register {self.bus_name}")
                return self
            except RuntimeError:  # the player exited while starting
                if attempt == START_ATTEMPTS:
                    raise
        return self

    def quit(self, timeout: float = 20.0) -> None:
        """Asks the player to quit through MPRIS (it then saves its playlists) and waits."""
        if self._player is None or self._player.poll() is not None:
            return
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.call("org.mpris.MediaPlayer2", "Quit")
        try:
            self._player.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill(self._player)

    def stop(self) -> None:
        self.quit()
        for proc in (self._player, self._bus, self._xvfb):
            if proc is not None:
                self._kill(proc)
        shutil.rmtree(self.sockets, ignore_errors=True)

    def __enter__(self) -> HeadlessPlayer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._player is not None and self._player.poll() is None

    @property
    def pid(self) -> int | None:
        return self._player.pid if self._player else None

    # -- talking to it ----------------------------------------------------------------------
    def run_cli(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
        """The player's own command line; a second process forwards to the running instance."""
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def version(self) -> tuple[int, ...]:
        """The player's version from its ``--version``, e.g. ``(1, 0, 14)``; ``()`` when it says none."""
        result = subprocess.run([self.binary, "--version"], env={**self.env, "QT_QPA_PLATFORM": "offscreen"},
                                capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        found = re.search(r"\d+(?:\.\d+)+", result.stdout)
        return tuple(int(part) for part in found.group().split(".")) if found else ()

    def dbus_send(self, *args: str, timeout: float = 10.0) -> str:
        result = subprocess.run(
            ["dbus-send", f"--bus={self.bus_address}", "--print-reply",
             f"--reply-timeout={int(timeout * 1000)}", *args],
            capture_output=True, text=True, timeout=timeout + 5, stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise subprocess.SubprocessError(result.stderr.strip())
        return result.stdout

    def call(self, interface: str, method: str, *args: str) -> str:
        """An MPRIS method; args in dbus-send notation, e.g. ``"string:file:///a.flac"``."""
        return self.dbus_send(f"--dest={self.bus_name}", MPRIS_PATH, f"{interface}.{method}", *args)

    def get_property(self, interface: str, name: str) -> str:
        return self.dbus_send(f"--dest={self.bus_name}", MPRIS_PATH,
                              "org.freedesktop.DBus.Properties.Get",
                              f"string:{interface}", f"string:{name}")

    def bus_names(self) -> str:
        return self.dbus_send("--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus.ListNames")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Reads the player's database (read-only) while it runs or after it quit."""
        if not self.database.exists():
            return []
        uri = f"file:{self.database}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return db.execute(sql, params).fetchall()

    def wait_until(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._player is not None and self._player.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self._player.returncode}): {self._log_tail()}")
            with contextlib.suppress(subprocess.SubprocessError, OSError, sqlite3.Error):
                if condition():
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{what} within {timeout:.0f} s: {self._log_tail()}")

    # -- internals --------------------------------------------------------------------------
    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    @staticmethod
    def _read_line(proc: subprocess.Popen, what: str, timeout: float) -> str:
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError(f"{what} printed nothing within {timeout:.0f} s")
        line = proc.stdout.readline().decode().strip()
        if not line:
            raise RuntimeError(f"{what} exited with {proc.poll()}")
        return line

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc.stdout:
            proc.stdout.close()
