"""A song as the rest of the app sees it, whatever library it came from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


def song_key(url: str, beginning_ns: int = 0) -> str:
    """A stable, unique key. CUE-sheet tracks share a file and differ by their start offset.

    Encoded URLs never contain a raw ``@`` after the path part is percent-encoded by the players,
    but keys are only ever compared, never parsed, so the format just has to be unique.
    """
    return url if not beginning_ns else f"{url}@{beginning_ns}"


@dataclass(frozen=True)
class Song:
    key: str  # song_key(url, beginning); unique within a library
    url: str  # as the player stores it (file:///... percent-encoded)
    path: Path | None  # local file; None for streams and other non-file URLs
    title: str = ""
    artist: str = ""
    album: str = ""
    albumartist: str = ""
    genre: str = ""  # raw genre text as tagged; mapped to categories by library.genres
    year: int | None = None
    rating: float | None = None  # 0..1 (one star = 0.2); None when unrated
    playcount: int = 0
    skipcount: int = 0
    lastplayed: int | None = None  # epoch seconds; None when never played
    score: float | None = None  # Clementine's automatic score 0..100
    length_s: float | None = None  # seconds
    beginning_s: float = 0.0  # CUE offset into the file, seconds
    available: bool = True  # the file exists on this machine (checked when read, not the player's word)
    mbid: str = ""  # MusicBrainz recording id, where the player keeps one (else "")
    # When the player first listed the file (its ctime column), epoch seconds; None when unknown.
    # The evaluation keeps songs added after its cut-off out of the candidates.
    added: int | None = None
    # What the tags say of the song's feel, for the text search's descriptions; unknown: None / "".
    bpm: float | None = None  # tempo, beats per minute
    mood: str = ""  # raw mood text as tagged ("Calm; Dreamy")
    comment: str = ""  # the comment tag, as tagged

    @property
    def stars(self) -> float | None:
        return None if self.rating is None else round(self.rating * 5, 1)

    @property
    def display_name(self) -> str:
        if self.artist and self.title:
            return f"{self.artist} – {self.title}"
        return self.title or (self.path.name if self.path else self.url)


@dataclass
class LibraryScan:
    """The result of reading a library: the songs and what was skipped, by reason."""

    source: str  # "strawberry", "clementine", "folders", "demo"
    location: Path | None  # database file or first music folder
    songs: list[Song] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> rows
    # reason -> songs kept with something ignored or missing ("file missing", "rating out of range")
    notes: Counter[str] = field(default_factory=Counter)

    def by_key(self) -> dict[str, Song]:
        return {s.key: s for s in self.songs}

    @property
    def local_songs(self) -> list[Song]:
        """Songs whose file is on this machine (the ones that can be cached and embedded)."""
        return [s for s in self.songs if s.path is not None and s.available]
