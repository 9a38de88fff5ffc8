"""The one entry the tray app and the player companion use: ``Recommender``.

``Recommender.open(ctx, scan)`` joins a library that was read (the pipeline's) with the embeddings
of the chosen encoder backend and the saved recommender the settings choose;
``Recommender.latest(ctx)`` first reads the library afresh, for the person's latest ratings.
Training that recommender is the rating stage's job (``train_recommender``); this module never
retrains on its own.

Play recommended ranks by the long-term profile (the recommender as trained); the radio asks the
recommender about the current listening session (``taste.for_session``) for its relevance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.history.summary import SESSION_GAP_S, current_session
from musicrec_desktop.library.song import LibraryScan
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback, ignore_progress
from musicrec_desktop.recommend import playlists as generated
from musicrec_desktop.recommend import taste as tastes
from musicrec_desktop.recommend.path import SongPath, song_path
from musicrec_desktop.recommend.radio import RadioSession, next_batch, next_batch_from_set
from musicrec_desktop.recommend.ranking import Ranker, Recommendation
from musicrec_desktop.recommend.rating import ratings_fingerprint
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteModel, TasteView, TimedEvent, history_events
from musicrec_desktop.recommend.writers import write_playlist
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.store.history import HistoryStore, ListeningEvent
from musicrec_desktop.store.similarity import SimilarityIndex

__all__ = ["Recommendation", "RadioSession", "Recommender", "SongPath", "train_recommender",
           "write_playlists", "index_path"]

log = logging.getLogger(__name__)

EMBED_COMMAND = "musicrec embed"
SESSION_READ_S = 6 * 3600  # the radio reads this much of the history for the session going on


def index_path(dirs: DataDirs) -> Path:
    return dirs.state / "similarity.faiss"


def _table(settings: Settings, dirs: DataDirs, scan: LibraryScan) -> SongTable:
    """The library's songs with their vectors of the encoder backend the settings choose."""
    if not dirs.embeddings_db.exists():
        raise NotReadyError(f"no song embeddings yet; run `{EMBED_COMMAND}` first")
    with EmbeddingStore(dirs.embeddings_db) as store:
        return SongTable.from_store(scan.songs, store, store.chosen_model(settings.encoder))


def decided_recommender(dirs: DataDirs) -> str | None:
    """What the study chose for ``recommender = auto`` here (None before a study decided)."""
    if not dirs.embeddings_db.exists():
        return None
    with EmbeddingStore(dirs.embeddings_db) as store:
        return store.auto_recommender()


def _categories(settings: Settings):
    from musicrec_desktop.library.genres import GenreMapper
    return GenreMapper.from_settings(settings).categories


def train_recommender(settings: Settings, dirs: DataDirs, scan: LibraryScan, *,
                      progress: ProgressCallback = ignore_progress,
                      cancel: CancelToken | None = None) -> object:
    """Fits the recommender the settings choose on the library's songs, vectors and listening
    history, measures it (the rating model cross-validates; below 30 ratings it falls back to the
    favourites) and saves it under ``dirs.models``; returns its report."""
    table = _table(settings, dirs, scan)
    chosen = tastes.chosen_taste(settings, decided_recommender(dirs))
    history = history_events(dirs.history_db, scan.songs)
    model, report = chosen.learn(TasteView(table, history), settings, progress=progress, cancel=cancel)
    if cancel is not None:
        cancel.check()  # a cancel during the last step keeps the previous model
    tastes.save(tastes.model_path(dirs.models, chosen.name), model, report, ratings_fingerprint(table))
    return report


def _taste(ctx: AppContext, table: SongTable) -> tuple[TasteModel, object]:
    """The saved recommender of the settings' choice; NotReadyError when there is none, or when it
    learnt on other song vectors (a new encoder) and so cannot score these."""
    chosen = tastes.chosen_taste(ctx.settings, decided_recommender(ctx.dirs))
    path = tastes.model_path(ctx.dirs.models, chosen.name)
    if not path.exists():
        raise NotReadyError(f"no {chosen.title} trained yet; run `musicrec train-classifier` "
                            "(or `musicrec run`)")
    model, report, _ = tastes.load(path)
    if model.embedding_model and model.embedding_model != table.model_id:
        raise NotReadyError(f"the {chosen.title} learnt on the vectors of {model.embedding_model}, the "
                            f"songs now have those of {table.model_id}; run `musicrec train-classifier`")
    return model, report


class Recommender:
    """Recommendations over one library snapshot; cheap to keep, reopen when the library changes."""

    def __init__(self, ctx: AppContext, table: SongTable, taste: TasteModel, report: object) -> None:
        self.ctx, self.table, self.report = ctx, table, report
        self.ranker = Ranker(table, taste, ctx.settings, _categories(ctx.settings))
        self._index: SimilarityIndex | None = None

    @classmethod
    def open(cls, ctx: AppContext, scan: LibraryScan) -> Recommender:
        """Over the library ``scan``. ``NotReadyError`` (naming the command to run) when there are
        no embeddings or no trained recommender yet."""
        table = _table(ctx.settings, ctx.dirs, scan)
        taste, report = _taste(ctx, table)
        return cls(ctx, table, taste, report)

    @classmethod
    def latest(cls, ctx: AppContext) -> Recommender:
        """Over one fresh read of the library (which also refreshes the stored one): "Play
        recommended", radio and the commands want the person's latest ratings."""
        from musicrec_desktop.library import load_library

        return cls.open(ctx, load_library(ctx.settings, ctx.dirs))

    @property
    def index(self) -> SimilarityIndex:
        """The similarity index, opened (and brought up to date) on first use."""
        if self._index is None:
            with EmbeddingStore(self.ctx.dirs.embeddings_db) as store:
                self._index = SimilarityIndex.open(index_path(self.ctx.dirs), store, self.table.model_id)
        return self._index

    def recommended(self, n: int, seed: int | None = None) -> list[Recommendation]:
        """"Play recommended": ``n`` songs by predicted rating among unrated or rarely played ones,
        without recent plays, dislikes and excluded artists or genres; different on every call
        unless ``seed`` is given."""
        r = self.ranker
        rows = np.flatnonzero(r.allowed() & r.unrated_or_rarely_played())
        picked = r.select(rows, r.predicted[rows], n, rng=np.random.default_rng(seed))
        return r.recommendations(picked, r.predicted)

    def radio(self, seed: str | Sequence[str], n: int, session: RadioSession | None = None, *,
              now: float | None = None) -> tuple[list[Recommendation], RadioSession]:
        """The next ``n`` songs of the radio from ``seed`` (a path, file URL or song key), or from
        several such songs (they take turns). Pass the returned session back to continue it
        without repeats; never a seed or a near-duplicate of one.

        Songs near the seed(s) rank by their similarity blended with what the recommender says
        about the listening session going on at ``now`` (default: now), asked afresh for every
        batch: the session grows as the radio's own songs play (the companion records them)."""
        wanted = session.seed_keys if session is not None else [seed] if isinstance(seed, str) else list(seed)
        if not wanted:
            raise NotReadyError("a radio needs at least one song to start from")
        rows = [self.find_song(s) for s in wanted]
        if session is None:
            keys = list(dict.fromkeys(self.table.songs[r].key for r in rows))
            session = RadioSession(keys[0], more_seeds=keys[1:])
        listening = self.listening_session(now)
        relevance = self.session_relevance(listening)
        played = [r for e in listening if (r := self.table.row(e.key)) is not None]
        if len(session.seed_keys) == 1:
            return next_batch(self.ranker, self.index, rows[0], n, session, relevance, played), session
        return next_batch_from_set(self.ranker, self.index, rows, n, session, relevance, played), session

    def listening_session(self, now: float | None = None) -> list[TimedEvent]:
        """The listening history's events of the session going on at ``now`` (since the last gap
        of more than 30 minutes; [] when none is going on), of songs of the table."""
        history_db = self.ctx.dirs.history_db
        if not history_db.exists():
            return []
        going_on = _session_going_on(history_db, time.time() if now is None else now)
        keys_by_url = {s.url: s.key for s in self.table.songs}  # as history_events knows songs
        return [TimedEvent(key, e.at, e.kind) for e in going_on
                if (key := e.song_key or keys_by_url.get(e.song_url)) and self.table.row(key) is not None]

    def session_relevance(self, listening: list[TimedEvent]) -> np.ndarray:
        """N float32 0..1: the recommender's scores for the session ``listening``; a recommender
        without a view of sessions gives its long-term ones (as trained)."""
        asked = tastes.for_session(self.ranker.taste, listening, self.table)
        return self.ranker.predicted if asked is self.ranker.taste else asked.predict(self.table)

    def path(self, start: str, target: str, steps: int) -> SongPath:
        """A playlist of ``steps`` songs walking from ``start`` to ``target`` (paths, file URLs or
        song keys), the target last, no song twice (``recommend.path``)."""
        rows = self.find_song(start), self.find_song(target)
        if rows[0] == rows[1]:
            raise NotReadyError(f"{target}: a path needs two different songs")
        return song_path(self.ranker, self.index, rows[0], rows[1], steps)

    def find_song(self, song: str) -> int:
        """The table row of a song named by its path, file URL or key; ``NotReadyError`` saying
        what to do when the library has no such song with an embedding."""
        row = self.table.find(song)
        if row is None:
            raise NotReadyError(f"{song}: not a song of the library with an embedding; "
                                f"run `{EMBED_COMMAND}` after adding it to the library")
        return row

    def generated_playlists(self, n: int | None = None) -> dict[str, list[Recommendation]]:
        """Discover, one per genre category, Forgotten favourites, More like my five-star songs
        (only those with songs)."""
        n = n or self.ctx.settings.playlist_length
        return generated.generate(self.ranker, list(self.ctx.settings.genre_categories), n)


def _session_going_on(history_db: Path, now: float) -> list[ListeningEvent]:
    """The events of the listening session going on at ``now``, read from the recent end of the
    history: the last SESSION_READ_S, further back only while the session goes on (every radio
    batch asks; a history of years is not read whole each time)."""
    window = SESSION_READ_S
    with HistoryStore(history_db) as history:
        while True:
            since = now - window
            session = current_session(history.events(since=since), now)
            # nothing before ``since`` can belong to a session that starts a gap after it
            if not session or session[0].at - since > SESSION_GAP_S or since <= 0:
                return session
            window *= 4


def write_playlists(settings: Settings, playlists: dict[str, list[Recommendation]],
                    out_dir: Path | None = None) -> list[Path]:
    """Writes each playlist in ``settings.playlist_format`` into ``out_dir`` (default: the
    ``output_dir`` setting, ``~`` expanded); returns the files written."""
    folder = Path(out_dir if out_dir is not None else settings.output_dir).expanduser()
    written: list[Path] = []
    for name, songs in playlists.items():
        written += write_playlist(folder, name, songs, settings.playlist_format)
    return written
