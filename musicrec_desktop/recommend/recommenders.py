"""Every recommender (a taste model: library view + listening history -> a score per song), by the
name the ``recommender`` setting uses: one line per recommender.

An entry is ``"module:Class"`` (imported only when used, so reading the settings never imports a
model) or the class itself. The settings import this module for the setting's choices, so it
imports nothing of the app. Evaluation measures every entry.
"""

from __future__ import annotations

from typing import Any

AUTO = "auto"

RECOMMENDERS: dict[str, Any] = {
    "rating": "musicrec_desktop.recommend.rating:RatingModel",
    "favourites": "musicrec_desktop.recommend.rating:FavouritesModel",
    "popularity": "musicrec_desktop.recommend.popularity:ArtistPopularity",
    "knn": "musicrec_desktop.recommend.liked_songs:LikedSongsCentre",
}

# What ``auto`` means until the best on a time split is chosen by measurement.
AUTO_CHOICE = "rating"


def recommender_choices() -> tuple[str, ...]:
    """The values the ``recommender`` setting allows, read when a value is checked."""
    return (AUTO, *RECOMMENDERS)


def resolve(name: str) -> str:
    return AUTO_CHOICE if name == AUTO else name
