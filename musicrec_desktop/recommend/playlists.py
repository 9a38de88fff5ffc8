"""Generated playlists: Discover, one per genre category, Forgotten favourites and More like my
five-star songs. Each is a list of ``Recommendation`` with its reason."""

from __future__ import annotations

import numpy as np

from musicrec_desktop.recommend.ranking import LIKED_MIN, Ranker, Recommendation, stars_text
from musicrec_desktop.settings import genre_title

FORGOTTEN_DAYS = 180  # a favourite not played for this long is "forgotten"
FIVE_STARS_MIN = 0.9 - 1e-6  # 4.5 stars and up count as five-star songs
FIVE_STAR_SIMILARITY_WEIGHT = 0.7

DISCOVER = "Discover"
RECOMMENDED = "Recommended"  # "Play recommended"'s playlist in the player
FORGOTTEN = "Forgotten favourites"
MORE_LIKE_FIVE_STARS = "More like my five-star songs"


def discover(ranker: Ranker, n: int) -> list[Recommendation]:
    """Best predicted unrated songs, diverse, the same for the same library and model."""
    rows = np.flatnonzero(ranker.allowed() & np.isnan(ranker.ratings))
    picked = ranker.select(rows, ranker.predicted[rows], n)
    return ranker.recommendations(picked, ranker.predicted)


def genre(ranker: Ranker, category: str, n: int) -> list[Recommendation]:
    """The best songs of a category: the rating where there is one, else the predicted rating."""
    in_category = np.array([category in ranker.categories(s.genre) if s.genre else False
                            for s in ranker.table.songs], dtype=bool)
    rows = np.flatnonzero(ranker.allowed() & in_category)
    score = np.where(np.isnan(ranker.ratings), ranker.predicted, ranker.ratings)
    picked = ranker.select(rows, score[rows], n)
    return ranker.recommendations(picked, score)


def forgotten_favourites(ranker: Ranker, n: int) -> list[Recommendation]:
    """Songs rated four stars or more, last played more than FORGOTTEN_DAYS ago, oldest first
    among the best rated."""
    cutoff = ranker.now - FORGOTTEN_DAYS * 86400
    songs = ranker.table.songs
    rows = np.array([i for i in np.flatnonzero(ranker.allowed() & (ranker.ratings >= LIKED_MIN))
                     if songs[i].lastplayed is not None and songs[i].lastplayed < cutoff], dtype=np.int64)
    if not len(rows):
        return []
    age_days = np.array([(ranker.now - songs[r].lastplayed) / 86400 for r in rows])
    # rating first, then how long ago: +0.1 per year of silence never outweighs half a star
    score = np.zeros(len(songs))
    score[rows] = ranker.ratings[rows] + 0.1 * np.minimum(age_days / 365, 0.99)
    picked = ranker.select(rows, score[rows], n, mmr_lambda=1.0)
    reasons = [f"you rated it {stars_text(songs[r].rating)} and last played it "
               f"{(ranker.now - songs[r].lastplayed) / 86400:.0f} days ago" for r in picked]
    return ranker.recommendations(picked, score, reasons)


def more_like_five_stars(ranker: Ranker, n: int) -> list[Recommendation]:
    """Unrated songs closest to a five-star song, blended with the predicted rating."""
    five = np.flatnonzero(ranker.ratings >= FIVE_STARS_MIN)
    if not len(five):
        return []
    rows = np.flatnonzero(ranker.allowed() & np.isnan(ranker.ratings))
    if not len(rows):
        return []
    nearest = (ranker.table.vectors[rows] @ ranker.table.vectors[five].T).max(axis=1)  # R
    score = np.zeros(len(ranker.table))
    score[rows] = (FIVE_STAR_SIMILARITY_WEIGHT * nearest
                   + (1 - FIVE_STAR_SIMILARITY_WEIGHT) * ranker.predicted[rows])
    picked = ranker.select(rows, score[rows], n)
    return ranker.recommendations(picked, score)


def generate(ranker: Ranker, categories: list[str], n: int) -> dict[str, list[Recommendation]]:
    """Every generated playlist that has songs: name -> songs."""
    out = {DISCOVER: discover(ranker, n)}
    for category in categories:
        out[f"Genre: {genre_title(category)}"] = genre(ranker, category, n)
    out[FORGOTTEN] = forgotten_favourites(ranker, n)
    out[MORE_LIKE_FIVE_STARS] = more_like_five_stars(ranker, n)
    return {name: songs for name, songs in out.items() if songs}
