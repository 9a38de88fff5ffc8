"""The two plug points' registries: every encoder backend (song -> vector, ``encoders/``) and
every recommender (library view + listening history -> a score per song, ``recommend/``), by the
name its setting uses. A new one is one new file in its package and one line here.

An entry is ``"module:Class"`` (imported only when it is used, so reading the settings never
imports torch, weights or a model) or the class itself. This module imports nothing of the app:
the settings take their choices from it, and every reader of the store can tell which backend's
vectors to read without opening a backend.
"""

from __future__ import annotations

from typing import Any

from musicrec_desktop.errors import SettingsError

AUTO = "auto"

ENCODER_BACKENDS: dict[str, Any] = {
    "moco": "musicrec_desktop.encoders.moco:MocoBackend",
    "musicnn": "musicrec_desktop.encoders.musicnn:MusicnnBackend",
    "dsp": "musicrec_desktop.encoders.dsp:DspBackend",
    "mfcc": "musicrec_desktop.encoders.mfcc:MfccBackend",
    "mert": "musicrec_desktop.encoders.mert:MertBackend",
}
# ``auto`` is decided by measurement on the person's library (``encoders.measure.best_backend``);
# before anything is measured it serves with the first available of these, which need no training.
FIRST_RUN = ("musicnn", "dsp", "mfcc")
# Backends only the person chooses, never ``auto`` (they may download, or are too slow on a CPU).
OPT_IN = ("mert",)

RECOMMENDERS: dict[str, Any] = {
    "rating": "musicrec_desktop.recommend.rating:RatingModel",
    "favourites": "musicrec_desktop.recommend.rating:FavouritesModel",
    "popularity": "musicrec_desktop.recommend.popularity:ArtistPopularity",
    "knn": "musicrec_desktop.recommend.liked_songs:LikedSongsCentre",
    "session_knn": "musicrec_desktop.recommend.session_knn:SessionKnn",
    "shallow": "musicrec_desktop.recommend.shallow_net:ShallowNet",
    "bert4rec": "musicrec_desktop.recommend.bert4rec:Bert4Rec",
}
# What ``recommender = auto`` means until the study (``recommend/study.py``) has chosen the best
# on the person's listening sessions.
AUTO_RECOMMENDER = "rating"


def encoder_choices() -> tuple[str, ...]:
    """The values the ``encoder`` setting allows, read when a value is checked."""
    return (AUTO, *ENCODER_BACKENDS)


def recommender_choices() -> tuple[str, ...]:
    """The values the ``recommender`` setting allows, read when a value is checked."""
    return (AUTO, *RECOMMENDERS)


def chosen_encoder(setting: str, decided: str | None = None) -> str:
    """The backend whose vectors are read: the ``encoder`` setting, or under ``auto`` the backend
    ``decided`` for it (kept in the embeddings store), else the first-run choice."""
    if setting != AUTO:
        if setting not in ENCODER_BACKENDS:
            raise SettingsError("encoder", setting, "one of " + ", ".join(encoder_choices()))
        return setting
    return decided if decided in ENCODER_BACKENDS else FIRST_RUN[0]


def chosen_recommender(setting: str, decided: str | None = None) -> str:
    """The recommender the ``recommender`` setting names: under ``auto`` the one ``decided`` for
    it (the study's choice on the person's listening, kept in the embeddings store), else
    ``AUTO_RECOMMENDER``."""
    name = setting
    if setting == AUTO:
        name = decided if decided in RECOMMENDERS else AUTO_RECOMMENDER
    if name not in RECOMMENDERS:
        raise SettingsError("recommender", setting, "one of " + ", ".join(recommender_choices()))
    return name
