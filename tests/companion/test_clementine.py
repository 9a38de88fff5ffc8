"""The companion against a real Clementine, headless, on its own session bus."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from musicrec_companion.adapters import ClementineAdapter, adapter_for
from musicrec_companion.bus import Bus
from musicrec_companion.mpris import find_player
from tests.companion.conftest import checksums, start_player

pytestmark = pytest.mark.player


def test_clementine_detect_push_play_and_saved_playlists(tmp_path, music):
    before = checksums(music)
    player = start_player("clementine", tmp_path / "home")
    try:
        with Bus(player.bus_address) as bus:
            mpris = find_player(bus)
            assert mpris.player == "clementine" and mpris.identity() == "Clementine"
            assert mpris.can_edit_tracks() is False
            adapter = adapter_for(mpris, player.env)
            assert isinstance(adapter, ClementineAdapter)

            assert adapter.push_playlist("Discover", music[:6]) == "created"
            assert adapter.push_playlist("Discover", music[1:2]) == "kept"
            playlist = adapter.play_playlist("Recommended", music[3:5])
            assert adapter.mpris.now_playing().path == music[3]
            assert adapter.play_playlist("Recommended", [music[5], music[0]]).id == playlist.id
            assert adapter.mpris.now_playing().path == music[5]
            names = [p.name for p in mpris.playlists()]
            assert names.count("Discover") == 1 and names.count("Recommended") == 1
        player.quit()
        assert not player.running
        rows = player.query("SELECT p.name, i.filename FROM playlists p "
                            "JOIN playlist_items i ON i.playlist = p.ROWID ORDER BY p.ROWID, i.ROWID")
    finally:
        player.stop()
    saved: dict[str, list[str]] = {}
    for name, url in rows:
        url = url.decode() if isinstance(url, bytes) else url
        saved.setdefault(name, []).append(Path(unquote(urlsplit(url).path)).name)
    assert saved["Discover"] == [p.name for p in music[:6]]  # every awkward name went through
    assert saved["Recommended"] == [music[5].name, music[0].name]
    assert checksums(music) == before
