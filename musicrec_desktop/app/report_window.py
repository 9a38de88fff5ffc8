"""The model report: genre mAP, rating correlation with its baselines, cache figures, text search
against its lexical baseline and a map of the library (embeddings on their two main axes,
coloured by genre, rating or group, favourites ringed; ``map_data`` works it out).

The figures come from what the pipeline remembers (``state/pipeline.json``); the map is computed
on a worker thread because it reads the library and every embedding.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from musicrec_desktop.app.map_data import MapData, load_map
from musicrec_desktop.app.plots import LibraryMap
from musicrec_desktop.app.tasks import Task
from musicrec_desktop.context import AppContext
from musicrec_desktop.pipeline import PipelineState, state_path
from musicrec_desktop.progress import CancelToken, ProgressCallback

log = logging.getLogger(__name__)

# The model report's table of the study (``recommend/study.py``): (header, metric of the test half)
STUDY_COLUMNS = (("HitRate@10", "hit_rate@10"), ("NDCG@10", "ndcg@10"), ("HitRate@50", "hit_rate@50"),
                 ("NDCG@50", "ndcg@50"))
# The model report's table of encoder backends: (header, key of encoders.measure.BackendFigures)
ENCODER_COLUMNS = (("Encoder", "name"), ("Rating r", "rating_pearson"), ("Album P@10", "same_album"),
                   ("Artist P@10", "same_artist"), ("Folder P@10", "same_folder"), ("Songs/s", "songs_per_s"))


# The model report's table of text search measures: (header, key of textsearch.evaluate's figures)
TEXT_SEARCH_COLUMNS = (("Recall@1", "recall@1"), ("Recall@5", "recall@5"), ("Recall@10", "recall@10"),
                       ("MRR", "mrr"))


def _number(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "–"


def _size(n: Any) -> str:
    if not isinstance(n, int | float):
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class ReportWindow(QWidget):
    song_clicked = Signal(str)  # the song key of a point clicked on the map

    def __init__(self, ctx: AppContext, parent_object: Any = None) -> None:
        super().__init__()
        self.ctx = ctx
        self._task: Task | None = None
        self.setWindowTitle("musicrec: model report")
        self.resize(1100, 860)  # the study's and the encoders' tables need the height
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        layout.addLayout(left, 2)

        figures_box = QGroupBox("How well the model knows your music")
        grid = QGridLayout(figures_box)
        self.genre_map = QLabel("–")
        self.knn = QLabel("–")
        self.rating = QLabel("–")
        self.rated = QLabel("–")
        for row, (title, label) in enumerate((("Genre mAP (held-out songs)", self.genre_map),
                                              ("Genre k-NN accuracy", self.knn),
                                              ("Rating correlation (Spearman)", self.rating),
                                              ("Rated songs", self.rated))):
            grid.addWidget(QLabel(title), row, 0)
            label.setStyleSheet("font-weight: bold;")
            grid.addWidget(label, row, 1)
        left.addWidget(figures_box)

        eval_box = QGroupBox("Rating model against its baselines (out-of-fold)")
        eval_layout = QVBoxLayout(eval_box)
        self.evaluation = QTableWidget(0, 4)
        self.evaluation.setHorizontalHeaderLabels(["Predictor", "Pearson", "Spearman", "RMSE"])
        self.evaluation.verticalHeader().hide()
        self.evaluation.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.evaluation.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.evaluation.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Every column as wide as its header and its values; the table as big as its rows, so
        # nothing is cut or scrolled (``_fit`` sizes it once the rows are in).
        self.evaluation.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        eval_layout.addWidget(self.evaluation)
        self.rating_note = QLabel()
        self.rating_note.setWordWrap(True)
        eval_layout.addWidget(self.rating_note)
        left.addWidget(eval_box)

        study_box = QGroupBox("Recommenders on your listening sessions (test half, mean ±95 %)")
        study_layout = QVBoxLayout(study_box)
        self.study = QTableWidget(0, 2 + len(STUDY_COLUMNS))
        self.study.setHorizontalHeaderLabels(["Recommender", *(t for t, _ in STUDY_COLUMNS),
                                              "Validation NDCG@10"])
        self.study.verticalHeader().hide()
        self.study.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.study.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.study.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.study.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        study_layout.addWidget(self.study)
        self.study_note = QLabel()
        self.study_note.setWordWrap(True)
        study_layout.addWidget(self.study_note)
        left.addWidget(study_box)

        encoders_box = QGroupBox("Song encoders, measured on your library")
        encoders_layout = QVBoxLayout(encoders_box)
        self.encoders = QTableWidget(0, len(ENCODER_COLUMNS))
        self.encoders.setHorizontalHeaderLabels([title for title, _ in ENCODER_COLUMNS])
        self.encoders.verticalHeader().hide()
        self.encoders.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.encoders.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.encoders.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.encoders.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        encoders_layout.addWidget(self.encoders)
        left.addWidget(encoders_box)

        cache_box = QGroupBox("Cache")
        self.cache_grid = QGridLayout(cache_box)
        left.addWidget(cache_box)

        self.top = QLabel()
        self.top.setWordWrap(True)
        self.top.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # Ten songs with their reasons are taller than what is left of the window: they scroll
        # in the space there is rather than being cut.
        self.top_scroll = QScrollArea()
        self.top_scroll.setWidgetResizable(True)
        self.top_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.top_scroll.setWidget(self.top)
        top_box = QGroupBox("Top recommendations")
        QVBoxLayout(top_box).addWidget(self.top_scroll)
        left.addWidget(top_box, 1)

        map_box = QGroupBox("Your library (point at a song to see it, click to play it)")
        map_layout = QVBoxLayout(map_box)
        choice = QHBoxLayout()
        choice.addWidget(QLabel("Colour by"))
        self.colour_by = QComboBox()
        self.colour_by.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # filled later
        self.colour_by.currentIndexChanged.connect(lambda index: self.map.colour_by(index))
        choice.addWidget(self.colour_by)
        choice.addStretch(1)
        map_layout.addLayout(choice)
        self.map = LibraryMap()
        self.map.song_clicked.connect(self.song_clicked)
        map_layout.addWidget(self.map)
        right = QVBoxLayout()
        right.addWidget(map_box, 1)
        right.addWidget(self._text_search_box())
        layout.addLayout(right, 3)

    def _text_search_box(self) -> QGroupBox:
        """Text search's measures on held-out songs, the lexical baseline's beside them."""
        box = QGroupBox("Text search: finding held-out songs by their tags")
        box_layout = QVBoxLayout(box)
        self.text_search = QTableWidget(0, 1 + len(TEXT_SEARCH_COLUMNS))
        self.text_search.setHorizontalHeaderLabels(["Measure", *(t for t, _ in TEXT_SEARCH_COLUMNS)])
        self.text_search.verticalHeader().hide()
        self.text_search.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.text_search.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.text_search.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.text_search.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        box_layout.addWidget(self.text_search)
        self.text_search_note = QLabel()
        self.text_search_note.setWordWrap(True)
        box_layout.addWidget(self.text_search_note)
        return box

    def reload(self) -> None:
        """Shows the latest figures and recomputes the map in the background."""
        from musicrec_desktop.recommend.study_run import load_study

        figures = PipelineState.load(state_path(self.ctx)).figures
        self.show_figures(figures)
        self.show_study(load_study(self.ctx.dirs), figures.get("rating", {}).get("study", {}))
        if self._task is not None:
            return
        ctx = AppContext(self.ctx.dirs, self.ctx.settings)

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> MapData:
            return load_map(ctx)

        self.map.set_message("Loading the map…")
        self._task = Task(job, "library map", self)
        self._task.done.connect(self._map_loaded)
        self._task.start()

    def _map_loaded(self, data: MapData | None, error: BaseException | None) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.wait()
            task.deleteLater()
        if error is not None:
            self.map.set_message(f"The map is not available: {error}")
            return
        assert data is not None
        self.map.set_data(data)
        self.colour_by.blockSignals(True)  # the map already shows data.default
        self.colour_by.clear()
        self.colour_by.addItems([c.title for c in data.colourings])
        self.colour_by.setCurrentIndex(data.default)
        self.colour_by.blockSignals(False)

    def wait_for_map(self, timeout_ms: int = 30_000) -> None:
        if self._task is not None:
            self._task.wait(timeout_ms)

    def show_figures(self, figures: dict[str, dict[str, Any]]) -> None:
        encoder, rating = figures.get("encoder", {}), figures.get("rating", {})
        # the trained encoder's genre head, else k-NN on the vectors in use (``encoders.measure``)
        genre = encoder.get("genre_map")
        if not isinstance(genre, int | float) or math.isnan(genre):
            genre = figures.get("embed", {}).get("genre_map")
        self.genre_map.setText(_number(genre))
        self.knn.setText(_number(encoder.get("knn_accuracy")))
        self.rating.setText(_number(rating.get("spearman")))
        # the library's count when no rating model was trained (the study chose another recommender)
        self.rated.setText(str(rating.get("n_rated", figures.get("library", {}).get("rated_songs", "–"))))
        rows = []
        # the fallback, or another recommender chosen by the study, has no predicted ratings to measure
        if rating and not rating.get("fallback") and "spearman" in rating:
            rows.append(("rating model", rating))
            # The variants measured (with and without plays and skips) say what the signals add.
            rows += [(f"rating model, {name}", values) for name, values in rating.get("variants", {}).items()]
        rows += list(rating.get("baselines", {}).items())
        self.evaluation.setRowCount(len(rows))
        for row, (name, values) in enumerate(rows):
            self.evaluation.setItem(row, 0, QTableWidgetItem(name))
            for column, key in enumerate(("pearson", "spearman", "rmse"), start=1):
                item = QTableWidgetItem(_number(values.get(key)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.evaluation.setItem(row, column, item)
        _fit(self.evaluation)
        self.rating_note.setText(rating.get("message", "") or
                                 ("" if rating else "Not trained yet: choose Rebuild model."))
        self._show_encoders(figures.get("embed", {}))
        self._show_text_search(figures.get("textsearch", {}))
        self._show_cache(figures.get("cache", {}), figures.get("embed", {}))
        top = figures.get("recommend", {}).get("top", [])
        lines = [f"{i}. {row['song']}" + (f" ({row['reason']})" if row.get("reason") else "")
                 for i, row in enumerate(top, start=1)]
        self.top.setText("\n".join(lines) or "None yet.")

    def _show_encoders(self, embed: dict[str, Any]) -> None:
        """The embed stage's table of backends (``encoders.measure``): the one in use first marked."""
        rows = [r for r in embed.get("backends", []) if r.get("model_id")]
        self.encoders.setRowCount(len(rows))
        for row, figures in enumerate(rows):
            in_use = " (in use)" if figures["name"] == embed.get("serving") else ""
            self.encoders.setItem(row, 0, QTableWidgetItem(figures["name"] + in_use))
            for column, (_, key) in enumerate(ENCODER_COLUMNS[1:], start=1):
                item = QTableWidgetItem(_number(figures.get(key), 2 if key == "songs_per_s" else 3))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.encoders.setItem(row, column, item)
        _fit(self.encoders)

    def _show_text_search(self, textsearch: dict[str, Any]) -> None:
        """The text search stage's evaluation (``textsearch.evaluate``), or why there is none."""
        measures = [(name, values) for name, values in textsearch.get("evaluation", {}).items()
                    if isinstance(values, dict)]
        self.text_search.setRowCount(len(measures))
        for row, (name, values) in enumerate(measures):
            self.text_search.setItem(row, 0, QTableWidgetItem(name))
            for column, (_, key) in enumerate(TEXT_SEARCH_COLUMNS, start=1):
                item = QTableWidgetItem(_number(values.get(key)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.text_search.setItem(row, column, item)
        _fit(self.text_search)
        if "skipped" in textsearch:
            note = f"Not learnt: {textsearch['skipped']}"
        elif measures:
            note = (f"{textsearch['evaluation'].get('songs', '–')} songs held out of the learning, each "
                    f"searched for by its own tags; text encoder {textsearch.get('text_encoder', '–')}.")
        else:
            note = textsearch.get("message") or "Not learnt yet: choose Update library."
        self.text_search_note.setText(note)

    def _show_cache(self, cache: dict[str, Any], embed: dict[str, Any]) -> None:
        while self.cache_grid.count():
            item = self.cache_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        skipped = cache.get("skipped", {})
        rows = [("Audio cache", "not needed: the encoder in use listens to the song files"),
                ("Songs it could not read", str(sum(embed.get("unheard", {}).values())))]
        if cache.get("needed", True):
            rows = [("Songs cached", str(cache.get("songs", "–"))),
                    ("Cache size", _size(cache.get("total_bytes"))),
                    ("Added in the last run", str(cache.get("cached", "–"))),
                    ("Removed in the last run", str(cache.get("removed", "–"))),
                    ("Songs skipped", str(sum(skipped.values())) if isinstance(skipped, dict) else "–")]
        for row, (title, value) in enumerate(rows):
            self.cache_grid.addWidget(QLabel(title), row, 0)
            self.cache_grid.addWidget(QLabel(value), row, 1)

    def show_study(self, study: dict[str, Any] | None, stage: dict[str, Any]) -> None:
        """The latest study's rows on the vectors in use (``musicrec study`` prints every backend's),
        the recommender it chose marked; or why there is none (``stage``: the rating stage's)."""
        rows = [r for r in (study or {}).get("rows", []) if r.get("model_id") == study.get("in_use")]
        self.study.setRowCount(len(rows))
        for row, figures in enumerate(rows):
            chosen = " (chosen)" if figures["recommender"] == study.get("chosen") else ""
            self.study.setItem(row, 0, QTableWidgetItem(figures["title"] + chosen))
            cells = [figures["test"].get(key, {}) for _, key in STUDY_COLUMNS]
            for column, values in enumerate([*cells, figures["validation"].get("ndcg@10", {})], start=1):
                item = QTableWidgetItem(_with_interval(values))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.study.setItem(row, column, item)
        _fit(self.study)
        if rows:
            note = (f"{study['n_test']} test and {study['n_validation']} validation listening sessions "
                    f"after the cut-off, each asked from its first songs for the new songs it went on to "
                    f"play. The best on the validation half drives the radio and Play recommended when "
                    f"the recommender setting is auto.")
        elif stage.get("skipped"):
            note = f"No study: {stage['skipped']}."
        else:
            note = "No study yet: it needs a listening history (musicrec history import FILE)."
        self.study_note.setText(note)


def _with_interval(values: dict[str, Any]) -> str:
    """"0.476 ±0.012": a mean and half its 95 % interval (the mean alone when it has none)."""
    mean, low, high = values.get("mean"), values.get("low"), values.get("high")
    if not isinstance(mean, int | float) or mean != mean:
        return "–"
    if not isinstance(low, int | float) or low != low:
        return f"{mean:.3f}"
    return f"{mean:.3f} ±{(high - low) / 2:.3f}"


def _fit(table: QTableWidget) -> None:
    """Each column as wide as its header and values, the table as wide and tall as all of them:
    nothing cut, nothing to scroll (the window grows to hold it). An empty table is hidden."""
    table.setVisible(table.rowCount() > 0)
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    frame = 2 * table.frameWidth()
    table.setMinimumWidth(table.horizontalHeader().length() + frame)
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + table.verticalHeader().length()
                         + frame)
