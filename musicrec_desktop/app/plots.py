"""Two small plots drawn with QPainter (PySide6-Essentials has no QtCharts).

``LossCurve``: the training loss as it comes in. ``LibraryMap``: songs as points in 2-D, coloured
by genre, rating or group (``map_data``), favourites ringed; hovering names the song, a click plays it.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from musicrec_desktop.app.map_data import NO_CATEGORY, NO_GENRE, NOT_PREDICTED, NOT_RATED, Colouring, MapData
from musicrec_desktop.app.signals import emit

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac"]
RATING_COLOURS = ["#1a9850", "#91cf60", "#e6c229", "#fc8d59", "#d73027", "#c8c8c8"]  # 5 stars .. 1, unrated
UNKNOWN_COLOURS = {NO_CATEGORY: "#9c9c9c", NO_GENRE: "#cfcfcf", NOT_RATED: "#c8c8c8",
                   NOT_PREDICTED: "#c8c8c8"}
FAVOURITE = "favourite (4+ stars)"
MARGIN = 36


class LossCurve(QWidget):
    """Series of (step, value) drawn as lines; the first series is the total loss."""

    def __init__(self, parent: QWidget | None = None, max_points: int = 2000) -> None:
        super().__init__(parent)
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.max_points = max_points
        self.setMinimumSize(320, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def add(self, name: str, step: float, value: float) -> None:
        if not math.isfinite(value):
            return
        points = self.series.setdefault(name, [])
        points.append((float(step), float(value)))
        if len(points) > self.max_points:
            del points[::2]  # keep the whole curve's shape at half the resolution
        self.update()

    def clear(self) -> None:
        self.series.clear()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(480, 200)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        plot = QRectF(self.rect()).adjusted(MARGIN + 8, 10, -10, -24)
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawRect(plot)
        points = [p for series in self.series.values() for p in series]
        if not points:
            painter.setPen(self.palette().text().color())
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "The loss appears when training starts")
            return
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
        y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

        def at(x: float, y: float) -> QPointF:
            return QPointF(plot.left() + (x - x0) / (x1 - x0) * plot.width(),
                           plot.bottom() - (y - y0) / (y1 - y0) * plot.height())

        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(0, plot.top() - 6, MARGIN + 4, 14), Qt.AlignmentFlag.AlignRight,
                         f"{y1:.3g}")
        painter.drawText(QRectF(0, plot.bottom() - 8, MARGIN + 4, 14), Qt.AlignmentFlag.AlignRight,
                         f"{y0:.3g}")
        painter.drawText(QRectF(plot.left(), plot.bottom() + 4, plot.width(), 16),
                         Qt.AlignmentFlag.AlignRight, f"step {x1:.0f}")
        legend_x = plot.left() + 6
        for index, (name, series) in enumerate(self.series.items()):
            color = QColor(PALETTE[index % len(PALETTE)])
            path = QPainterPath(at(*series[0]))
            for x, y in series[1:]:
                path.lineTo(at(x, y))
            painter.setPen(QPen(color, 2 if index == 0 else 1.2))
            painter.drawPath(path)
            painter.drawText(QPointF(legend_x, plot.top() + 14), name)
            legend_x += painter.fontMetrics().horizontalAdvance(name) + 14


class LibraryMap(QWidget):
    """Songs as points, coloured one of the ways ``MapData`` offers; ``set_data``, ``colour_by``.
    Hovering a point names the song; a click asks to play it (``song_clicked``)."""

    song_clicked = Signal(str)  # the song's key

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = MapData.empty()
        self.current = 0  # index of the colouring shown
        self.message = "Loading the map…"
        self._screen = np.zeros((0, 2), dtype=np.float32)
        self.setMinimumSize(360, 300)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def keys(self) -> list[str]:
        return self.data.keys

    @property
    def favourite(self) -> np.ndarray:
        return self.data.favourite

    @property
    def colouring(self) -> Colouring | None:
        return self.data.colourings[self.current] if self.data.colourings else None

    def set_data(self, data: MapData) -> None:
        self.data, self.current = data, data.default
        self.message = "" if len(data.xy) else "No embeddings yet: rebuild the model first."
        self.update()

    def colour_by(self, index: int) -> None:
        if 0 <= index < len(self.data.colourings):
            self.current = index
            self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(520, 420)

    def legend_colours(self) -> list[QColor]:
        """One colour per legend entry of the colouring shown: a ramp for a scale (ratings),
        distinct colours otherwise, grey for what is not known."""
        colouring = self.colouring
        if colouring is None:
            return []
        if colouring.ordered:
            return [QColor(c) for c in RATING_COLOURS[:len(colouring.legend)]]
        slots = colouring.slots or list(range(len(colouring.legend)))
        return [QColor(UNKNOWN_COLOURS.get(name, PALETTE[slot % len(PALETTE)]))
                for name, slot in zip(colouring.legend, slots, strict=True)]

    def tooltip(self, index: int) -> str:
        """What hovering song ``index`` shows: the song, then its group in the colouring shown."""
        colouring = self.colouring
        group = colouring.legend[colouring.groups[index]] if colouring is not None else ""
        return f"{self.data.labels[index]}\n{group}".strip()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        colouring = self.colouring
        if self.message or not len(self.data.xy) or colouring is None:
            painter.setPen(self.palette().text().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        metrics = painter.fontMetrics()
        legend = colouring.legend + [FAVOURITE]
        legend_width = min(max(metrics.horizontalAdvance(name) for name in legend) + 40,
                           int(self.width() * 0.45))
        plot = QRectF(self.rect()).adjusted(12, 12, -12 - legend_width, -12)
        xy = self.data.xy
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        unit = (xy - lo) / span  # N x 2 in 0..1
        self._screen = np.stack([plot.left() + unit[:, 0] * plot.width(),
                                 plot.bottom() - unit[:, 1] * plot.height()], axis=1)
        colours = self.legend_colours()
        unknown = {i for i, name in enumerate(colouring.legend) if name in UNKNOWN_COLOURS}
        painter.setPen(Qt.PenStyle.NoPen)
        # Songs of unknown group first, so that the known ones are drawn over them.
        order = sorted(range(len(xy)), key=lambda i: colouring.groups[i] not in unknown)
        for i in order:
            painter.setBrush(colours[colouring.groups[i]])
            painter.drawEllipse(QPointF(*self._screen[i]), 3.5, 3.5)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(self.palette().text().color(), 1.6))
        for x, y in self._screen[self.favourite]:
            painter.drawEllipse(QPointF(x, y), 6.5, 6.5)
        # Legend: one swatch per group, then the favourites' ring.
        top, text_width = plot.top(), legend_width - 32
        for name, colour in zip(colouring.legend, colours, strict=True):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(plot.right() + 22, top + 7), 5, 5)
            painter.setPen(self.palette().text().color())
            painter.drawText(QPointF(plot.right() + 32, top + 11),
                             metrics.elidedText(name, Qt.TextElideMode.ElideRight, text_width))
            top += 18
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(plot.right() + 22, top + 7), 6.5, 6.5)
        painter.drawText(QPointF(plot.right() + 32, top + 11), FAVOURITE)

    def point_at(self, x: float, y: float, radius: float = 8.0) -> int | None:
        """Index of the song drawn nearest to (x, y) within ``radius`` pixels."""
        if not len(self._screen):
            return None
        distance = np.hypot(self._screen[:, 0] - x, self._screen[:, 1] - y)
        index = int(distance.argmin())
        return index if distance[index] <= radius else None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.point_at(event.position().x(), event.position().y())
        if index is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip(index), self)
        else:
            QToolTip.hideText()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        index = self.point_at(event.position().x(), event.position().y())
        if index is not None:
            emit(self.song_clicked, self.keys[index])
