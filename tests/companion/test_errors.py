"""No session bus, no player, a bus that is gone: clear errors, quickly, nothing hangs."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from musicrec_companion.bus import Bus
from musicrec_companion.mpris import MprisPlayer, find_player
from musicrec_desktop.errors import PlayerError


def test_no_session_bus_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with pytest.raises(PlayerError, match="no D-Bus session bus"):
        Bus()


def test_a_bus_address_that_leads_nowhere_is_a_clear_error(tmp_path):
    started = time.monotonic()
    with pytest.raises(PlayerError, match="cannot connect to the D-Bus session bus"):
        Bus(f"unix:path={tmp_path / 'no-bus-here'}")
    assert time.monotonic() - started < 3


def test_no_player_running_is_a_clear_error(private_bus):
    with Bus(private_bus) as bus:
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


def test_companion_commands_report_no_player_and_no_bus(private_bus, tmp_path):
    base = [sys.executable, "-m", "musicrec_desktop", "--data-dir", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    result = subprocess.run([*base, "companion", "--radio", "--bus", private_bus], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no music player is running" in result.stderr
    result = subprocess.run([*base, "companion"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no D-Bus session bus" in result.stderr


@pytest.mark.parametrize("command", [
    ["play-recommended"],
    ["push-playlists"],
    ["radio", "--seed", "/music/a song.flac", "--play"],
    ["radio", "--from-current", "--player", "clementine"],
    ["radio", "--seed", "/music/a.flac", "--seed", "/music/b.flac", "--play"],
    ["path", "--from", "/music/a.flac", "--to", "/music/b.flac", "--play"],
])
def test_player_commands_look_for_the_player_before_the_recommender(private_bus, tmp_path, command, capsys):
    from musicrec_desktop.cli import main

    # The data folder has no embeddings: a command that asked the recommender first would say so.
    assert main(["--data-dir", str(tmp_path), *command, "--bus", private_bus]) == 1
    error = capsys.readouterr().err
    assert ("clementine is not running" if "clementine" in command else "no music player is running") in error
    assert "embeddings" not in error
