"""The headless-player helper itself: a real Strawberry and Clementine start, answer and quit."""

import pytest

from tests.support.player import HeadlessPlayer, available


@pytest.mark.player
@pytest.mark.parametrize("name", ["strawberry", "clementine"])
def test_real_player_starts_answers_mpris_and_quits(tmp_path, name):
    if not available(name):
        pytest.skip(f"{name}, Xvfb or dbus-daemon not installed")
    with HeadlessPlayer(name, tmp_path / "home") as player:
        assert player.running
        identity = player.get_property("org.mpris.MediaPlayer2", "Identity")
        assert name in identity.lower()
        player.quit()
        assert not player.running
    assert player.database.exists()
    assert player.query("SELECT COUNT(*) FROM songs") == [(0,)]
