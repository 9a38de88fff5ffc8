"""Every encoder backend measured on the person's own library, and what ``auto`` chooses from that.

Quality is what the library itself can tell, on the songs every measured backend has embedded:
- ``rating_pearson``: the rating model's out-of-fold Pearson correlation from the embeddings alone
  (the implicit signals left out: they are the same for every backend), when enough songs are rated;
- ``same_album``, ``same_artist``, ``same_folder``: precision@10, the share of each song's ten
  nearest songs (cosine, the song itself left out) from its own album, artist or folder, over the
  songs whose group has another song; a proxy for "sounds alike" where tags or folders exist;
- ``genre_map``: how well the vectors tell the genre categories (the settings' genre mapping)
  apart: each tagged song's categories scored by its ten nearest tagged songs (leave-one-out,
  cosine-weighted votes), mean average precision over the categories. Any backend gets it, a
  trained or a pretrained one alike; it is reported, not used for the choice.
The figures are kept in the embeddings store beside the backend's vectors, with the speed the
last ``embed`` run had on this machine (``songs_per_s``).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore

log = logging.getLogger(__name__)

K = 10
MIN_QUERIES = 10  # fewer songs with a group-mate: the proxy is not measured
MAX_QUERIES = 2000  # songs asked per figure: a random sample of them bounds the time on big libraries
BLOCK = 2048  # query rows per similarity block (memory: BLOCK x songs floats)
# The order the quality figures are compared in: the first one every candidate has decides.
QUALITY = ("rating_pearson", "same_album", "same_artist", "same_folder")


@dataclass
class BackendFigures:
    """One row of ``musicrec backends``."""

    name: str
    title: str
    available: bool
    why_not: str | None  # what to do when not available
    needs_training: bool
    model_id: str | None  # its current vectors in the store; None before `musicrec embed`
    dimension: int | None
    disk_bytes: int | None  # its weights on disk; 0 for none
    songs: int  # songs with its vectors
    songs_per_s: float | None = None
    rating_pearson: float | None = None
    same_album: float | None = None
    same_artist: float | None = None
    same_folder: float | None = None
    genre_map: float | None = None
    measured_songs: int | None = None  # the songs the quality figures were measured on

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()}


def song_groups(songs: Sequence[Song]) -> dict[str, list[str | None]]:
    """proxy -> each song's group (None: no group): album (with its album artist), artist, folder."""
    def album(s: Song) -> str | None:
        return f"{(s.albumartist or s.artist).casefold()}\x1f{s.album.casefold()}" if s.album else None

    def artist(s: Song) -> str | None:
        return (s.albumartist or s.artist).casefold() or None

    def folder(s: Song) -> str | None:
        return str(s.path.parent) if s.path is not None else None

    return {"same_album": [album(s) for s in songs], "same_artist": [artist(s) for s in songs],
            "same_folder": [folder(s) for s in songs]}


def precision_at_k(vectors: np.ndarray, groups: Sequence[str | None], k: int = K) -> float | None:
    """Mean share of each song's k nearest (by dot product of the unit rows ``vectors``: N x D,
    itself left out) that share its group, over songs whose group has another song; None when
    fewer than ``MIN_QUERIES`` such songs or not more than k songs."""
    n = len(groups)
    sizes = Counter(g for g in groups if g is not None)
    queries = np.array([i for i, g in enumerate(groups) if g is not None and sizes[g] > 1])
    if len(queries) < MIN_QUERIES or n <= k:
        return None
    if len(queries) > MAX_QUERIES:  # the same sample for every backend: comparable figures
        queries = np.sort(np.random.default_rng(0).choice(queries, MAX_QUERIES, replace=False))
    index = {g: i for i, g in enumerate(sizes)}
    codes = np.array([index[g] if g is not None else -1 for g in groups])
    hits = []
    for start in range(0, len(queries), BLOCK):
        rows = queries[start:start + BLOCK]
        similarity = vectors[rows] @ vectors.T  # rows x N
        similarity[np.arange(len(rows)), rows] = -np.inf
        nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
        same = codes[nearest] == codes[rows, None]  # query rows always have a group (code >= 0)
        hits.append(same.mean(axis=1))
    return float(np.concatenate(hits).mean())


def chance_at_k(groups: Sequence[str | None]) -> float | None:
    """What ``precision_at_k`` gives for random vectors: the mean share of group-mates among the others."""
    n = len(groups)
    sizes = Counter(g for g in groups if g is not None)
    shares = [(sizes[g] - 1) / (n - 1) for g in groups if g is not None and sizes[g] > 1]
    return float(np.mean(shares)) if len(shares) >= MIN_QUERIES else None


def measure_backends(settings: Settings, dirs: DataDirs, songs: Sequence[Song],
                     names: Sequence[str] | None = None, *, rating: bool = True) -> dict[str, dict]:
    """Measures the quality of every backend (of ``names``) that has vectors, on the library's
    songs they all have, and keeps the figures in the store. Returns name -> figures."""
    from musicrec_desktop.plugpoints import ENCODER_BACKENDS

    if not dirs.embeddings_db.exists():
        return {}
    results = _measure(settings, dirs, songs, names or list(ENCODER_BACKENDS), rating)
    choice = best_backend(figures_table(settings, dirs))
    if choice is not None:
        with EmbeddingStore(dirs.embeddings_db) as store:
            store.set_auto_encoder(choice)
    return results


def _measure(settings: Settings, dirs: DataDirs, songs: Sequence[Song], names: Sequence[str],
             rating: bool) -> dict[str, dict]:
    by_key = {s.key: s for s in songs}
    with EmbeddingStore(dirs.embeddings_db) as store:
        models = {name: store.current_model(name) for name in names}
        models = {name: m for name, m in models.items() if m is not None}
        common = set(by_key)
        for model_id in models.values():
            common &= store.keys(model_id)
        keys = sorted(common)
        results = {}
        for name, model_id in models.items():
            loaded, vectors = store.load(model_id, keys)
            figures = quality(settings, [by_key[k] for k in loaded], vectors, model_id, rating=rating)
            store.put_measurements(model_id, figures)
            results[name] = figures
            log.info("measured %s (%s) on %d songs: %s", name, model_id, len(keys), figures)
    return results


def quality(settings: Settings, songs: list[Song], vectors: np.ndarray, model_id: str, *,
            rating: bool = True) -> dict[str, float | None]:
    """The quality figures of one backend's unit vectors ``vectors`` (rows in ``songs`` order)."""
    figures: dict[str, float | None] = {name: precision_at_k(vectors, groups)
                                        for name, groups in song_groups(songs).items()}
    figures["genre_map"] = knn_genre_map(settings, songs, vectors)
    figures["measured_songs"] = float(len(songs))
    if rating:
        figures["rating_pearson"] = rating_pearson(settings, songs, vectors, model_id)
    return figures


def knn_genre_map(settings: Settings, songs: list[Song], vectors: np.ndarray, k: int = K) -> float | None:
    """Leave-one-out k-NN genre mAP of the unit rows ``vectors`` over the songs whose genre tag maps
    to a category; None when fewer than ``MIN_QUERIES`` such songs or fewer than two categories."""
    from musicrec_desktop.library.genres import GenreMapper
    from musicrec_desktop.model.metrics import genre_map

    mapper = GenreMapper.from_settings(settings)
    labels = mapper.labels(songs)
    tagged = [i for i, s in enumerate(songs) if labels.get(s.key)]
    index = {c: j for j, c in enumerate(mapper.category_names)}
    targets = np.zeros((len(tagged), len(index)), np.float32)
    for row, i in enumerate(tagged):
        targets[row, [index[c] for c in labels[songs[i].key]]] = 1.0
    if len(tagged) < MIN_QUERIES or (targets.sum(axis=0) > 0).sum() < 2:
        return None
    k = min(k, len(tagged) - 1)
    scores = np.zeros_like(targets)
    for start in range(0, len(tagged), BLOCK):
        rows = np.arange(start, min(start + BLOCK, len(tagged)))
        similarity = vectors[np.array(tagged)[rows]] @ vectors[tagged].T  # rows x tagged
        similarity[np.arange(len(rows)), rows] = -np.inf
        nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
        weights = (1.0 + np.take_along_axis(similarity, nearest, axis=1)) / 2.0  # cosine -> 0..1
        scores[rows] = np.einsum("rk,rkc->rc", weights, targets[nearest])
    value = genre_map(scores, targets)
    return value if math.isfinite(value) else None


def rating_pearson(settings: Settings, songs: list[Song], vectors: np.ndarray, model_id: str) -> float | None:
    """The rating model's cross-validated Pearson from the embeddings alone; None below MIN_RATINGS."""
    from musicrec_desktop.recommend.rating import EMBEDDINGS_ONLY, MIN_RATINGS, RatingConfig, train
    from musicrec_desktop.recommend.table import SongTable

    if sum(s.rating is not None for s in songs) < MIN_RATINGS:
        return None
    _, report = train(SongTable(model_id, songs, vectors), RatingConfig.from_settings(settings))
    pearson = (report.variants or {}).get(EMBEDDINGS_ONLY, {}).get("pearson")
    return None if pearson is None or not math.isfinite(pearson) else float(pearson)


def figures_table(settings: Settings, dirs: DataDirs) -> list[BackendFigures]:
    """Every backend with what is known of it here: available or why not, size, stored figures."""
    from musicrec_desktop.encoders.choice import backend_class
    from musicrec_desktop.plugpoints import ENCODER_BACKENDS

    store = EmbeddingStore(dirs.embeddings_db) if dirs.embeddings_db.exists() else None
    rows = []
    try:
        for name in ENCODER_BACKENDS:
            cls = backend_class(name)
            backend = cls(settings, dirs)
            why_not = backend.unavailable()
            model_id = store.current_model(name) if store is not None else None
            size = getattr(backend, "disk_bytes", None)
            row = BackendFigures(name, cls.title, why_not is None, why_not, cls.needs_training, model_id,
                                 store.dim(model_id) if model_id else None, size() if size else None,
                                 len(store.keys(model_id)) if model_id else 0)
            if model_id:
                for key, value in store.measurements(model_id).items():
                    if key == "measured_songs":
                        row.measured_songs = None if value is None else int(value)
                    elif hasattr(row, key):
                        setattr(row, key, value)
            rows.append(row)
    finally:
        if store is not None:
            store.close()
    return rows


def best_backend(rows: Sequence[BackendFigures]) -> str | None:
    """The available, embedded backend (not an opt-in one) with the best quality figure, comparing
    the first figure of ``QUALITY`` that every such backend has; before any is measured, the first
    available of ``FIRST_RUN`` (needs no training: serves at once); None when neither exists."""
    from musicrec_desktop.plugpoints import FIRST_RUN, OPT_IN

    candidates = [r for r in rows if r.available and r.model_id and r.name not in OPT_IN]
    for figure in QUALITY:
        values = [getattr(r, figure) for r in candidates]
        if candidates and all(v is not None for v in values):
            return max(zip(values, candidates, strict=True), key=lambda pair: pair[0])[1].name
    available = {r.name for r in rows if r.available}
    return next((name for name in FIRST_RUN if name in available), None)


def choice_headline(rows: Sequence[BackendFigures], setting: str) -> str:
    """What the ``encoder`` setting ``setting`` uses here, in one sentence."""
    auto = best_backend(rows)
    if setting != "auto":
        return f"uses {setting}; auto would use {auto}."
    if any(getattr(r, q) is not None for r in rows for q in QUALITY):
        return f"auto uses {auto}, the best measured on your library."
    return f"auto uses {auto} until a measurement decides (no training needed)."


def choice_summary(rows: Sequence[BackendFigures], setting: str) -> str:
    """The headline and what each backend measured here, for the settings dialog."""
    parts = []
    for r in rows:
        if not r.available:
            parts.append(f"{r.name}: not available")
        elif not r.model_id:
            parts.append(f"{r.name}: not embedded yet")
        else:
            figures = [f"{label} {value:.2f}" for label, value in (
                ("rating r", r.rating_pearson), ("album P@10", r.same_album),
                ("artist P@10", r.same_artist), ("folder P@10", r.same_folder),
                ("songs/s", r.songs_per_s)) if value is not None]
            parts.append(f"{r.name}: " + (", ".join(figures) or "not measured yet"))
    headline = choice_headline(rows, setting)
    return f"{headline[0].upper()}{headline[1:]} Measured here: " + "; ".join(parts) + "."
