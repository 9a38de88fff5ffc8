"""The player companion: a small program beside Strawberry or Clementine.

Neither player has a plugin API, so the companion talks to the running player through what it
exposes: MPRIS on the session bus (``mpris``, over a jeepney connection in ``bus``) and the
player's own command line (``adapters``). It plays recommended songs, keeps an endless radio
going (``radio``), pushes generated playlists, and records a listening history (``tracker``,
``follower``) into the app's own store. It asks the core for recommendations; it never trains.
"""

from musicrec_companion.adapters import (
    ClementineAdapter,
    PlayerAdapter,
    RadioPlace,
    StrawberryAdapter,
    adapter_for,
)
from musicrec_companion.bus import Bus
from musicrec_companion.follower import Follower, open_player
from musicrec_companion.mpris import MprisPlayer, NowPlaying, PlayerPlaylist, find_player, running_players
from musicrec_companion.radio import (
    ListFeed,
    Radio,
    RecommenderFeed,
    songs_from_files,
    start_recommended_radio,
)
from musicrec_companion.tracker import ListeningTracker, library_keys

__all__ = [
    "Bus", "ClementineAdapter", "Follower", "ListFeed", "ListeningTracker", "MprisPlayer", "NowPlaying",
    "PlayerAdapter", "PlayerPlaylist", "Radio", "RadioPlace", "RecommenderFeed", "StrawberryAdapter",
    "adapter_for", "find_player", "library_keys", "open_player", "running_players", "songs_from_files",
    "start_recommended_radio",
]
