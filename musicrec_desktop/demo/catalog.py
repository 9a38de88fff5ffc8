"""What the demo library holds: artists, albums and songs per style, and a simulated listener.

Everything here is decided from one seed, before any audio is made, so the same seed always gives
the same library (the same files, tags, ratings and play counts).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.demo.listening import HISTORY_DAYS, DemoPlay, listening_history
from musicrec_desktop.demo.styles import STYLE_VARIANTS, STYLES

# Album formats in turn: 60 % MP3, 30 % Ogg Vorbis, 10 % FLAC; any four albums have all three.
FORMATS = ("mp3", "ogg", "mp3", "flac", "mp3", "ogg", "mp3", "ogg", "mp3", "mp3")
EMPTY_GENRE_SHARE = 0.05  # some albums carry no genre tag, as in real libraries

NEW_ALBUMS = 0.4  # the share of albums added to the library during the listening history

ARTISTS = {
    "rock": ("The Rusty Amps", "Broken Compass", "Velvet Engines", "Iron Valley", "Wild Saints",
             "Static & The Wolves"),
    "pop": ("Mia Sunday", "Lena Vale", "The Glow", "Kira & The Sparks", "Nova Bright", "Jules Hart"),
    "electronic": ("Circuit Garden", "Nightshift", "Modular Tides", "DJ Parallax", "Low Pass Society",
                   "Kilohertz"),
    "hiphop": ("MC Northside", "Lyric Theory", "Big Sample", "Yung Metronome", "Dusty Crates",
               "Verse Kid"),
    "jazz_classical": ("The Blue Room Trio", "Clara Weiss Ensemble", "Quartet Nocturne",
                       "Miles Away Quintet", "Orchestre du Parc", "Satin Keys"),
    "country": ("Dusty Boots", "Hank Miller", "The Prairie Band", "Sadie Rae", "Whiskey Creek",
                "Cole Harlan"),
    "latin_world": ("Los Niños del Sol", "Café Bossa", "Orquesta Brisa", "Island Roots",
                    "Duo Saudade", "María Lucía"),
}
ALBUM_WORDS = (("Midnight", "Golden", "Northern", "Paper", "Silver", "Open", "Quiet", "Electric",
                "Summer", "Hidden", "Long", "Blue"),
               ("Roads", "Lights", "Hours", "Letters", "Rivers", "Signals", "Gardens", "Stories",
                "Skies", "Rooms", "Echoes", "Tapes"))
TITLE_WORDS = (("Falling", "Running", "Dancing", "Waiting", "Burning", "Drifting", "Holding",
                "Chasing", "Calling", "Turning", "Dreaming", "Walking", "Shining", "Breaking"),
               ("Home", "Light", "Rain", "Fire", "Stars", "Tonight", "Forever", "Slowly", "Away",
                "Together", "Alone", "Again", "Down", "Free", "Blue", "Gold"))


@dataclass(frozen=True)
class DemoSong:
    """One song of the demo library, with the simulated listener's history of it."""

    style: str  # one of STYLES, the song's true genre category
    variant: str  # e.g. "drum & bass"
    seed: int  # render_song seed
    seconds: float
    artist: str
    album: str
    title: str
    track: int
    year: int
    genre: str  # raw genre tag ("" when untagged)
    ext: str  # "mp3", "ogg" or "flac"
    relpath: str  # path below the music folder
    rating: float = -1.0  # 0..1 in steps of 0.1; -1 unrated (as Strawberry stores it)
    playcount: int = 0
    skipcount: int = 0
    lastplayed: int = -1  # epoch seconds, -1 never
    added: int = -1  # epoch seconds the player first listed it (its ctime); -1: the file's own


def plan_catalog(songs: int, seed: int, seconds: tuple[float, float] = (60.0, 180.0)) -> list[DemoSong]:
    """``songs`` songs spread evenly over the seven styles, grouped in albums of 4-10 songs."""
    rng = np.random.default_rng([seed, 10])
    quotas = [songs // len(STYLES) + (i < songs % len(STYLES)) for i in range(len(STYLES))]
    catalog: list[DemoSong] = []
    albums = 0
    for style, quota in zip(STYLES, quotas, strict=True):
        artists = list(rng.choice(ARTISTS[style], size=4, replace=False))
        album_no = 0
        while quota > 0:
            size = min(quota, int(rng.integers(4, 11)))
            artist = str(artists[album_no % len(artists)])
            variant = STYLE_VARIANTS[style][int(rng.integers(len(STYLE_VARIANTS[style])))]
            genre = "" if rng.random() < EMPTY_GENRE_SHARE else str(rng.choice(variant.genres))
            album = f"{rng.choice(ALBUM_WORDS[0])} {rng.choice(ALBUM_WORDS[1])}"
            year = int(rng.integers(1995, 2025))
            ext = FORMATS[albums % len(FORMATS)]
            albums += 1
            for track in range(1, size + 1):
                title = f"{rng.choice(TITLE_WORDS[0])} {rng.choice(TITLE_WORDS[1])}"
                name = f"{track:02d} - {title}.{ext}"
                catalog.append(DemoSong(
                    style=style, variant=variant.name, seed=int(rng.integers(2**31)),
                    seconds=round(float(rng.uniform(*seconds)), 1), artist=artist, album=album,
                    title=title, track=track, year=year, genre=genre, ext=ext,
                    relpath=f"{_safe(artist)}/{_safe(album)} ({year})/{_safe(name)}"))
            quota -= size
            album_no += 1
    return catalog


def listener_taste(seed: int) -> dict[str, float]:
    """How much the simulated listener likes each style, 0..1: two loved, two disliked."""
    rng = np.random.default_rng([seed, 11])
    order = rng.permutation(len(STYLES))
    levels = (0.9, 0.8, 0.6, 0.5, 0.45, 0.2, 0.1)
    return {STYLES[i]: levels[rank] for rank, i in enumerate(order)}


def simulate_listener(catalog: list[DemoSong], seed: int, now: int) -> tuple[list[DemoSong], list[DemoPlay]]:
    """The catalog with ratings, plays, skips and last-played times from a listener with a taste,
    and the listening history of its last months (``demo.listening``), oldest play first.

    About 40 % of songs are rated (strong feelings get rated more often); liked songs are played
    more and skipped less. Within a style the listener prefers some artists and, mildly, faster
    songs, so that a rating model has more to learn than the genre. The player's counters are the
    plays and skips from before the history (the companion was not recording yet) plus those of
    the history, and ``lastplayed`` is the last finish: never less than the history says.

    The library grows: ``NEW_ALBUMS`` of the albums are added during the history (``added``), so
    the listener discovers songs as it goes; the rest were there for years. A song added during
    the history has no plays from before it and is rated only once heard to the end.
    """
    rng = np.random.default_rng([seed, 12])
    taste = listener_taste(seed)
    artist_bias = {a: float(rng.normal(0, 0.08)) for a in sorted({s.artist for s in catalog})}
    history_start = now - HISTORY_DAYS * 86400
    before, likings = [], []
    for song in catalog:
        tempo_bias = 0.1 * (np.random.default_rng([song.seed, 1]).random() - 0.5)
        liking = float(np.clip(taste[song.style] + artist_bias[song.artist] + tempo_bias
                               + rng.normal(0, 0.07), 0.0, 1.0))
        rated = rng.random() < 0.25 + 0.5 * abs(liking - 0.5)
        rating = round(round(liking * 10) / 10, 1) if rated else -1.0
        playcount = int(rng.poisson(0.5 + 14 * liking**2))
        skipcount = int(rng.poisson(0.2 + 5 * (1 - liking) ** 2))
        # the last play from before the history: within the past year
        lastplayed = int(history_start - rng.uniform(0, 365 - HISTORY_DAYS) * 86400) if playcount else -1
        before.append(dataclasses.replace(song, rating=rating, playcount=playcount, skipcount=skipcount,
                                          lastplayed=lastplayed))
        likings.append(liking)
    before = _added(before, seed, history_start)
    plays = listening_history(before, likings, taste, seed, now)
    by_song: dict[str, list[DemoPlay]] = {}
    for play in plays:
        by_song.setdefault(play.relpath, []).append(play)
    return [_with_plays(song, by_song.get(song.relpath, []), history_start) for song in before], plays


def _added(songs: list[DemoSong], seed: int, history_start: int) -> list[DemoSong]:
    """``songs`` with the date each album was added: ``NEW_ALBUMS`` of them during the history
    (without plays from before it), the others one to four years before it."""
    rng = np.random.default_rng([seed, 14])
    when: dict[tuple[str, str], int] = {}
    for song in songs:
        if (song.artist, song.album) not in when:
            new = rng.random() < NEW_ALBUMS
            days = rng.uniform(0.05, 0.95) * HISTORY_DAYS if new else -rng.uniform(365, 4 * 365)
            when[(song.artist, song.album)] = history_start + int(days * 86400)
    out = []
    for song in songs:
        added = when[(song.artist, song.album)]
        if added > history_start:
            song = dataclasses.replace(song, playcount=0, skipcount=0, lastplayed=-1)
        out.append(dataclasses.replace(song, added=added))
    return out


def _with_plays(song: DemoSong, plays: list[DemoPlay], history_start: int) -> DemoSong:
    """``song``'s counters with its ``plays`` of the history added; a song added during the
    history keeps a rating only once heard to the end."""
    finishes = [p.ended for p in plays if p.kind == "finish"]
    rating = song.rating if finishes or song.added <= history_start else -1.0
    return dataclasses.replace(song, playcount=song.playcount + len(finishes),
                               skipcount=song.skipcount + len(plays) - len(finishes),
                               lastplayed=max(finishes, default=song.lastplayed), rating=rating)


def _safe(name: str) -> str:
    """A file or folder name: no path separators, no leading dot."""
    return name.replace("/", "-").replace("\\", "-").lstrip(".") or "_"
