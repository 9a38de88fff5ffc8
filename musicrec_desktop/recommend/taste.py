"""What a recommender is (the ``TasteModel`` protocol and the ``TasteView`` it learns from), which
one the ``recommender`` setting chooses, and its file under the models folder.

A recommender learns from a view of the library (songs with ratings, plays, skips and their
vectors) and the listening history, and scores every song 0..1 (higher: more to the person's
taste). Ranking, radio, playlists, evaluation and the model report use only this protocol.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from musicrec_desktop.errors import ModelError, SettingsError
from musicrec_desktop.library.song import Song
from musicrec_desktop.plugpoints import RECOMMENDERS, chosen_recommender
from musicrec_desktop.progress import CancelToken, ProgressCallback
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimedEvent:
    """One event of the listening history."""

    key: str  # song key
    at: float  # epoch seconds
    kind: str  # start, finish or skip (store.history.KINDS)


def history_events(history_db: Path, songs: Iterable[Song]) -> list[TimedEvent]:
    """Every event of the listening history whose song is known (by key, else by its URL among
    ``songs``); [] when nothing was recorded."""
    from musicrec_desktop.store.history import HistoryStore

    if not history_db.exists():
        return []
    keys_by_url = {s.url: s.key for s in songs}
    with HistoryStore(history_db) as history:
        out = []
        for event in history.events():
            key = event.song_key or keys_by_url.get(event.song_url)
            if key:
                out.append(TimedEvent(key, event.at, event.kind))
    return out


@dataclass
class TasteView:
    """What a recommender may learn from: the songs with their vectors and signals, and the
    listening history (empty when the companion has recorded none)."""

    table: SongTable
    history: list[TimedEvent] = field(default_factory=list)


@dataclass
class TasteReport:
    """What a simple recommender says about its fit."""

    name: str
    n_songs: int
    embedding_model: str
    message: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        return self.message


@runtime_checkable
class TasteModel(Protocol):
    name: ClassVar[str]  # what the ``recommender`` setting says: "rating"
    title: ClassVar[str]  # what the person reads (evaluation rows, the model report)
    predicts_rating: ClassVar[bool]  # True: ``predict`` is a rating 0..1, shown as stars
    report_type: ClassVar[type]  # the dataclass ``learn`` reports with (rebuilt from the saved file)
    embedding_model: str  # the model id of the vectors it learnt on ("" when it reads none)

    @classmethod
    def learn(cls, view: TasteView, settings: Settings, *, progress: ProgressCallback,
              cancel: CancelToken | None, measure: bool = True) -> tuple[TasteModel, Any]:
        """Fits on ``view``; returns (the model, a report dataclass). ``measure``: also measure
        it (cross-validation and the like) for the report; evaluation passes False."""

    def predict(self, table: SongTable) -> np.ndarray:
        """N float32 in 0..1, one per song of ``table``; higher is more to the person's taste."""

    def reason_keys(self) -> list[str]:
        """Songs that stand for the taste when no rating can explain a pick ("because you often
        play X"); [] when the model has none."""

    def state(self) -> dict:
        """What ``from_state`` needs, with ``"kind": name``; may hold numpy arrays and tensors."""

    @classmethod
    def from_state(cls, state: dict) -> TasteModel: ...


def for_session(model: TasteModel, session: list[TimedEvent], table: SongTable) -> TasteModel:
    """The recommender asked about ``session`` (the current listening session's events so far):
    its ``for_session`` when it has one (session_knn, shallow, ...), else the model itself, since
    a long-term recommender (rating, popularity) ranks the same whatever is playing now."""
    ask = getattr(model, "for_session", None)
    return ask(session, table) if callable(ask) else model


def taste_class(name: str) -> type[TasteModel]:
    """The recommender called ``name`` (``auto`` resolved); SettingsError for an unknown one."""
    entry = RECOMMENDERS[chosen_recommender(name)]
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        return getattr(importlib.import_module(module), attribute)
    return entry


def chosen_taste(settings: Settings, decided: str | None = None) -> type[TasteModel]:
    """The recommender the settings choose; under ``auto`` the one ``decided`` by the study
    (``EmbeddingStore.auto_recommender``), else the first-run one."""
    return taste_class(chosen_recommender(settings.recommender, decided))


def every_taste() -> list[type[TasteModel]]:
    """Every registered recommender, in the registry's order (what evaluation compares)."""
    return [taste_class(name) for name in RECOMMENDERS]


# -- the saved model --------------------------------------------------------------------------------
def model_path(models_dir: Path, name: str = "rating") -> Path:
    """Where recommender ``name`` is saved. The rating model keeps the file name it had before
    there were several, so an existing install keeps its trained model."""
    return models_dir / ("rating_model.pt" if name == "rating" else f"recommender-{name}.pt")


def save(path: Path, model: TasteModel, report: Any, fingerprint: str) -> None:
    """One file with the model, its report and a fingerprint of what it was fit on, written
    atomically (readers see the old file or the new one)."""
    from musicrec_desktop.recommend import rating_net

    rating_net.save(path, {"model": model.state(), "report": dataclasses.asdict(report),
                           "fingerprint": fingerprint})


def load(path: Path) -> tuple[TasteModel, Any, str]:
    """(model, report, fingerprint) as saved; ``ModelError`` when the file is unreadable."""
    from musicrec_desktop.recommend import rating_net

    try:
        saved = rating_net.load(path)
        cls = taste_class(saved["model"]["kind"])
        return cls.from_state(saved["model"]), cls.report_type(**saved["report"]), saved["fingerprint"]
    except (OSError, KeyError, RuntimeError, TypeError, SettingsError) as exc:
        raise ModelError(f"{path}: unreadable recommender ({exc}); run `musicrec train-classifier`") from exc
