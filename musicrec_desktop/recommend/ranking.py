"""Turning predicted ratings into lists: the exclusion rules, MMR diversity, the artist cap, the
artist and album gaps, near-duplicates and the reason that goes with each song.

``Ranker.allowed`` and ``Ranker.select`` are the one place the list rules of the settings apply;
every list maker (Play recommended, radio, song paths, the generated playlists) goes through them."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.table import SongTable, normalised_name
from musicrec_desktop.recommend.taste import TasteModel
from musicrec_desktop.settings import Settings, genre_title

DISLIKED_MAX = 0.4 + 1e-6  # two stars or less: never recommended
LIKED_MIN = 0.8 - 1e-6  # four stars or more: a song that can be the reason for another
RARELY_PLAYED = 2  # "Play recommended" picks among unrated songs and songs played this often at most
DUPLICATE_COSINE = 0.98  # embeddings this close are the same recording (other album, remaster)
MMR_LAMBDA = 0.7  # relevance vs novelty in maximal marginal relevance
VARIETY = 0.03  # size of the random nudge that varies lists between calls

Categories = Callable[[str], Iterable[str]]


@dataclass(frozen=True)
class Recommendation:
    song: Song
    score: float  # what the list was ranked by (higher first)
    predicted_rating: float | None  # 0..1; None when only the favourites fallback is available
    reason: str


def stars_text(rating: float) -> str:
    """0..1 -> "★★★★½" (half stars as the players show them)."""
    halves = round(rating * 10)
    return "★" * (halves // 2) + ("½" if halves % 2 else "")


def _artist(song: Song) -> str:
    """The artist the cap and the spreading count. Untagged songs are not one shared artist."""
    name = (song.artist or song.albumartist).casefold().strip()
    return name or f"\0{song.key}"


def _album(song: Song) -> str:
    """The album the album gap counts: its title with its artist (many artists have a "Greatest
    Hits"). Songs without an album are not one shared album."""
    title = song.album.casefold().strip()
    return f"{(song.albumartist or song.artist).casefold().strip()}|{title}" if title else f"\0{song.key}"


class Ranker:
    """Holds the predictions for a table and applies the list rules of the settings."""

    def __init__(self, table: SongTable, taste: TasteModel, settings: Settings,
                 categories: Categories | None = None, now: float | None = None) -> None:
        self.table, self.taste, self.settings = table, taste, settings
        self.categories = categories or (lambda raw: ())
        self.now = time.time() if now is None else now
        self.predicted = taste.predict(table)  # N float32 0..1
        self.ratings = table.ratings()  # N float32, NaN unrated
        self._names = [normalised_name(s) for s in table.songs]
        liked = np.flatnonzero(self.ratings >= LIKED_MIN)
        if len(liked) == 0 and not np.all(np.isnan(self.ratings)):
            liked = np.flatnonzero(self.ratings >= np.nanmax(self.ratings))
        self._reason_rows = liked
        self._allowed: dict[bool, np.ndarray] = {}
        self._reason_is_rating = len(liked) > 0
        if not self._reason_is_rating:
            self._reason_rows = np.array([r for r in map(table.row, taste.reason_keys()) if r is not None],
                                         dtype=np.int64)

    # -- which songs may appear --------------------------------------------------------------
    def allowed(self, *, skip_recent: bool = True) -> np.ndarray:
        """N bool: available, not rated two stars or less, not excluded by artist or genre, not
        longer than ``max_song_minutes`` (when set) and (with ``skip_recent``) not played in the
        last ``recent_days`` days."""
        if skip_recent not in self._allowed:
            self._allowed[skip_recent] = self._allowed_mask(skip_recent)
        return self._allowed[skip_recent].copy()

    def _allowed_mask(self, skip_recent: bool) -> np.ndarray:
        s = self.settings
        banned_artists = {a.casefold().strip() for a in s.exclude_artists}
        banned_genres = {g.casefold().strip() for g in s.exclude_genres}
        recent_after = self.now - s.recent_days * 86400
        longest_s = s.max_song_minutes * 60 or float("inf")
        out = np.ones(len(self.table), dtype=bool)
        for i, song in enumerate(self.table.songs):
            if (not song.available
                    or (song.rating is not None and song.rating <= DISLIKED_MAX)
                    or (skip_recent and s.recent_days and song.lastplayed and song.lastplayed >= recent_after)
                    or (song.length_s or 0.0) > longest_s
                    or (banned_artists and {_artist(song), song.albumartist.casefold().strip()}
                        & banned_artists)
                    or (banned_genres and self._genre_banned(song.genre, banned_genres))):
                out[i] = False
        return out

    def _genre_banned(self, raw: str, banned: set[str]) -> bool:
        if not raw:
            return False
        # A category can be banned by its id or by the title the person sees ("Latin and world").
        words = {raw.casefold().strip()} | {name.casefold() for c in self.categories(raw)
                                            for name in (c, genre_title(c))}
        return bool(words & banned)

    def unrated_or_rarely_played(self) -> np.ndarray:
        return np.array([s.rating is None or s.playcount <= RARELY_PLAYED for s in self.table.songs])

    # -- choosing ----------------------------------------------------------------------------
    def select(self, rows: np.ndarray, relevance: np.ndarray, n: int, *,
               rng: np.random.Generator | None = None, mmr_lambda: float = MMR_LAMBDA,
               artist_cap: int | None = None, artist_gap: int = 0,
               history: list[int] = ()) -> list[int]:
        """Up to ``n`` of ``rows`` picked by MMR over ``relevance`` (one per row), with the artist cap,
        at least ``artist_gap`` (or the setting's, if larger) other songs between two of one artist,
        the setting's album gap, and no near-duplicates of each other or of ``history`` (rows
        already played in this list or session, oldest first; the gaps count back into it)."""
        if len(rows) == 0 or n <= 0:
            return []
        relevance = relevance.astype(np.float64)
        if rng is not None:
            relevance = relevance + rng.normal(0.0, VARIETY, len(relevance))
        pool_size = min(len(rows), max(20 * n, 300))
        order = np.argsort(-relevance, kind="stable")[:pool_size]
        rows, relevance = np.asarray(rows)[order], relevance[order]
        vectors = self.table.vectors[rows]  # P x D
        cap = self.settings.artist_cap if artist_cap is None else artist_cap
        artists = [_artist(self.table.songs[r]) for r in rows]
        albums = [_album(self.table.songs[r]) for r in rows]
        counts: Counter[str] = Counter()
        artist_gap = max(artist_gap, self.settings.artist_gap)
        album_gap = self.settings.album_gap
        recent = [_artist(self.table.songs[r]) for r in history][-artist_gap:] if artist_gap else []
        recent_albums = [_album(self.table.songs[r]) for r in history][-album_gap:] if album_gap else []
        names = {self._names[r] for r in history}
        max_sim = np.full(len(rows), -1.0)
        blocked = np.zeros(len(rows), dtype=bool)
        if len(history):
            past = self.table.vectors[list(history)] @ vectors.T  # H x P
            blocked |= past.max(axis=0) > DUPLICATE_COSINE
        picked: list[int] = []
        while len(picked) < n:
            ok = ~blocked & np.array([counts[a] < cap and a not in recent and b not in recent_albums
                                      for a, b in zip(artists, albums, strict=True)])
            ok &= np.array([self._names[r] not in names for r in rows])
            if not ok.any():
                break
            diversity = np.where(max_sim > -1.0, max_sim, 0.0)
            mmr = np.where(ok, mmr_lambda * relevance - (1 - mmr_lambda) * diversity, -np.inf)
            best = int(np.argmax(mmr))
            picked.append(int(rows[best]))
            blocked[best] = True
            sims = vectors @ vectors[best]  # P
            max_sim = np.maximum(max_sim, sims)
            blocked |= sims > DUPLICATE_COSINE
            counts[artists[best]] += 1
            names.add(self._names[rows[best]])
            if artist_gap:
                recent = (recent + [artists[best]])[-artist_gap:]
            if album_gap:
                recent_albums = (recent_albums + [albums[best]])[-album_gap:]
        return picked

    # -- explaining --------------------------------------------------------------------------
    def reasons(self, rows: list[int]) -> list[str]:
        """The nearest highly rated song of each row (the favourites without ratings)."""
        if not rows:
            return []
        if len(self._reason_rows) == 0:
            return ["picked for variety: no ratings or plays to compare with yet"] * len(rows)
        sims = self.table.vectors[rows] @ self.table.vectors[self._reason_rows].T  # M x L
        sims[np.asarray(rows)[:, None] == self._reason_rows[None, :]] = -np.inf  # not itself
        out = []
        for i, row in enumerate(rows):
            j = int(np.argmax(sims[i]))
            if not np.isfinite(sims[i, j]):
                out.append(self._own_reason(row))
                continue
            near = self.table.songs[self._reason_rows[j]]
            if self._reason_is_rating:
                out.append(f"because you rated {near.display_name} {stars_text(near.rating)}")
            else:
                out.append(f"because you often play {near.display_name}")
        return out

    def _own_reason(self, row: int) -> str:
        song = self.table.songs[row]
        if song.rating is None:
            return "one of your favourites"
        return f"you rated it {stars_text(song.rating)}"

    def recommendations(self, rows: list[int], scores: np.ndarray, reasons: list[str] | None = None
                        ) -> list[Recommendation]:
        """``scores``: N (per table row)."""
        reasons = reasons or self.reasons(rows)
        predicted = self.taste.predicts_rating
        return [Recommendation(self.table.songs[r], float(scores[r]),
                               float(self.predicted[r]) if predicted else None, reason)
                for r, reason in zip(rows, reasons, strict=True)]
