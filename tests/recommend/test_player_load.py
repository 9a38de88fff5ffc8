"""The real Strawberry loads an XSPF we write (odd file names included) and saves it as a playlist."""

import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import soundfile

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.service import Recommendation, write_playlists
from musicrec_desktop.settings import Settings
from tests.support.player import HeadlessPlayer, available

# No "#": Strawberry 1.0.14's XSPF parser percent-decodes <location> and then parses it as a URL
# again, so an (correctly encoded) "%23" turns into a fragment and the path is cut there (seen in
# its log: 'Reading tags from "/tmp/.../mü sic "'). Our files stay valid XSPF; that is its bug.
NAMES = ["Hoppípolla 1.wav", "100% live mix.wav", "日本語 の歌.wav"]


@pytest.mark.player
def test_strawberry_loads_our_xspf(tmp_path, request):
    if not available("strawberry"):
        pytest.skip("strawberry, Xvfb or dbus-daemon not installed")
    music = tmp_path / "mü sic dir"
    music.mkdir()
    tone = (0.1 * np.sin(np.linspace(0, 2 * np.pi * 440 * 2, 2 * 16000))).astype(np.float32)
    entries = []
    for i, name in enumerate(NAMES):
        path = music / name
        soundfile.write(path, tone, 16000)
        song = Song(key=path.as_uri(), url=path.as_uri(), path=path, title=f"Song {i}", artist="Ärtist",
                    album="Album", length_s=2.0)
        entries.append(Recommendation(song, 1.0, 0.9, "because you rated X ★★★★★"))
    [xspf] = write_playlists(Settings(playlist_format="xspf"), {"Discover": entries}, tmp_path / "out")
    # a short HOME: the player's single-instance socket lives under it (TMPDIR), and a Unix socket
    # path longer than 107 bytes (pytest's tmp_path plus the test name) silently breaks --load
    home = Path(tempfile.mkdtemp(prefix="mr-sb-"))
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    with HeadlessPlayer("strawberry", home) as player:
        # a --load sent while the player is still starting can be lost: send it again until seen
        loaded = False
        for _attempt in range(4):
            result = player.run_cli("--load", str(xspf))
            assert result.returncode == 0, result.stderr
            try:
                player.wait_until(lambda: "Saving playlist" in player.log_file.read_text(),
                                  10, "strawberry did not load the playlist")
                loaded = True
                break
            except TimeoutError:
                continue
        assert loaded, player.log_file.read_text()[-2000:]
        player.quit()  # MPRIS Quit: the player saves its playlists to its database
        assert not player.running
    locations = _saved_locations(player)
    assert len(locations) == len(NAMES)
    assert sorted(Path(unquote(urlsplit(u).path)) for u in locations) == sorted(e.song.path for e in entries)


def _saved_locations(player: HeadlessPlayer) -> list[str]:
    columns = {row[1] for row in player.query("PRAGMA table_info(playlist_items)")}
    column = "url" if "url" in columns else "filename"
    return [row[0] for row in player.query(f"SELECT {column} FROM playlist_items")]
