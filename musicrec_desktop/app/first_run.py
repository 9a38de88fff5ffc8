"""The first start on a machine with no player database and no music folder: offer the demo library.

The headless ``musicrec run`` uses the demo library by itself; the tray asks first, because
generating it takes minutes and a person with music elsewhere wants Settings instead.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from musicrec_desktop.app.signals import emit

USE_DEMO, OPEN_SETTINGS, LATER = "Use the demo library", "Settings…", "Later"


class DemoOffer(QMessageBox):
    """A non-modal question; ``chosen`` carries the button's text once one is clicked."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("musicrec: no music found")
        self.setIcon(QMessageBox.Icon.Question)
        self.setText("No player database and no music folder were found.")
        self.setInformativeText(
            "musicrec can show how it works on a demo library: about 200 generated songs in seven "
            "styles, with the ratings of a made-up listener (a few minutes to make, about 460 MB). "
            "Or choose your player's database or your music folders in Settings.")
        self.buttons_by_text = {
            USE_DEMO: self.addButton(USE_DEMO, QMessageBox.ButtonRole.AcceptRole),
            OPEN_SETTINGS: self.addButton(OPEN_SETTINGS, QMessageBox.ButtonRole.ActionRole),
            LATER: self.addButton(LATER, QMessageBox.ButtonRole.RejectRole),
        }
        self.setDefaultButton(self.buttons_by_text[USE_DEMO])
        self.setModal(False)
        self.buttonClicked.connect(self._clicked)

    def choose(self, text: str) -> None:
        """What clicking the button ``text`` does (used by tests)."""
        self.buttons_by_text[text].click()

    def _clicked(self, button: object) -> None:
        text = next((t for t, b in self.buttons_by_text.items() if b is button), LATER)
        emit(self.chosen, text)
