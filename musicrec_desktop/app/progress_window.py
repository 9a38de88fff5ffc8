"""The progress window: a bar per stage, the live training loss, throughput and the log's tail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from musicrec_desktop.app.messages import describe
from musicrec_desktop.app.plots import LossCurve
from musicrec_desktop.app.worker import PipelineWorker
from musicrec_desktop.pipeline import FINISHED, STAGE_TITLES, PipelineReport
from musicrec_desktop.progress import Progress

UNITS = {"library": "songs", "cache": "songs", "encoder": "songs", "embed": "songs",
         "rating": "epochs", "recommend": "lists"}
LOSS_SERIES = ("loss", "moco", "genre")
DEFAULT_STAGES = ["library", "cache", "encoder", "embed", "rating", "recommend"]


def duration(seconds: float) -> str:
    minutes, s = divmod(int(round(seconds)), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min" if hours else f"{m}:{s:02d}"


class StageRow:
    def __init__(self, grid: QGridLayout, row: int, title: str) -> None:
        self.title = QLabel(title)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.detail = QLabel("waiting")
        self.detail.setMinimumWidth(220)
        for column, widget in enumerate((self.title, self.bar, self.detail)):
            grid.addWidget(widget, row, column)

    def show(self, p: Progress) -> None:
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
        else:
            self.bar.setRange(0, 0)  # busy indicator: the size of the work is not known yet
        parts = []
        if p.total and p.message not in FINISHED:
            parts.append(f"{p.done}/{p.total}")
        if p.eta_s:
            parts.append(f"{duration(p.eta_s)} left")
        if p.message:
            parts.append(p.message)
        self.detail.setText(", ".join(parts) or "working")

    def finish(self, text: str) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if text in FINISHED else self.bar.value())
        self.detail.setText(text)


class ProgressWindow(QWidget):
    """Shows ``worker``'s runs; ``log_lines`` carries the log's new lines; the buttons call
    ``pause`` (pause or resume) and ``cancel``; ``logs`` is named in error messages."""

    def __init__(self, worker: PipelineWorker, log_lines: SignalInstance, logs: Path,
                 pause: Callable[[], None], cancel: Callable[[], None]) -> None:
        super().__init__()
        self.logs = logs
        self.setWindowTitle("musicrec: progress")
        self.resize(720, 640)
        layout = QVBoxLayout(self)
        self.status = QLabel("Nothing is running.")
        font = QFont(self.status.font())
        font.setBold(True)
        self.status.setFont(font)
        layout.addWidget(self.status)

        stages_box = QGroupBox("Stages")
        self.grid = QGridLayout(stages_box)
        self.grid.setColumnStretch(1, 1)
        layout.addWidget(stages_box)
        self.rows: dict[str, StageRow] = {}

        loss_box = QGroupBox("Training loss")
        loss_layout = QVBoxLayout(loss_box)
        self.loss = LossCurve()
        loss_layout.addWidget(self.loss)
        self.throughput = QLabel("Throughput: –")
        loss_layout.addWidget(self.throughput)
        layout.addWidget(loss_box, 2)

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)

        log_box = QGroupBox("Log")
        log_layout = QVBoxLayout(log_box)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(300)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        log_layout.addWidget(self.log)
        layout.addWidget(log_box, 1)
        log_lines.connect(self.log.appendPlainText)

        buttons = QDialogButtonBox()
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel work")
        buttons.addButton(self.pause_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.hide)
        self.pause_button.clicked.connect(pause)
        self.cancel_button.clicked.connect(cancel)
        worker.paused_changed.connect(self._paused)
        layout.addWidget(buttons)
        self._loss_step = 0
        self.begin(DEFAULT_STAGES, running=worker.busy)

    def begin(self, stages: list[str], running: bool = True) -> None:
        """A run starts: one fresh row per stage."""
        for row in self.rows.values():
            for widget in (row.title, row.bar, row.detail):
                self.grid.removeWidget(widget)
                widget.hide()  # deleted later; until then it would still be drawn under the new row
                widget.deleteLater()
        self.rows = {name: StageRow(self.grid, i, STAGE_TITLES.get(name, name))
                     for i, name in enumerate(stages)}
        self.error.hide()
        if running:
            self.loss.clear()
            self._loss_step = 0
            self.status.setText("Working…")
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)

    def on_progress(self, p: Progress) -> None:
        row = self.rows.get(p.stage)
        if row is None:
            return
        if p.message in FINISHED and p.done >= p.total:
            row.finish(p.message)
            return
        row.show(p)
        self.status.setText(f"{row.title.text()}…")
        if p.rate:
            self.throughput.setText(f"Throughput: {p.rate:.1f} {UNITS.get(p.stage, 'items')}/s "
                                    f"({row.title.text().lower()})")
        # The curve is the encoder's: total loss and its MoCo and genre parts.
        losses = {k: v for k, v in p.metrics.items() if k in LOSS_SERIES or "loss" in k}
        if p.stage == "encoder" and losses:
            step = p.metrics.get("step", self._loss_step + 1)
            self._loss_step = int(step)
            for name, value in losses.items():
                self.loss.add(name, step, value)

    def end(self, report: PipelineReport | None, error: BaseException | None) -> None:
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        if report is not None:
            for stage in report.stages:
                row = self.rows.get(stage.name)
                if row is not None:
                    row.finish("done" if stage.status == "ran" else stage.status)
        if error is not None:
            self.status.setText("Failed")
            self.error.setText(describe(error, self.logs))
            self.error.show()
        elif report is not None:
            self.status.setText(report.summary())

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.status.setText("Paused")
