"""The genre mapping table: each raw genre found in the library, its song count, its categories.

Ticking a category for a genre writes ``mapping[normalise(genre)]``, which the genre mapper looks
up before anything else, so the edit decides that genre's training labels. Genres made of several
tagged parts ("Rock/Pop") are mapped through their parts and are shown read-only.
"""

from __future__ import annotations

import copy
import re

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from musicrec_desktop.library.genres import GenreMapper, normalise
from musicrec_desktop.settings import DEFAULT_GENRE_MAPPING, genre_title

_SEVERAL_PARTS = re.compile(r"[/;,|\\]")
FIXED_COLUMNS = 2  # genre, songs


class GenreMappingEditor(QWidget):
    def __init__(self, library_genres: dict[str, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.genres: list[tuple[str, int]] = []
        self.categories: list[str] = []
        self.mapping: dict[str, list[str]] = {}
        self._filling = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.table = QTableWidget()
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(280)
        self.table.itemChanged.connect(self._changed)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        self.unmapped = QLabel()
        row.addWidget(self.unmapped, 1)
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.clicked.connect(self.reset)
        row.addWidget(self.reset_button)
        layout.addLayout(row)
        self.set_genres(library_genres)

    def set_genres(self, library_genres: dict[str, int]) -> None:
        """The raw genres found in the library and their song counts; shown at the next fill."""
        # Most common first; they matter most for the labels.
        self.genres = sorted(library_genres.items(), key=lambda item: (-item[1], item[0].lower()))
        self.note.setText("Genres found in your library and the categories the encoder learns for "
                          "them." if self.genres else
                          "Genres appear here once the library has been read (Update library).")

    def set_categories(self, categories: list[str]) -> None:
        self.categories = list(categories)

    def set_mapping(self, mapping: dict[str, list[str]]) -> None:
        self.mapping = copy.deepcopy(mapping)
        self._fill()

    def mapping_value(self) -> dict[str, list[str]]:
        return copy.deepcopy(self.mapping)

    def reset(self) -> None:
        self.set_mapping(DEFAULT_GENRE_MAPPING)

    def categories_of(self, genre: str) -> list[str]:
        known = list(self.categories)
        usable = {k: [c for c in v if c in known] for k, v in self.mapping.items()}
        return GenreMapper(usable, known).categories(genre)

    def _fill(self) -> None:
        self._filling = True
        self.table.clear()
        self.table.setColumnCount(FIXED_COLUMNS + len(self.categories))
        self.table.setRowCount(len(self.genres))
        self.table.setHorizontalHeaderLabels(["Genre", "Songs"] + [genre_title(c) for c in self.categories])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, self.table.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        unmapped = 0
        for row, (genre, count) in enumerate(self.genres):
            name = QTableWidgetItem(genre)
            name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            songs = QTableWidgetItem(str(count))
            songs.setFlags(Qt.ItemFlag.ItemIsEnabled)
            songs.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, songs)
            chosen = set(self.categories_of(genre))
            unmapped += 0 if chosen else count
            editable = not _SEVERAL_PARTS.search(genre)
            if not editable:
                name.setToolTip("Several genres in one tag: mapped through each part.")
            for offset, category in enumerate(self.categories):
                item = QTableWidgetItem()
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                item.setFlags(flags if editable else Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if category in chosen else Qt.CheckState.Unchecked)
                self.table.setItem(row, FIXED_COLUMNS + offset, item)
        self.unmapped.setText(f"{unmapped} songs have a genre with no category (left out of the "
                              "genre labels)." if unmapped else "Every genre has a category.")
        self._filling = False

    def set_checked(self, genre: str, category: str, checked: bool) -> None:
        """What ticking a box does (used by the table and by tests)."""
        row = next(i for i, (g, _) in enumerate(self.genres) if g == genre)
        column = FIXED_COLUMNS + self.categories.index(category)
        self.table.item(row, column).setCheckState(
            Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def _changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() < FIXED_COLUMNS:
            return
        genre = self.genres[item.row()][0]
        chosen = [c for offset, c in enumerate(self.categories)
                  if self.table.item(item.row(), FIXED_COLUMNS + offset).checkState()
                  == Qt.CheckState.Checked]
        # An explicit entry for this genre as a whole; an empty list leaves it unlabelled.
        self.mapping[normalise(genre)] = chosen
        # Other genres may read this key as a word ("Rock" in "Indie Rock"): refill, but after
        # Qt is done with the item that changed.
        QTimer.singleShot(0, self._fill)
