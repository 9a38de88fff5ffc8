"""The ``musicrec`` command line: help for every command, config show/set, --data-dir, exit codes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib

import pytest

from musicrec_desktop.cli import build_parser, main
from musicrec_desktop.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command, e.g. ("config", "set")."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found.extend(command_paths(sub, (*prefix, name)))
    return found


COMMANDS = command_paths(build_parser())


def test_the_foundation_commands_are_there():
    assert {("library",), ("doctor",), ("config",), ("config", "show"), ("config", "set")} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_for_every_command(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith(f"usage: musicrec {' '.join(command)}")


def run(data, *argv, capsys):
    capsys.readouterr()
    code = main(["--data-dir", str(data), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_config_set_and_show(tmp_path, capsys):
    data = tmp_path / "data"
    code, out, _ = run(data, "config", "set", "batch_size", "64", capsys=capsys)
    assert code == EXIT_OK and out.strip() == "batch_size = 64"
    code, out, _ = run(data, "config", "set", "music_folders", "~/Music, /mnt/music", capsys=capsys)
    assert code == EXIT_OK
    stored = tomllib.loads((data / "config" / "settings.toml").read_text(encoding="utf-8"))
    assert stored["batch_size"] == 64 and stored["music_folders"] == ["~/Music", "/mnt/music"]
    code, out, _ = run(data, "config", "show", "--json", capsys=capsys)
    shown = json.loads(out)
    assert code == EXIT_OK and shown["batch_size"] == 64 and shown["player"] == "auto"
    code, out, _ = run(data, "config", "show", capsys=capsys)
    assert code == EXIT_OK and "batch_size = 64" in out and "\n# Training\n" in out
    assert str(data / "config" / "settings.toml") in out


def test_config_show_is_the_settings_files_own_format(tmp_path, capsys):
    """What `config show` prints, pasted into settings.toml, is the same settings (it used to
    print Python values such as True under [sections], and TOML then ignored every one)."""
    data = tmp_path / "data"
    for key, value in (("notifications", "off"), ("music_folders", '["~/a \\"b\\"", "c"]'),
                       ("learning_rate", "0.001"), ("output_dir", "~/Playlists ü")):
        assert run(data, "config", "set", key, value, capsys=capsys)[0] == EXIT_OK
    code, out, _ = run(data, "config", "set", "notifications", "on", capsys=capsys)
    assert out == "notifications = true\n"
    code, shown, _ = run(data, "config", "show", capsys=capsys)
    assert code == EXIT_OK and "notifications = true    # Desktop notifications" in shown
    assert "True" not in shown and not any(line.startswith("[") and line != "[genre_mapping]"
                                           for line in shown.splitlines())
    code, out, _ = run(data, "config", "show", "--json", capsys=capsys)
    assert tomllib.loads(shown) == json.loads(out)
    pasted = tmp_path / "pasted" / "config" / "settings.toml"
    pasted.parent.mkdir(parents=True)
    pasted.write_text(shown, encoding="utf-8")
    code, again, err = run(tmp_path / "pasted", "config", "show", capsys=capsys)
    assert (code, err) == (EXIT_OK, "") and again.splitlines()[1:] == shown.splitlines()[1:]


def test_an_empty_playlist_folder_is_refused(tmp_path, capsys):
    code, _, err = run(tmp_path / "data", "config", "set", "output_dir", "", capsys=capsys)
    assert code == EXIT_ERROR
    assert "setting 'output_dir': '' is not allowed (a text, not empty)" in err
    assert not (tmp_path / "data" / "config" / "settings.toml").exists()


@pytest.mark.parametrize("argv, message", [
    (["recommend", "--n", "0"], "argument --n: must be 1 or more"),
    (["recommend", "--n", "-5"], "argument --n: must be 1 or more"),
    (["radio", "--seed", "x.flac", "--n", "0"], "argument --n: must be 1 or more"),
    (["play-recommended", "--count", "0"], "argument -n/--count: must be 1 or more"),
    (["build-cache", "--workers", "1000"], "argument --workers: must be from 0 to 64"),
    (["build-cache", "--workers", "-1"], "argument --workers: must be from 0 to 64"),
    (["train-encoder", "--workers", "65"], "argument --workers: must be from 0 to 64"),
    (["embed", "--workers", "65"], "argument --workers: must be from 0 to 64"),
])
def test_counts_out_of_range_are_usage_errors(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as done:
        main(["--data-dir", str(tmp_path / "data"), *argv])
    assert done.value.code == EXIT_USAGE and message in capsys.readouterr().err


@pytest.mark.parametrize("key, value, message", [
    ("batch_size", "1", "setting 'batch_size': 1 is not allowed (a whole number from 2 to 4096)"),
    ("player", "itunes", "setting 'player': 'itunes' is not allowed (one of auto, strawberry, clementine"),
    ("colour", "blue", "unknown setting 'colour' (value 'blue'); known settings: player, database_path,"),
    ("batchsize", "64", "unknown setting 'batchsize' (value '64'); did you mean batch_size? known settings:"),
])
def test_config_set_refuses_bad_values(tmp_path, capsys, key, value, message):
    code, _, err = run(tmp_path / "data", "config", "set", key, value, capsys=capsys)
    assert code == EXIT_ERROR and message in err
    assert not (tmp_path / "data" / "config" / "settings.toml").exists()  # nothing saved


def test_bad_settings_file_is_a_clear_error(tmp_path, capsys):
    settings = tmp_path / "data" / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text("player = [", encoding="utf-8")
    code, _, err = run(tmp_path / "data", "config", "show", capsys=capsys)
    assert code == EXIT_ERROR and "valid TOML" in err and str(settings) in err


def test_a_bad_value_in_the_file_is_shown_and_can_be_repaired(tmp_path, capsys):
    settings = tmp_path / "data" / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('batch_size = 1\nepochs = 7\n', encoding="utf-8")
    problem = (f"{settings}: setting 'batch_size': 1 is not allowed (a whole number from 2 to 4096); "
               "using the default 128")
    code, out, err = run(tmp_path / "data", "config", "show", capsys=capsys)
    assert code == EXIT_OK and f"WARNING: {problem}\n" in err
    assert f"# {problem}\n" in out and "batch_size = 128" in out and "epochs = 7" in out
    code, out, _ = run(tmp_path / "data", "config", "set", "batch_size", "64", capsys=capsys)
    assert code == EXIT_OK and out.strip() == "batch_size = 64"
    stored = tomllib.loads(settings.read_text(encoding="utf-8"))
    assert (stored["batch_size"], stored["epochs"]) == (64, 7)
    code, _, err = run(tmp_path / "data", "config", "show", capsys=capsys)
    assert code == EXIT_OK and err == ""


def test_db_and_player_are_for_one_run_and_not_saved(tmp_path, capsys):
    data = tmp_path / "data"
    code, out, _ = run(data, "--db", "/music/strawberry.db", "config", "show", "--json", capsys=capsys)
    shown = json.loads(out)
    assert code == EXIT_OK and (shown["player"], shown["database_path"]) == ("auto", "/music/strawberry.db")
    code, out, _ = run(data, "--player", "folders", "config", "show", "--json", capsys=capsys)
    assert json.loads(out)["player"] == "folders"
    assert run(data, "--db", "/music/strawberry.db", "--player", "clementine", "config", "set", "epochs", "3",
               capsys=capsys)[0] == EXIT_OK
    stored = tomllib.loads((data / "config" / "settings.toml").read_text(encoding="utf-8"))
    assert (stored["epochs"], stored["player"], stored["database_path"]) == (3, "auto", "")
    # Setting an overridden key itself saves it, also to the value given for this run.
    assert run(data, "--player", "folders", "config", "set", "player", "folders", capsys=capsys)[0] == EXIT_OK
    stored = tomllib.loads((data / "config" / "settings.toml").read_text(encoding="utf-8"))
    assert (stored["epochs"], stored["player"]) == (3, "folders")


def test_data_dir_keeps_all_state_under_it(tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    assert run(data, "config", "set", "epochs", "3", capsys=capsys)[0] == EXIT_OK
    assert run(data, "-v", "config", "show", capsys=capsys)[0] == EXIT_OK
    assert (data / "config" / "settings.toml").is_file()
    assert "DEBUG musicrec_desktop: musicrec " in (data / "logs" / "musicrec.log").read_text(encoding="utf-8")
    assert not home.exists()  # nothing in the platformdirs locations


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["no-such-command"], ["config"], ["config", "set", "batch_size"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == EXIT_USAGE, argv


def test_console_entry_point_and_fast_help():
    """As a separate process: exit codes reach the shell, and --help imports no torch or Qt."""
    code = ("import sys; from musicrec_desktop.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'faiss', 'PySide6') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]"
    done = subprocess.run([sys.executable, "-m", "musicrec_desktop", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("musicrec ")
    done = subprocess.run([sys.executable, "-m", "musicrec_desktop", "frobnicate"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == EXIT_USAGE and "invalid choice" in done.stderr
