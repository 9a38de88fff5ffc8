"""The tray's "Play songs like…" box: words in, the songs the text search finds listed with their
scores and why; Play puts them into the running player as ``musicrec search --play`` does.

The search loads the text encoder (seconds, the first time) and reads every song vector, so it
runs on a worker thread (``app.tasks.Task``); the box only shows what comes back.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from musicrec_desktop.app.messages import describe
from musicrec_desktop.app.signals import emit
from musicrec_desktop.app.tasks import Task
from musicrec_desktop.context import AppContext
from musicrec_desktop.progress import CancelToken, ProgressCallback

TITLE = "Play songs like…"
COLUMNS = ("Song", "Artist", "Score", "Why")
SONG_WIDTH, ARTIST_WIDTH = 230, 140  # pixels at first; the person may widen them, the why takes the rest


class SearchBox(QWidget):
    """One search at a time; words asked for while one runs are searched when it ends."""

    play_requested = Signal(str, list)  # the words, the songs found (textsearch Found, best first)
    searched = Signal(str)  # the words whose results (or error) are now shown

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(f"musicrec: {TITLE.rstrip('…')}")
        self.resize(860, 480)
        self.task: Task | None = None
        self._searching = ""  # the words the running search is for
        self._waiting: str | None = None  # words typed while a search ran
        self.query = ""  # the words the results are for
        self.found: list[Any] = []

        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.words = QLineEdit()
        self.words.setPlaceholderText("calm piano for a rainy evening")
        self.words.setClearButtonEnabled(True)
        self.words.returnPressed.connect(self.search)
        row.addWidget(self.words, 1)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        row.addWidget(self.search_button)
        layout.addLayout(row)

        self.results = QTableWidget(0, len(COLUMNS))
        self.results.setHorizontalHeaderLabels(list(COLUMNS))
        self.results.verticalHeader().hide()
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setWordWrap(False)  # one line per song; what is cut is whole in its tooltip
        # A why ends with what tells songs apart ("… (near its tags: jazz)"): cut in the middle.
        self.results.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.results.horizontalHeader()
        for column, width in ((0, SONG_WIDTH), (1, ARTIST_WIDTH)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.results, 1)

        bottom = QHBoxLayout()
        self.message = QLabel("Type what you would like to hear and press Enter.")
        self.message.setWordWrap(True)
        bottom.addWidget(self.message, 1)
        self.play_button = QPushButton("Play")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.play)
        bottom.addWidget(self.play_button)
        layout.addLayout(bottom)

    def search(self) -> None:
        """Searches for the words in the box (after the search running now, if any)."""
        words = " ".join(self.words.text().split())
        if not words:
            self.message.setText("Type some words first.")
            return
        if self.task is not None:
            self._waiting = words
            return
        ctx = AppContext(self.ctx.dirs, self.ctx.settings)

        def job(_progress: ProgressCallback, cancel: CancelToken) -> list[Any]:
            from musicrec_desktop.textsearch.service import search

            cancel.check()  # the box closed before the search started
            return search(ctx.dirs, words)

        self.message.setText(f"Searching for “{words}”…")
        self.search_button.setEnabled(False)
        self._searching = words
        self.task = Task(job, "text search", self)
        self.task.done.connect(self._found)
        self.task.start()

    def _found(self, found: list[Any] | None, error: BaseException | None) -> None:
        task, self.task = self.task, None
        words = self._searching
        if task is not None:
            task.wait()
            task.deleteLater()
        self.search_button.setEnabled(True)
        asked, self._waiting = self._waiting, None
        if asked is not None and asked != words:
            self.search()  # newer words: their results replace these
            return
        if task is None or (task.cancel_token.cancelled and asked is None):
            return  # the box was closed meanwhile and nothing asked since: nothing to show
        self.query, self.found = words, list(found or [])
        self._show(error)
        emit(self.searched, words)

    def _show(self, error: BaseException | None) -> None:
        self.results.setRowCount(len(self.found))
        for row, song in enumerate(self.found):
            title = song.title or (song.path.rsplit("/", 1)[-1] if song.path else song.key)
            score = QTableWidgetItem(f"{song.score:.3f}")
            score.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for column, item in enumerate((QTableWidgetItem(title), QTableWidgetItem(song.artist),
                                           score, QTableWidgetItem(song.why))):
                item.setToolTip(item.text())
                self.results.setItem(row, column, item)
        playable = [s for s in self.found if s.path is not None]
        self.play_button.setEnabled(bool(playable))
        if error is not None:
            self.message.setText(describe(error, self.ctx.dirs.logs))
        elif not self.found:
            self.message.setText(f"No songs found for “{self.query}”.")
        else:
            self.message.setText(f"{len(self.found)} songs for “{self.query}”; Play puts them into "
                                 "your player as a playlist.")

    def play(self) -> None:
        """Asks for the songs shown to be played (the tray does it off the GUI thread)."""
        if self.found:
            emit(self.play_requested, self.query, list(self.found))

    def shutdown(self, timeout_ms: int = 60_000) -> None:
        """Stops waiting for a search and waits for its thread (on quit)."""
        self._waiting = None
        if self.task is not None:
            self.task.stop(timeout_ms)

    def closeEvent(self, event: Any) -> None:
        self._waiting = None
        if self.task is not None:
            self.task.cancel_token.cancel()  # its results are not shown once it ends
        super().closeEvent(event)
