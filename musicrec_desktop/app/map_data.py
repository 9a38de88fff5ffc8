"""What the library map shows: each song's place in 2-D and the ways to colour the songs.

Computed on a worker thread with numpy alone (no Qt, no torch): the songs' embeddings on their
two main axes, and one ``Colouring`` per thing the app knows about a song: its genre tag, the
genre the encoder predicts, the person's rating, the rating the recommender predicts, and groups
of similar songs. Groups need no
tags at all, so an untagged library still shows its structure.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from musicrec_desktop.context import AppContext
from musicrec_desktop.library.genres import GenreMapper
from musicrec_desktop.library.song import Song
from musicrec_desktop.settings import genre_title

FAVOURITE_RATING = 0.8  # four stars or more
MAX_MAP_SONGS = 20_000  # beyond this the map is a sample: a point per pixel says nothing more
REDUCED_DIMENSIONS = 32  # groups and neighbours are found on this many main axes
NEIGHBOURS = 10  # tagged songs that vote for a song's predicted genre
MAX_REFERENCE_SONGS = 4000  # tagged songs that can vote (a sample beyond), to keep the map quick
MAX_CLUSTERS = 8
KMEANS_ROUNDS = 30
KMEANS_STARTS = 5

GENRE_TAG = "Genre tag"
PREDICTED_GENRE = "Predicted genre"
RATING = "Your rating"
PREDICTED_RATING = "Predicted rating"
CLUSTERS = "Groups of similar songs"
NO_CATEGORY = "Other genre"  # tagged, but the tag maps to no category
NO_GENRE = "No genre tag"
NOT_RATED = "Not rated"
NOT_PREDICTED = "No prediction"


@dataclass
class Colouring:
    """One way to colour the map: ``legend[groups[i]]`` names song i's colour."""

    title: str  # what the choice says: "Genre tag"
    legend: list[str]  # the groups, in the legend's order
    groups: np.ndarray  # N int, an index into ``legend`` per song
    ordered: bool = False  # the groups are steps of one scale (ratings): coloured along a ramp
    # each group's place in the full list it comes from (a genre keeps its colour whether or not
    # the others are there, and between the genre tag and the predicted genre); None: in order
    slots: list[int] | None = None


@dataclass
class MapData:
    xy: np.ndarray  # N x 2 float32
    keys: list[str]
    labels: list[str]  # "Artist – Title", as the person reads a song
    favourite: np.ndarray  # N bool
    colourings: list[Colouring] = field(default_factory=list)
    default: int = 0  # the colouring shown first

    @classmethod
    def empty(cls) -> MapData:
        return cls(np.zeros((0, 2), np.float32), [], [], np.zeros(0, bool))


def load_map(ctx: AppContext) -> MapData:
    """Reads the library and the chosen encoder's embeddings (and its genre predictions, when it
    stores them) and works out the map."""
    from musicrec_desktop.errors import NotReadyError
    from musicrec_desktop.library import current_library
    from musicrec_desktop.recommend.predictions import read_predictions
    from musicrec_desktop.store.embeddings import EmbeddingStore

    if not ctx.dirs.embeddings_db.exists():
        return MapData.empty()
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        try:
            model = store.chosen_model(ctx.settings.encoder)  # the vectors the recommendations read
        except NotReadyError:
            return MapData.empty()
        keys, vectors = store.load(model)
        head = store.load_extras(model, "genres")  # the encoder's genre head, song key -> C scores
        tags = store.load_extras(model, "tags")  # MusiCNN's 50 tag probabilities, song key -> 50
    mapper = GenreMapper.from_settings(ctx.settings)
    if not head and tags:  # a pretrained tagger: its genre words through the person's genre mapping
        from musicrec_desktop.musicnn.tags import tag_genres

        keys_with_tags = list(tags)
        scores_of = tag_genres(np.stack([tags[k] for k in keys_with_tags]), mapper.categories,
                               mapper.category_names)
        head = dict(zip(keys_with_tags, scores_of, strict=True))
    by_key = current_library(ctx.settings, ctx.dirs).by_key()
    known = [i for i, k in enumerate(keys) if k in by_key]
    if len(known) > MAX_MAP_SONGS:
        known = sorted(np.random.default_rng(0).choice(known, MAX_MAP_SONGS, replace=False).tolist())
    songs = [by_key[keys[i]] for i in known]
    scores = None
    if head and all(s.key in head for s in songs):
        scores = np.stack([head[s.key] for s in songs])
    return map_data(songs, vectors[known], mapper, scores, read_predictions(ctx.dirs))


def map_data(songs: list[Song], vectors: np.ndarray, mapper: GenreMapper,
             genre_scores: np.ndarray | None = None, predictions: dict[str, float] | None = None
             ) -> MapData:
    """``vectors``: N x D embeddings of ``songs``; ``genre_scores``: N x C scores of the
    encoder's genre head in the order of ``mapper.category_names``, if it has one;
    ``predictions``: song key -> the recommender's predicted rating, if it saved them."""
    axes = principal_components(vectors, REDUCED_DIMENSIONS)  # N x 32; the first two draw the map
    reduced = axes / (np.linalg.norm(axes, axis=1, keepdims=True) + 1e-9)
    tags = genre_tags(songs, mapper)
    colourings = [tags]
    predicted = predicted_genres(songs, mapper, reduced, genre_scores)
    if predicted is not None:
        colourings.append(predicted)
    colourings.append(ratings(songs))
    predicted_stars = predicted_ratings(songs, predictions or {})
    if predicted_stars is not None:
        colourings.append(predicted_stars)
    colourings.append(clusters(songs, reduced))
    # Tags when most songs have a category; otherwise the groups the embeddings show by themselves.
    known = [i for i, name in enumerate(tags.legend) if name not in (NO_CATEGORY, NO_GENRE)]
    tagged = float(np.isin(tags.groups, known).mean()) if songs else 0.0
    default = 0 if tagged >= 0.5 else len(colourings) - 1
    favourite = np.array([(s.rating or 0.0) >= FAVOURITE_RATING for s in songs], dtype=bool)
    return MapData(np.ascontiguousarray(axes[:, :2]), [s.key for s in songs],
                   [s.display_name for s in songs], favourite, colourings, default)


def genre_tags(songs: list[Song], mapper: GenreMapper) -> Colouring:
    """The first category of each song's genre tag, in the person's words."""
    names = []
    for song in songs:
        categories = mapper.categories(song.genre)
        names.append(genre_title(categories[0]) if categories else
                     NO_CATEGORY if song.genre.strip() else NO_GENRE)
    order = [genre_title(c) for c in mapper.category_names] + [NO_CATEGORY, NO_GENRE]
    return _colouring(GENRE_TAG, names, order)


def predicted_genres(songs: list[Song], mapper: GenreMapper, reduced: np.ndarray,
                     genre_scores: np.ndarray | None) -> Colouring | None:
    """The genre the encoder's genre head gives each song; for an encoder without one, the genre
    most of its ``NEIGHBOURS`` nearest tagged songs have (as the report's k-NN accuracy measures).
    None when no song has a category: then there is nothing a prediction could have learned."""
    categories = list(mapper.category_names)
    labelled = [i for i, s in enumerate(songs) if mapper.categories(s.genre)]
    if not labelled or not categories:
        return None
    if genre_scores is not None and genre_scores.shape[1] == len(categories):
        best = np.asarray(genre_scores).argmax(axis=1)
    else:
        best = _neighbour_vote(reduced, labelled, [mapper.categories(songs[i].genre)[0] for i in labelled],
                               categories)
    names = [genre_title(categories[b]) for b in best]
    return _colouring(PREDICTED_GENRE, names, [genre_title(c) for c in categories])


def _neighbour_vote(reduced: np.ndarray, labelled: list[int], first_categories: list[str],
                    categories: list[str]) -> np.ndarray:
    """N ints: the category most of each song's nearest tagged songs (itself left out) have."""
    rng = np.random.default_rng(0)
    reference = np.array(labelled)
    if len(reference) > MAX_REFERENCE_SONGS:
        keep = np.sort(rng.choice(len(reference), MAX_REFERENCE_SONGS, replace=False))
        reference, first_categories = reference[keep], [first_categories[i] for i in keep]
    votes_of = np.array([categories.index(c) for c in first_categories])  # R
    k = min(NEIGHBOURS, len(reference))
    best = np.zeros(len(reduced), dtype=np.int64)
    for start in range(0, len(reduced), 1024):  # 1024 x R similarities at a time
        rows = np.arange(start, min(start + 1024, len(reduced)))
        sims = reduced[rows] @ reduced[reference].T  # B x R cosine
        sims[rows[:, None] == reference[None, :]] = -np.inf  # a tagged song does not vote for itself
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # B x k
        weights = np.take_along_axis(sims, top, axis=1)
        weights = np.where(np.isfinite(weights), 1.0 + 0.01 * weights, 0.0)  # nearer breaks ties
        tally = np.zeros((len(rows), len(categories)))
        np.add.at(tally, (np.repeat(np.arange(len(rows)), k), votes_of[top].ravel()), weights.ravel())
        best[rows] = tally.argmax(axis=1)
    return best


def ratings(songs: list[Song]) -> Colouring:
    """The person's rating in whole stars, unrated songs apart."""
    return _stars(RATING, [s.rating for s in songs], NOT_RATED)


def predicted_ratings(songs: list[Song], predictions: dict[str, float]) -> Colouring | None:
    """The rating the recommender predicts for each song (saved by the last run); None when it
    saved none (a recommender that predicts no ratings, or no run yet)."""
    if not predictions:
        return None
    return _stars(PREDICTED_RATING, [predictions.get(s.key) for s in songs], NOT_PREDICTED)


def _stars(title: str, values: list[float | None], missing: str) -> Colouring:
    """Ratings 0..1 in whole stars (half stars round up, at least one), ``missing`` apart."""
    legend = ["★★★★★", "★★★★", "★★★", "★★", "★", missing]
    groups = [legend.index(missing) if v is None else
              5 - min(5, max(1, int(np.ceil(round(v * 10) / 2)))) for v in values]
    return Colouring(title, legend, np.array(groups, dtype=np.int64), ordered=True)


def clusters(songs: list[Song], reduced: np.ndarray) -> Colouring:
    """k-means groups of similar-sounding songs, biggest first, each named by the artist, album
    or folder that most of its songs share and most other songs do not."""
    n = len(songs)
    k = min(MAX_CLUSTERS, max(1, round(np.sqrt(n / 3))), n)
    assignment = kmeans(reduced, k) if n else np.zeros(0, dtype=np.int64)
    sizes = np.bincount(assignment, minlength=k)
    order = [int(c) for c in np.argsort(-sizes, kind="stable") if sizes[c]]
    legend = []
    for number, cluster in enumerate(order, start=1):
        members = np.flatnonzero(assignment == cluster)
        common = _shared_name(songs, members)
        legend.append(f"Group {number}" + (f" (mostly {common})" if common else ""))
    groups = np.array([order.index(c) for c in assignment], dtype=np.int64)
    return Colouring(CLUSTERS, legend, groups)


def _shared_name(songs: list[Song], members: np.ndarray) -> str:
    """The artist, album or folder that more than half of ``members`` have and less than half of
    all ``songs`` have (a name every song shares tells one group from no other); "" when none."""
    best, share = "", 0.5
    for value in (lambda s: s.artist, lambda s: s.album, lambda s: s.path.parent.name if s.path else ""):
        name, count = Counter(value(songs[i]).strip() for i in members).most_common(1)[0]
        overall = sum(value(s).strip() == name for s in songs) / len(songs)
        if name and count / len(members) > share and (overall < 0.5 or len(members) == len(songs)):
            best, share = name, count / len(members)
    return best


def kmeans(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """N ints in 0..k-1: the best (least spread) of ``KMEANS_STARTS`` k-means runs on ``x`` N x D."""
    best, best_spread = np.zeros(len(x), dtype=np.int64), np.inf
    for start in range(KMEANS_STARTS):  # one k-means++ start can settle on two groups in one
        assignment, spread = _kmeans_once(x, k, np.random.default_rng(seed + start))
        if spread < best_spread:
            best, best_spread = assignment, spread
    return best


def _kmeans_once(x: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """k-means++ start, then up to ``KMEANS_ROUNDS`` rounds; the groups and their squared spread."""
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):  # k-means++: far points are likelier next centres
        distance = np.min([((x - c) ** 2).sum(axis=1) for c in centres], axis=0)
        if distance.sum() <= 0:
            break
        centres.append(x[rng.choice(len(x), p=distance / distance.sum())])
    c = np.array(centres)  # k x D
    assignment = np.full(len(x), -1, dtype=np.int64)
    for _ in range(KMEANS_ROUNDS):
        distance = (x ** 2).sum(axis=1)[:, None] - 2 * x @ c.T + (c ** 2).sum(axis=1)[None, :]  # N x k
        new = distance.argmin(axis=1)
        if np.array_equal(new, assignment):
            break  # settled
        assignment = new
        for j in range(len(c)):
            if np.any(assignment == j):
                c[j] = x[assignment == j].mean(axis=0)
    spread = float(((x - c[assignment]) ** 2).sum())
    return assignment, spread


def principal_components(vectors: np.ndarray, n: int) -> np.ndarray:
    """N x D float embeddings -> N x n float32 coordinates on their ``n`` main axes (numpy);
    zero columns where there are fewer axes than ``n``."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or len(x) < 2:
        return np.zeros((len(x) if x.ndim == 2 else 0, n), dtype=np.float32)
    x = x - x.mean(axis=0)
    if len(x) > x.shape[1]:
        # Many songs: the D x D covariance is smaller than the data; its top eigenvectors are the axes.
        _, vectors_ = np.linalg.eigh(x.T @ x)
        axes = vectors_[:, ::-1][:, :n]  # D x n
    else:
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        axes = vt[:n].T  # D x (<=n)
    xy = x @ axes
    if xy.shape[1] < n:
        xy = np.pad(xy, ((0, 0), (0, n - xy.shape[1])))
    return xy.astype(np.float32)


def _colouring(title: str, names: list[str], order: list[str]) -> Colouring:
    """Groups in ``order``, keeping only the names some song has."""
    present = set(names)
    legend = [name for name in order if name in present]
    index = {name: i for i, name in enumerate(legend)}
    return Colouring(title, legend, np.array([index[name] for name in names], dtype=np.int64),
                     slots=[order.index(name) for name in legend])
