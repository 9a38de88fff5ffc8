"""The study on the person's library: every encoder backend with stored vectors x every registered
recommender, on the session protocol of ``study.py``; the recommender best on the validation
sessions (on the vectors in use) becomes what ``recommender = auto`` means; the table is kept for
the model report (``study.json``) and written as CSV."""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from pathlib import Path

from musicrec_desktop.files import atomic_write, write_text_atomic
from musicrec_desktop.library.song import LibraryScan
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.plugpoints import ENCODER_BACKENDS
from musicrec_desktop.progress import CancelToken, ProgressCallback, ignore_progress
from musicrec_desktop.recommend import study
from musicrec_desktop.recommend.evaluate import TooLittleListening
from musicrec_desktop.recommend.metrics import METRICS
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteModel, every_taste, history_events
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore

log = logging.getLogger(__name__)

COLUMNS = [f"{metric}@{k}" for k in study.KS for metric in METRICS]  # the paper's table's columns


def study_path(dirs: DataDirs) -> Path:
    """The latest study's table, as the model report reads it."""
    return dirs.state / "study.json"


def run_study(settings: Settings, dirs: DataDirs, scan: LibraryScan, *,
              recommenders: list[type[TasteModel]] | None = None, every_backend: bool = True,
              with_heard: bool = False, progress: ProgressCallback = ignore_progress,
              cancel: CancelToken | None = None) -> dict:
    """Measures every recommender (default: every registered one) on every backend's vectors
    (``every_backend=False``: only those in use, what the choice needs), keeps the choice and the
    table; returns the table as ``study.json`` holds it. ``with_heard``: the variant counting songs
    heard before the cut-off too (``study.py``), measured only: nothing is kept.
    ``TooLittleListening`` (one line why) when the listening history cannot make a study."""
    events = history_events(dirs.history_db, scan.songs)
    if not events:
        raise TooLittleListening("listening history", "no listening history of library songs yet "
                                 "(import one: musicrec history import FILE)")
    if not dirs.embeddings_db.exists():
        raise TooLittleListening("listening history", "no song embeddings yet (run: musicrec embed)")
    recommenders = recommenders if recommenders is not None else every_taste()
    started = time.time()
    with EmbeddingStore(dirs.embeddings_db) as store:  # read, then closed while models learn
        in_use = store.chosen_model(settings.encoder)
        models = _backend_models(store, in_use)
        if not every_backend:
            models = {name: m for name, m in models.items() if m == in_use}
        tables = {backend: SongTable.from_store(scan.songs, store, m) for backend, m in models.items()}
    rows, splits, refused = [], {}, {}
    for backend, table in tables.items():
        try:
            splits[backend] = study.session_split(table, events, with_heard=with_heard)
        except TooLittleListening as exc:
            refused[backend] = exc.reason
            continue
        rows += study.study_recommenders(splits[backend], recommenders, settings, backend=backend,
                                         progress=progress, cancel=cancel)
    if not splits:
        raise TooLittleListening("listening history", next(iter(refused.values())))
    chosen = study.best_recommender(rows, in_use)
    if cancel is not None:
        cancel.check()  # a cancel during the last step keeps the previous choice
    if chosen is not None and not with_heard:
        with EmbeddingStore(dirs.embeddings_db) as store:
            store.set_auto_recommender(chosen.recommender)
    first = splits.get(_name_of(models, in_use)) or next(iter(splits.values()))
    result = {
        "cutoff": first.split.cutoff, "studied_at": started,
        "n_validation": len(first.validation), "n_test": len(first.test), "unusable_sessions": first.unusable,
        "n_candidates": len(first.split.candidates), "n_ranked": len(first.ranked),
        "songs_to_find": "new and heard before" if with_heard else "new", "in_use": in_use,
        "choose_by": study.CHOOSE_BY,
        "chosen": chosen.recommender if chosen else None, "chosen_title": chosen.title if chosen else None,
        "protocol": study.__doc__.split("\n\n", 1)[1].strip(),
        "rows": [r.as_dict() for r in rows],
        "caveats": first.split.caveats + [f"{b}: not studied: {why}" for b, why in refused.items()],
    }
    if not with_heard:  # NaN stands for "no interval" (one session); Python's json reads it back
        write_text_atomic(study_path(dirs), json.dumps(result, indent=1))
    log.info("study: %d rows; auto recommender: %s", len(rows), result["chosen"])
    return result


def _backend_models(store: EmbeddingStore, in_use: str) -> dict[str, str]:
    """Backend name -> its current vectors' model id, for every backend that has some; the vectors
    in use are always there (a store written before backends names them under no backend)."""
    models = {name: m for name in ENCODER_BACKENDS if (m := store.current_model(name)) is not None}
    if in_use not in models.values():
        models = {"in use": in_use, **models}
    return models


def _name_of(models: dict[str, str], model_id: str) -> str | None:
    return next((name for name, m in models.items() if m == model_id), None)


def load_study(dirs: DataDirs) -> dict | None:
    """The latest study's table (``run_study``'s result), None when there is none or it is unreadable."""
    try:
        return json.loads(study_path(dirs).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_csv(result: dict, path: Path) -> Path:
    """One line per backend x recommender x half: mean, low and high of every column."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["backend", "model_id", "recommender", "half", "sessions"]
                        + [f"{c} {part}" for c in COLUMNS for part in ("mean", "low", "high")])
        for row in result["rows"]:
            for half in ("test", "validation"):
                figures = row[half]
                cells = [_cell(figures[c].get(part)) for c in COLUMNS for part in ("mean", "low", "high")]
                writer.writerow([row["backend"], row["model_id"], row["recommender"], half,
                                 figures[COLUMNS[0]]["n"], *cells])
    return path


def _cell(value: float | None) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"

