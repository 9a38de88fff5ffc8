"""The ``TrackList.AddTrack`` radio path, a stopped player that still shows its last song, and a
player that drops its MPRIS object seconds before its bus name as it quits.

None can be seen with the real players here (Debian's Strawberry 1.0.14 and Clementine report
``CanEditTracks`` false and clear ``Metadata`` on stop), so these run against ``FakeStrawberry``,
a real D-Bus service on a private bus that answers as Strawberry 1.2.20 and later do.
"""

from __future__ import annotations

import stat
import time

import pytest

from musicrec_companion.adapters import StrawberryAdapter
from musicrec_companion.bus import Bus
from musicrec_companion.follower import QUIT_GRACE_S, Follower
from musicrec_companion.mpris import find_player
from musicrec_companion.radio import ListFeed, Radio, songs_from_files
from musicrec_desktop.errors import PlayerError
from tests.companion.fake_player import AddTrackCall, FakeStrawberry


@pytest.fixture
def cli_log(tmp_path):
    """A stand-in for the player's command line that only writes down that it ran."""
    log = tmp_path / "cli.log"
    script = tmp_path / "strawberry"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> '{log}'\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def adapter_on(bus: Bus, cli) -> StrawberryAdapter:
    adapter = StrawberryAdapter(find_player(bus), confirm_timeout=5)
    adapter.binary = str(cli[0])
    return adapter


def test_radio_adds_tracks_in_order_right_after_the_playing_song(private_bus, music, cli_log):
    mine = [p.as_uri() for p in music[:3]]  # the person's playlist; its first song plays
    radio_songs = songs_from_files(music[6:11])
    radio_uris = [s.path.as_uri() for s in radio_songs]
    with FakeStrawberry(private_bus, mine) as player, Bus(private_bus) as bus:
        adapter = adapter_on(bus, cli_log)
        assert adapter.mpris.can_edit_tracks()
        radio = Radio(adapter, ListFeed(radio_songs), batch_size=2, keep_ahead=2)
        playing = player.track_id(mine[0])

        assert radio.start(adapter.mpris.now_playing()) == radio_songs[:2]
        assert player.urls() == [mine[0], *radio_uris[:2], *mine[1:]]
        first, second = player.track_id(radio_uris[0]), player.track_id(radio_uris[1])
        assert player.calls() == [AddTrackCall(radio_uris[0], playing, False),
                                  AddTrackCall(radio_uris[1], first, False)]

        player.play(first)  # one radio song left ahead: two more go after the last one
        assert radio.on_track(adapter.mpris.now_playing()) == radio_songs[2:4]
        assert player.urls() == [mine[0], *radio_uris[:4], *mine[1:]]
        assert player.calls()[2:] == [AddTrackCall(radio_uris[2], second, False),
                                      AddTrackCall(radio_uris[3], player.track_id(radio_uris[2]), False)]

        player.play(player.track_id(radio_uris[3]))
        assert radio.on_track(adapter.mpris.now_playing()) == radio_songs[4:]
        assert player.urls() == [mine[0], *radio_uris, *mine[1:]]
        assert radio.running and radio.queued == radio_songs

        player.play(player.track_id(mine[1]))  # the person's own next song: other music
        radio.on_track(adapter.mpris.now_playing())
        assert not radio.running and "other music" in radio.stopped_because
    assert not cli_log[1].exists()  # never the command line, never a playlist of its own


def test_radio_stops_when_its_last_song_is_removed(private_bus, music, cli_log):
    with FakeStrawberry(private_bus, [music[0].as_uri()]) as player, Bus(private_bus) as bus:
        adapter = adapter_on(bus, cli_log)
        place = adapter.start_radio(music[0], songs_from_files(music[6:7]), adapter.mpris.now_playing())
        assert place.after_track == player.track_id(music[6].as_uri())
        player.remove(place.after_track)  # the person removes it
        with pytest.raises(PlayerError, match="no longer in the playlist"):
            adapter.add_to_radio(place, songs_from_files(music[7:8]))
    assert not cli_log[1].exists()


def test_a_stopped_player_showing_its_last_song_has_nothing_playing(private_bus, music, cli_log, tmp_path,
                                                                    capsys):
    from musicrec_desktop.cli import main

    with FakeStrawberry(private_bus, [music[0].as_uri()]) as player, Bus(private_bus) as bus:
        player.play(player.track_id(music[0].as_uri()), status="Stopped")
        adapter = adapter_on(bus, cli_log)
        now = adapter.mpris.now_playing()
        assert now.status == "Stopped" and now.path == music[0]  # what the real ones here never show
        feed = ListFeed(songs_from_files(music[6:8]))
        with pytest.raises(PlayerError, match="nothing is playing"):
            Radio(adapter, feed).start(now)
        assert feed.next_batch(5) == songs_from_files(music[6:8])  # nothing was taken from the feed
        assert player.calls() == []

        data = str(tmp_path / "data")
        assert main(["--data-dir", data, "radio", "--from-current", "--bus", private_bus]) == 1
        assert "nothing is playing" in capsys.readouterr().err
    assert not cli_log[1].exists()


def test_a_player_that_drops_its_object_but_keeps_its_name_has_quit(private_bus, music, cli_log):
    """Strawberry quitting on a busy machine unregisters its MPRIS object seconds before it lets go
    of its bus name (seen in CI): the radio ends with "quit", not with the object's D-Bus error."""
    with FakeStrawberry(private_bus, [music[0].as_uri()]) as player, Bus(private_bus) as bus:
        mpris = find_player(bus)
        radio = Radio(adapter_on(bus, cli_log), ListFeed(songs_from_files(music[6:8])), batch_size=1)
        radio.start(mpris.now_playing())
        follower = Follower(mpris, radio=radio, wait_for_player=False, tick_s=0.1)
        follower.begin()
        player.start_quitting()
        begun = time.monotonic()
        with pytest.raises(PlayerError, match="^strawberry quit$"):
            follower.process(0.1)
        assert time.monotonic() - begun < QUIT_GRACE_S + 2
        assert bus.owner(mpris.service) is not None  # the name is still held: only the object went
        assert radio.stopped_because == "strawberry quit"


def test_a_waiting_follower_takes_the_player_back_only_once_its_object_answers(private_bus, music):
    with FakeStrawberry(private_bus, [music[0].as_uri()]) as player, Bus(private_bus) as bus:
        follower = Follower(find_player(bus), tick_s=0.1)  # the companion's: waits for the player
        follower.begin()
        player.start_quitting()
        follower.process(0.1)  # its object gone: the song playing ends, the follower waits
        follower.process(0.1)  # the name still held, the object still gone: still waiting
        assert [e.kind for e in follower.events] == ["start", "skip"]
        player.object_back()
        follower.process(0.1)
        assert [e.kind for e in follower.events] == ["start", "skip", "start"]
        assert follower.events[-1].song_url == music[0].as_uri()
