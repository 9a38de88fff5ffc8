"""No session bus, no player, a bus that is gone: clear errors, quickly, nothing hangs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from musicrec_companion.bus import Bus
from musicrec_companion.mpris import MprisPlayer, find_player
from musicrec_desktop.errors import PlayerError


@pytest.fixture(scope="module")
def empty_bus():
    """A real session bus with no player on it."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon not installed")
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield daemon.stdout.readline().strip()
    finally:
        daemon.terminate()
        daemon.wait(5)
        daemon.stdout.close()


def test_no_session_bus_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with pytest.raises(PlayerError, match="no D-Bus session bus"):
        Bus()


def test_a_bus_address_that_leads_nowhere_is_a_clear_error(tmp_path):
    started = time.monotonic()
    with pytest.raises(PlayerError, match="cannot connect to the D-Bus session bus"):
        Bus(f"unix:path={tmp_path / 'no-bus-here'}")
    assert time.monotonic() - started < 3


def test_no_player_running_is_a_clear_error(empty_bus):
    with Bus(empty_bus) as bus:
        with pytest.raises(PlayerError, match="no music player is running"):
            find_player(bus)
        with pytest.raises(PlayerError, match="strawberry is not running"):
            find_player(bus, "strawberry")
        with pytest.raises(PlayerError, match="unknown player"):
            find_player(bus, "winamp")
        # Calling a player that is not there fails at once (the bus answers for it).
        started = time.monotonic()
        with pytest.raises(PlayerError, match="refused"):
            MprisPlayer(bus, "strawberry").now_playing()
        assert time.monotonic() - started < 2


def test_companion_commands_report_no_player_and_no_bus(empty_bus, tmp_path):
    base = [sys.executable, "-m", "musicrec_desktop", "--data-dir", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    result = subprocess.run([*base, "companion", "--radio", "--bus", empty_bus], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no music player is running" in result.stderr
    result = subprocess.run([*base, "companion"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no D-Bus session bus" in result.stderr
