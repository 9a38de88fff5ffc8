"""The seven stages: library -> cache -> encoder -> embeddings -> rating model -> recommendations,
and text search (learnt on the embeddings).

Stages call the stage modules through names imported when the stage runs, so starting the tray
or reading ``--help`` never imports torch.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import MusicrecError, NoLibraryError, NotReadyError
from musicrec_desktop.library.song import LibraryScan
from musicrec_desktop.pipeline.figures import digest, figures_of, json_safe
from musicrec_desktop.pipeline.runner import NotNeeded, Pipeline, Stage, StageSkipped
from musicrec_desktop.pipeline.state import PipelineState, state_path
from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback


def _settings_part(ctx: AppContext, keys: Iterable[str]) -> dict[str, Any]:
    return {k: getattr(ctx.settings, k) for k in keys}


class LibraryStage(Stage):
    """Reads the library afresh and stores it (``library.stored``) for the later stages, commands
    and windows. ``make_demo``: the first-run paths (``musicrec run``, the tray after its offer)
    make the demo library when nothing else is configured; nothing else ever does."""

    name, title = "library", "Reading the library"

    def __init__(self, make_demo: bool = False) -> None:
        self.make_demo = make_demo

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.library import load_library, resolve_source

        if self.make_demo and resolve_source(ctx.settings)[0] == "demo":
            _make_demo_library(ctx, progress, cancel)
        state.scan = load_library(ctx.settings, ctx.dirs, progress=progress)
        cancel.check()
        songs, local = len(state.scan.songs), len(state.scan.local_songs)
        progress(Progress(self.name, local, local, message=f"{local} songs"))
        genres = Counter(s.genre.strip() for s in state.scan.songs if s.genre.strip())
        return {"source": state.scan.source,
                "location": str(state.scan.location) if state.scan.location else None,
                "songs": songs, "local_songs": local,
                # For the settings dialog's genre mapping table.
                "genres": dict(genres.most_common(500)),
                "rated_songs": sum(1 for s in state.scan.songs if s.rating is not None),
                "skipped": dict(state.scan.skipped)}


def _make_demo_library(ctx: AppContext, progress: ProgressCallback, cancel: CancelToken) -> None:
    """The demo library, made on first use (a few minutes: progress and cancel reach it)."""
    try:
        from musicrec_desktop.demo.library import ensure_demo_library
    except ImportError as exc:
        raise NoLibraryError() from exc  # an install without the demo's dependencies
    ensure_demo_library(ctx.dirs, progress=progress, cancel=cancel)


class CacheStage(Stage):
    """Caches the songs' audio chunks for an encoder that trains on them. A pretrained encoder
    listens to the song files themselves (``encoders.listening``): the cache is then not built and
    a first run spends no time on it. It is needed when the encoder serving is a trained one (it
    embeds new songs from the cache) or, with ``before_training`` (the full pipeline), when the
    encoder stage after it will train one (``trained_backend``: "Rebuild model", a GPU)."""

    name, title = "cache", "Caching songs"
    settings_keys = ("cache_dir", "cache_format", "cache_budget_gb")

    def __init__(self, before_training: bool = False) -> None:
        self.before_training = before_training

    def _needed_by(self, ctx: AppContext, state: PipelineState) -> str | None:
        """The backend that needs the cache, or None. Imports no torch unless training may follow,
        and keeps no choice (``encoders.choice.serving_name``)."""
        from musicrec_desktop.encoders.choice import backend_class, serving_name

        serving = serving_name(ctx.settings, ctx.dirs)
        if backend_class(serving).needs_training:
            return serving
        if self.before_training:
            trained = trained_backend(ctx, state)
            return trained.name if trained.needs_training else None
        return None

    def fingerprint(self, ctx, state):
        # Every song of the library: a song whose file is away and then leaves the library must
        # change the fingerprint, or its entry is never collected.
        files = []
        for song in state.scan.songs:  # type: ignore[union-attr]
            try:
                st = song.path.stat()  # type: ignore[union-attr]
                files.append((song.key, st.st_size, st.st_mtime_ns))
            except (OSError, AttributeError):  # away, or no local file at all (a stream)
                files.append((song.key, None, None))
        return digest(_settings_part(ctx, self.settings_keys), sorted(files),
                      self._needed_by(ctx, state) is not None)

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.audio.build import build_cache

        if self._needed_by(ctx, state) is None:
            raise NotNeeded("the encoder reads the song files", {"needed": False})

        # The whole library, not only local songs: a song whose file is away keeps its entry.
        report = build_cache(state.scan.songs,  # type: ignore[union-attr]
                             ctx.settings, ctx.dirs, progress, cancel)
        state.reports[self.name] = report
        return figures_of(report)


class EncoderStage(Stage):
    """Trains the chosen encoder backend when it learns from the library (``needs_training``);
    a pretrained backend has nothing to do here. Its fingerprint leaves the song list out on
    purpose: a new song is embedded with the current encoder (incremental update), only
    "Rebuild model" retrains."""

    name, title = "encoder", "Training the encoder"

    def fingerprint(self, ctx, state):
        backend = trained_backend(ctx, state)
        if not backend.needs_training:
            return digest(backend.name)
        return digest(_settings_part(ctx, backend.settings_keys()), quick_training(ctx, state))

    def run(self, ctx, state, progress, cancel):
        backend = trained_backend(ctx, state)
        if not backend.needs_training:
            raise NotNeeded(f"{backend.name} needs no training", {"backend": backend.name, "trained": False})
        fingerprint = self.fingerprint(ctx, state)
        # Resume a run of the same settings that started, did not finish and saved a checkpoint
        # (also when "Rebuild model" is asked again after a cancel or a restart); otherwise,
        # "Rebuild model" included, start from scratch.
        resume_allowed = state.started.get(self.name) == fingerprint
        state.started[self.name] = fingerprint
        state.save(state_path(ctx))
        report = backend.train(state.songs, quick=quick_training(ctx, state), resume_allowed=resume_allowed,
                               device=state.device or ctx.settings.device, progress=progress,
                               cancel=cancel)
        state.reports[self.name] = report
        return figures_of(report)


def trained_backend(ctx: AppContext, state: PipelineState) -> Any:
    """The backend the encoder stage works with: the chosen one; with ``encoder = auto`` serving
    from one that needs no training, the trained encoder all the same where training is affordable
    (a GPU, not the quick CPU run) or "Rebuild model" asks for it: it then competes by measurement
    (``EmbedStage``)."""
    from musicrec_desktop.encoders.choice import backend_class, serving_name
    from musicrec_desktop.plugpoints import AUTO

    backend = backend_class(serving_name(ctx.settings, ctx.dirs))(ctx.settings, ctx.dirs)
    if backend.needs_training or ctx.settings.encoder != AUTO:
        return backend
    if EncoderStage.name in state.force or not quick_training(ctx, state):
        return backend_class("moco")(ctx.settings, ctx.dirs)
    return backend


def quick_training(ctx: AppContext, state: PipelineState) -> bool:
    """The short training asked for, or by the device when not asked: quick on a CPU."""
    if state.quick is not None:
        return state.quick
    return resolve_device(state.device or ctx.settings.device) == "cpu"


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a GPU is usable, else ``cpu`` (imports torch)."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class EmbedStage(Stage):
    """Embeds new and changed songs with the chosen encoder backend and drops songs that left
    the library."""

    name, title = "embed", "Embedding songs"

    def fingerprint(self, ctx, state):
        return digest(state.finished_at("encoder"), state.finished_at("cache"),
                       sorted(s.key for s in state.songs), ctx.settings.encoder)

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.encoders.embed import embed_songs
        from musicrec_desktop.encoders.measure import figures_table, measure_backends
        from musicrec_desktop.plugpoints import chosen_encoder
        from musicrec_desktop.store.embeddings import EmbeddingStore

        device = state.device or ctx.settings.device
        report = embed_songs(ctx.settings, ctx.dirs, state.songs, device=device, progress=progress,
                             cancel=cancel)
        cancel.check()
        for competitor in self._competitors(ctx, report.backend):
            embed_songs(ctx.settings.replace(encoder=competitor), ctx.dirs, state.songs, device=device,
                        progress=progress, cancel=cancel)
            cancel.check()
        # the quality proxies of every embedded backend; with ``auto`` the best then serves
        # (the rating model's correlation is measured by `musicrec backends --measure`)
        measure_backends(ctx.settings, ctx.dirs, state.songs, rating=False)
        state.reports[self.name] = report
        figures = figures_of(report)
        # what the model report shows: every backend as measured, and the one the songs are read with
        figures["backends"] = [json_safe(r.as_dict()) for r in figures_table(ctx.settings, ctx.dirs)]
        with EmbeddingStore(ctx.dirs.embeddings_db) as store:
            figures["serving"] = chosen_encoder(ctx.settings.encoder, store.auto_encoder())
        # the genre mAP of the vectors in use, whichever backend (the trained encoder's genre head
        # has its own, in the encoder stage's figures)
        figures["genre_map"] = next((r["genre_map"] for r in figures["backends"]
                                     if r["name"] == figures["serving"]), None)
        figures["removed"] = drop_removed_songs(ctx, state.scan)  # type: ignore[arg-type]
        return figures

    @staticmethod
    def _competitors(ctx: AppContext, serving: str) -> list[str]:
        """With ``auto``: the trained backends that are trained here but not serving, so that
        they are embedded too and measured against the one serving."""
        from musicrec_desktop.encoders.choice import backend_class
        from musicrec_desktop.plugpoints import AUTO, ENCODER_BACKENDS

        if ctx.settings.encoder != AUTO:
            return []
        return [name for name in ENCODER_BACKENDS if name != serving and backend_class(name).needs_training
                and backend_class(name)(ctx.settings, ctx.dirs).unavailable() is None]


def drop_removed_songs(ctx: AppContext, scan: LibraryScan) -> int:
    """Removes embeddings of songs that are no longer in the library; returns how many."""
    from musicrec_desktop.store.embeddings import EmbeddingStore

    if not ctx.dirs.embeddings_db.exists():
        return 0
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        model = store.current_model()
        if model is None:
            return 0
        gone = store.keys(model) - {s.key for s in scan.songs}
        return store.remove(gone) if gone else 0


class RatingStage(Stage):
    """Learns the ratings from the embeddings, with plays, skips and Clementine's score as extra
    inputs. Every song the player plays changes its play count, so those implicit signals count
    coarsely (play and skip counts in doubling buckets, the score in tenths) and retrain at most
    once per ``IMPLICIT_REFRESH_S``; a rating, new embeddings or settings retrain at once, and so
    does a listening history that doubled (an import: the study then runs on it).
    ``lastplayed`` is not something the model learns from, so it is left out."""

    name, title = "rating", "Learning your ratings"
    settings_keys = ("rating_epochs", "seed", "recommender")
    IMPLICIT_REFRESH_S = 6 * 3600

    def fingerprint(self, ctx, state):
        # Two parts, "explicit:implicit", so that is_up_to_date can tell which of them changed.
        return f"{self._explicit(ctx, state)}:{self._implicit(state)}"

    def is_up_to_date(self, ctx, state, fingerprint):
        if super().is_up_to_date(ctx, state, fingerprint):
            return True
        record = state.done.get(self.name)
        if record is None or self.name in state.force or self.name in state.started:
            return False
        explicit, _, _implicit = record.fingerprint.partition(":")
        recent = time.time() - record.finished < self.IMPLICIT_REFRESH_S
        return recent and explicit == fingerprint.partition(":")[0]

    def _explicit(self, ctx: AppContext, state: PipelineState) -> str:
        ratings = sorted((s.key, round(s.rating, 2)) for s in state.scan.songs
                         if s.rating is not None) if state.scan else None
        return digest(state.finished_at("embed"), _settings_part(ctx, self.settings_keys), ratings,
                      _doubling_bucket(_listening_events(ctx)))

    def _implicit(self, state: PipelineState) -> str:
        signals = sorted((s.key, _doubling_bucket(s.playcount), _doubling_bucket(s.skipcount),
                          None if s.score is None else round(s.score / 10))
                         for s in state.scan.songs) if state.scan else None
        return digest(signals)

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.recommend.service import train_recommender

        study = _study(ctx, state, progress, cancel)  # first: it decides what ``auto`` trains
        report = train_recommender(ctx.settings, ctx.dirs, state.scan, progress=progress, cancel=cancel)
        state.reports[self.name] = report
        return {**figures_of(report), "study": study}


def _study(ctx: AppContext, state: PipelineState, progress: ProgressCallback, cancel: CancelToken
           ) -> dict[str, Any]:
    """The recommenders measured on the listening sessions, on the vectors in use only (``musicrec
    study`` measures every backend): the best on the validation half is what ``recommender = auto``
    uses. Without enough listening it is skipped at once, with the reason in one line."""
    from musicrec_desktop.recommend.evaluate import TooLittleListening
    from musicrec_desktop.recommend.study_run import run_study

    try:
        result = run_study(ctx.settings, ctx.dirs, state.scan, every_backend=False, progress=progress,
                           cancel=cancel)
    except TooLittleListening as exc:
        return {"skipped": exc.reason}
    return {"chosen": result["chosen"], "n_validation": result["n_validation"], "n_test": result["n_test"]}


def _listening_events(ctx: AppContext) -> int:
    """How many events the listening history holds (0 without one)."""
    from musicrec_desktop.store.history import HistoryStore

    if not ctx.dirs.history_db.exists():
        return 0
    with HistoryStore(ctx.dirs.history_db) as history:
        return history.count()


def _doubling_bucket(count: int) -> int:
    """0 for 0, then 1, 2 for 2-3, 3 for 4-7, 4 for 8-15...: the 50th play changes nothing."""
    return max(int(count or 0), 0).bit_length()


class RecommendStage(Stage):
    name, title = "recommend", "Making recommendations"
    settings_keys = ("output_dir", "playlist_length", "playlist_format", "recent_days",
                     "artist_cap", "exclude_artists", "exclude_genres", "artist_gap", "album_gap",
                     "max_song_minutes")
    top_n = 10

    def fingerprint(self, ctx, state):
        # The day is part of it: "not played in the last N days" moves with the calendar.
        return digest(state.finished_at("rating"), _settings_part(ctx, self.settings_keys),
                       time.strftime("%Y-%m-%d"))

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.recommend.predictions import save_predictions
        from musicrec_desktop.recommend.service import Recommender, write_playlists

        recommender = Recommender.open(ctx, state.scan)
        playlists = recommender.generated_playlists()
        cancel.check()  # before writing: a cancel leaves the previous playlists as they were
        written = write_playlists(ctx.settings, playlists)
        ranker = recommender.ranker  # the library map shows these without loading the model
        save_predictions(ctx.dirs, [s.key for s in ranker.table.songs],
                         ranker.predicted if ranker.taste.predicts_rating else None)
        progress(Progress(self.name, len(playlists), len(playlists), message=f"{len(written)} files"))
        # A fixed seed: the report shows the same list for the same model.
        top = recommender.recommended(self.top_n, seed=0)
        return {"playlists": [str(p) for p in written],
                "playlist_songs": {name: len(songs) for name, songs in playlists.items()},
                "top": [_recommendation_row(r) for r in top]}


def _recommendation_row(item: Any) -> dict[str, Any]:
    """A recommendation as a row of the report: song, predicted rating, reason."""
    song = item.song
    return {"song": song.display_name, "key": song.key, "score": json_safe(item.score),
            "predicted_rating": json_safe(item.predicted_rating), "reason": item.reason}


class TextSearchStage(Stage):
    """Learns the text search (``textsearch.service.learn_alignment``): the song vectors projected
    into a sentence encoder's space, on the library's own tags. Retrained when the song vectors
    or any song's texts change (``alignment_fingerprint``). It comes last: the recommendations
    never wait for it. Without the optional text encoder, or with too little to learn from, it is
    skipped with the reason and the run goes on."""

    name, title = "textsearch", "Learning text search"

    def fingerprint(self, ctx, state):
        from musicrec_desktop.textsearch.service import alignment_fingerprint

        try:
            return digest(state.finished_at("embed"),
                          alignment_fingerprint(ctx.settings, ctx.dirs, state.scan))  # type: ignore[arg-type]
        except MusicrecError:
            return None  # what it lacks is said by ``run``

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.textsearch.service import learn_alignment
        from musicrec_desktop.textsearch.text_encoder import TextEncoderMissing

        try:
            report = learn_alignment(ctx.settings, ctx.dirs, state.scan,  # type: ignore[arg-type]
                                     progress=progress, cancel=cancel)
        except (TextEncoderMissing, NotReadyError) as exc:
            raise StageSkipped(str(exc)) from exc
        state.reports[self.name] = report
        return figures_of(report)


ALL_STAGES = (LibraryStage, CacheStage, EncoderStage, EmbedStage, RatingStage, RecommendStage,
              TextSearchStage)
STAGE_TITLES = {stage.name: stage.title for stage in ALL_STAGES}  # what the windows show


def full_pipeline() -> Pipeline:
    """Everything: what "Rebuild model", ``musicrec run`` and the first start run."""
    return Pipeline([LibraryStage(make_demo=True), CacheStage(before_training=True), EncoderStage(),
                     EmbedStage(), RatingStage(), RecommendStage(), TextSearchStage()])


def update_pipeline() -> Pipeline:
    """After the library changed: new songs cached and embedded with the current encoder,
    removed ones dropped, ratings relearned, recommendations refreshed, text search relearnt when
    the songs or their tags changed. No encoder training."""
    return Pipeline([LibraryStage(make_demo=True), CacheStage(), EmbedStage(), RatingStage(),
                     RecommendStage(), TextSearchStage()])


def pipeline_for(kind: str) -> Pipeline:
    """What the tray runs for ``kind``: "update" brings library changes in, "run" and "rebuild"
    the whole job (a rebuild also forces the encoder)."""
    return update_pipeline() if kind == "update" else full_pipeline()
