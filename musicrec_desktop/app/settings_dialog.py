"""The settings dialog, generated from the settings' declarations (``settings.options()``).

One tab per group, advanced settings under "Advanced". Values are checked by the settings module
itself, so the dialog and ``musicrec config set`` refuse the same things with the same message.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from musicrec_desktop.app.genre_table import GenreMappingEditor
from musicrec_desktop.app.gpu import batch_size_hint, gpu_memory_gb
from musicrec_desktop.app.signals import emit
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import SettingsError
from musicrec_desktop.pipeline import PipelineState, state_path
from musicrec_desktop.settings import (
    GENRE_CATEGORIES,
    Settings,
    choices_of,
    describe_allowed,
    genre_title,
    options,
    parse_text,
)

log = logging.getLogger(__name__)

FOLDER_SETTINGS = {"cache_dir", "output_dir"}
FILE_SETTINGS = {"database_path"}
FOLDER_LIST_SETTINGS = {"music_folders"}


@dataclasses.dataclass
class Editor:
    """One setting's widget and how to read and write its value."""

    key: str
    widget: QWidget
    get: Callable[[], Any]  # may raise SettingsError with a message for the person
    set: Callable[[Any], None]


class SettingsDialog(QDialog):
    saved = Signal(object)  # Settings, after they were written

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("musicrec: settings")
        self.resize(880, 640)
        self.editors: dict[str, Editor] = {}
        self.tab_of: dict[str, int] = {}
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Apply
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        layout.addWidget(self.buttons)
        self._build()
        self.load(ctx.settings)

    # -- building --------------------------------------------------------------------------------
    def _build(self) -> None:
        groups: dict[str, list[dataclasses.Field]] = {}
        for f in options():
            groups.setdefault(f.metadata["group"], [])
        groups["Advanced"] = []
        for f in options():
            groups["Advanced" if f.metadata["advanced"] else f.metadata["group"]].append(f)
        hints = typing.get_type_hints(Settings)
        for group, fields in groups.items():
            if not fields:
                continue
            page = QWidget()
            form = QFormLayout(page)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(page)
            index = self.tabs.addTab(scroll, group)
            for f in fields:
                self._add_row(form, f, hints[f.name])
                self.tab_of[f.name] = index

    def _add_row(self, form: QFormLayout, f: dataclasses.Field, kind: Any) -> None:
        editor = self._editor(f, kind)
        self.editors[f.name] = editor
        help_text = f.metadata["help"]
        editor.widget.setToolTip(f"{help_text}\nAllowed: {describe_allowed(f.name)}".strip())
        if f.name == "genre_mapping":
            form.addRow(editor.widget)
            return
        form.addRow(f.metadata["title"], editor.widget)
        if f.name == "batch_size":
            self.batch_hint = QLabel(batch_size_hint(gpu_memory_gb()))
            self.batch_hint.setWordWrap(True)
            form.addRow("", self.batch_hint)
        elif f.name == "encoder":
            # what auto stands for here and what each backend measured (musicrec backends)
            from musicrec_desktop.encoders.measure import choice_summary, figures_table

            self.encoder_hint = QLabel(choice_summary(figures_table(self.ctx.settings, self.ctx.dirs),
                                                      self.ctx.settings.encoder))
            self.encoder_hint.setWordWrap(True)
            form.addRow("", self.encoder_hint)
        elif help_text:
            label = QLabel(help_text)
            label.setWordWrap(True)
            label.setStyleSheet("color: palette(dark);")
            form.addRow("", label)

    def _editor(self, f: dataclasses.Field, kind: Any) -> Editor:
        key, meta = f.name, f.metadata
        if key == "genre_mapping":
            table = GenreMappingEditor({})  # load() fills in the library's genres
            return Editor(key, table, table.mapping_value, table.set_mapping)
        if kind is bool:
            box = QCheckBox()
            return Editor(key, box, box.isChecked, box.setChecked)
        if meta["choices"] or key == "device":
            combo = QComboBox()
            combo.addItems(list(choices_of(key)) or ["auto", "cpu", "cuda"])
            combo.setEditable(key == "device")  # cuda:1 and the like
            return Editor(key, combo, lambda: parse_text(key, combo.currentText().strip()),
                          lambda v: combo.setCurrentText(str(v)))
        if kind is int:
            spin = QSpinBox()
            spin.setRange(int(meta["minimum"] if meta["minimum"] is not None else 0),
                          int(min(meta["maximum"] if meta["maximum"] is not None else 2**31 - 1,
                                  2**31 - 1)))
            return Editor(key, spin, spin.value, spin.setValue)
        if kind == list[str]:
            return self._list_editor(key)
        line = QLineEdit()
        if kind is float:
            return Editor(key, line, lambda: parse_text(key, line.text().strip()),
                          lambda v: line.setText(f"{v:g}"))
        if key in FOLDER_SETTINGS | FILE_SETTINGS:
            return Editor(key, _with_browse(line, key in FOLDER_SETTINGS),
                          lambda: _checked_path(key, line.text().strip()), line.setText)
        return Editor(key, line, lambda: parse_text(key, line.text().strip()), line.setText)

    def _list_editor(self, key: str) -> Editor:
        text = QPlainTextEdit()
        text.setPlaceholderText("one per line")
        text.setFixedHeight(90)
        stored_as: dict[str, str] = {}  # genre categories: the title shown -> the id kept

        def get() -> list[str]:
            items = [line.strip() for line in text.toPlainText().splitlines() if line.strip()]
            if key == "genre_categories":  # a new line is a category of its own, named as typed
                items = [stored_as.get(item, item) for item in items]
            if key in FOLDER_LIST_SETTINGS:
                for item in items:
                    if not Path(item).expanduser().is_dir():
                        raise SettingsError(key, item, "folders that exist")
            return items

        def set_(items: list[str]) -> None:
            if key == "genre_categories":  # the person's words; the ids stay in the settings file
                stored_as.clear()
                stored_as.update({genre_title(c): c for c in [*GENRE_CATEGORIES, *items]})
                items = [genre_title(c) for c in items]
            text.setPlainText("\n".join(items))

        if key not in FOLDER_LIST_SETTINGS:
            return Editor(key, text, get, set_)
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(text)
        add = QPushButton("Add folder…")

        def add_folder() -> None:
            folder = QFileDialog.getExistingDirectory(self, "Music folder")
            if folder:
                text.appendPlainText(folder)

        add.clicked.connect(add_folder)
        row.addWidget(add)
        return Editor(key, box, get, set_)

    def _library_genres(self) -> dict[str, int]:
        figures = PipelineState.load(state_path(self.ctx)).figures.get("library", {})
        return {str(k): int(v) for k, v in figures.get("genres", {}).items()}

    # -- values ----------------------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        """Shows ``settings`` in the widgets, and the genres the last library read found (the
        tray keeps the dialog, and the library changes while it is closed)."""
        for key, editor in self.editors.items():
            if key == "genre_mapping":
                editor.widget.set_genres(self._library_genres())
                editor.widget.set_categories(settings.genre_categories)
            editor.set(getattr(settings, key))
        self.message.hide()

    def show_tab(self, title: str) -> None:
        """Brings the tab ``title`` ("Library", "Training", ...) to the front."""
        titles = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        if title in titles:
            self.tabs.setCurrentIndex(titles.index(title))

    def settings(self) -> Settings:
        """The settings the widgets hold; ``SettingsError`` names the first bad one."""
        values = {key: editor.get() for key, editor in self.editors.items()}
        return Settings(**values)

    def apply(self) -> bool:
        """Checks and saves; on a bad value shows why, on its tab, and saves nothing."""
        try:
            settings = self.settings()
        except SettingsError as exc:
            title = next((f.metadata["title"] for f in options() if f.name == exc.key), exc.key)
            self.message.setText(f"{title}: {exc.value!r} is not allowed. Allowed: {exc.allowed}.")
            self.message.show()
            if exc.key in self.tab_of:
                self.tabs.setCurrentIndex(self.tab_of[exc.key])
            return False
        try:
            self.ctx.save_settings(settings)
        except OSError as exc:
            self.message.setText(f"Could not save {self.ctx.dirs.settings_file}: {exc}")
            self.message.show()
            return False
        self.message.hide()
        log.info("settings saved to %s", self.ctx.dirs.settings_file)
        emit(self.saved, settings)
        return True

    def accept(self) -> None:
        if self.apply():
            super().accept()


def _checked_path(key: str, text: str) -> str:
    if key in FILE_SETTINGS and text and not Path(text).expanduser().is_file():
        raise SettingsError(key, text, "a file that exists, or empty to find it automatically")
    return parse_text(key, text)


def _with_browse(line: QLineEdit, folder: bool) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(line)
    button = QPushButton("Browse…")

    def browse() -> None:
        chosen = (QFileDialog.getExistingDirectory(box, "Choose a folder", line.text()) if folder
                  else QFileDialog.getOpenFileName(box, "Choose a file", line.text())[0])
        if chosen:
            line.setText(chosen)

    button.clicked.connect(browse)
    row.addWidget(button)
    return box
