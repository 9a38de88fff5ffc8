"""Generated playlists: Discover, one per genre category, Forgotten favourites, More like my
five-star songs and My taste fingerprint. Each is a list of ``Recommendation`` with its reason."""

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
TASTE_FINGERPRINT = "My taste fingerprint"  # a fixed name: each run replaces the same files

FINGERPRINT_ANCHORS = 20  # the most played and best rated songs whose neighbourhood it is
UNHEARD_DAYS = 90  # not played for this long (or never): the full "not heard lately" share
# The fingerprint's score: closeness to an anchor, not heard lately, predicted rating.
FINGERPRINT_WEIGHTS = (0.6, 0.25, 0.15)


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


def taste_fingerprint(ranker: Ranker, n: int) -> list[Recommendation]:
    """The neighbourhood of the person's most played and best rated songs (the anchors): songs
    close to an anchor, favouring those not heard lately, the anchors themselves left out."""
    songs, vectors = ranker.table.songs, ranker.table.vectors
    plays = np.array([s.playcount for s in songs], dtype=np.float64)
    rated = np.nan_to_num(ranker.ratings, nan=0.0)
    # rating 0..1 plus plays 0..1 (log scale: the 500th play counts less than the 5th)
    weight = rated + np.log1p(plays) / max(float(np.log1p(plays.max())), 1e-9)
    disliked = ranker.ratings <= 0.4 + 1e-6  # never an anchor, however often it played
    anchors = np.array([r for r in np.argsort(-weight, kind="stable")[:FINGERPRINT_ANCHORS]
                        if weight[r] > 0 and not disliked[r]], dtype=np.int64)
    if not len(anchors):
        return []
    rows = np.setdiff1d(np.flatnonzero(ranker.allowed()), anchors)
    if not len(rows):
        return []
    sims = vectors[rows] @ vectors[anchors].T  # R x A
    nearest = anchors[np.argmax(sims, axis=1)]  # R: the anchor each song is closest to
    # never played (no date, or the players' 0 / -1) counts as not heard for long
    days = np.array([(ranker.now - songs[r].lastplayed) / 86400 if (songs[r].lastplayed or 0) > 0
                     else UNHEARD_DAYS for r in rows])
    near, unheard, liked = FINGERPRINT_WEIGHTS
    score = np.zeros(len(songs))
    score[rows] = (near * sims.max(axis=1) + unheard * np.clip(days / UNHEARD_DAYS, 0.0, 1.0)
                   + liked * ranker.predicted[rows])
    picked = ranker.select(rows, score[rows], n)
    anchor_of = dict(zip(rows.tolist(), nearest.tolist(), strict=True))
    reasons = [_fingerprint_reason(ranker, r, anchor_of[r]) for r in picked]
    return ranker.recommendations(picked, score, reasons)


def _fingerprint_reason(ranker: Ranker, row: int, anchor: int) -> str:
    song, near = ranker.table.songs[row], ranker.table.songs[anchor]
    why = [f"rated {stars_text(near.rating)}"] if near.rating is not None else []
    if near.playcount:
        why.append("played once" if near.playcount == 1 else f"played {near.playcount} times")
    heard = (f"last played {(ranker.now - song.lastplayed) / 86400:.0f} days ago"
             if (song.lastplayed or 0) > 0 else "never played")
    return f"near {near.display_name} ({', '.join(why) or 'one of your favourites'}); {heard}"


def generate(ranker: Ranker, categories: list[str], n: int) -> dict[str, list[Recommendation]]:
    """Every generated playlist that has songs: name -> songs."""
    out = {DISCOVER: discover(ranker, n)}
    for category in categories:
        out[f"Genre: {genre_title(category)}"] = genre(ranker, category, n)
    out[FORGOTTEN] = forgotten_favourites(ranker, n)
    out[MORE_LIKE_FIVE_STARS] = more_like_five_stars(ranker, n)
    out[TASTE_FINGERPRINT] = taste_fingerprint(ranker, n)
    return {name: songs for name, songs in out.items() if songs}
