"""Two small plots drawn with QPainter (PySide6-Essentials has no QtCharts).

``LossCurve``: the training loss as it comes in. ``LibraryMap``: songs as points in 2-D, coloured
by genre, favourites ringed; a click names the song under the pointer.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from musicrec_desktop.app.signals import emit

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac"]
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
    """Songs as points. ``set_points(xy, genres, favourite, keys, labels)``; click -> ``song_clicked``."""

    song_clicked = Signal(str)  # the song's key

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.xy = np.zeros((0, 2), dtype=np.float32)
        self.genres: list[str] = []
        self.favourite = np.zeros(0, dtype=bool)
        self.keys: list[str] = []
        self.labels: list[str] = []
        self.message = "Loading the map…"
        self._screen = np.zeros((0, 2), dtype=np.float32)
        self.setMinimumSize(360, 300)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_points(self, xy: np.ndarray, genres: list[str], favourite: np.ndarray,
                   keys: list[str], labels: list[str]) -> None:
        """xy: N x 2 float; genres, keys, labels: N texts; favourite: N bool."""
        self.xy = np.asarray(xy, dtype=np.float32).reshape(-1, 2)
        self.genres, self.keys, self.labels = list(genres), list(keys), list(labels)
        self.favourite = np.asarray(favourite, dtype=bool)
        self.message = "" if len(self.xy) else "No embeddings yet: rebuild the model first."
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(520, 420)

    def _legend(self) -> list[str]:
        return sorted(set(self.genres))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        if self.message or not len(self.xy):
            painter.setPen(self.palette().text().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        legend = self._legend()
        legend_width = 130
        plot = QRectF(self.rect()).adjusted(12, 12, -12 - legend_width, -12)
        lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        unit = (self.xy - lo) / span  # N x 2 in 0..1
        self._screen = np.stack([plot.left() + unit[:, 0] * plot.width(),
                                 plot.bottom() - unit[:, 1] * plot.height()], axis=1)
        colors = {g: QColor(PALETTE[i % len(PALETTE)]) for i, g in enumerate(legend)}
        painter.setPen(Qt.PenStyle.NoPen)
        for (x, y), genre in zip(self._screen, self.genres, strict=True):
            painter.setBrush(colors[genre])
            painter.drawEllipse(QPointF(x, y), 3.5, 3.5)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(self.palette().text().color(), 1.6))
        for x, y in self._screen[self.favourite]:
            painter.drawEllipse(QPointF(x, y), 6.5, 6.5)
        # Legend: one swatch per genre, then the favourites' ring.
        top = plot.top()
        for genre in legend:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colors[genre])
            painter.drawEllipse(QPointF(plot.right() + 22, top + 7), 5, 5)
            painter.setPen(self.palette().text().color())
            painter.drawText(QPointF(plot.right() + 32, top + 11), genre or "(no genre)")
            top += 18
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(plot.right() + 22, top + 7), 6.5, 6.5)
        painter.drawText(QPointF(plot.right() + 32, top + 11), "favourite")

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
            QToolTip.showText(event.globalPosition().toPoint(),
                              f"{self.labels[index]}\n{self.genres[index]}", self)
        else:
            QToolTip.hideText()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        index = self.point_at(event.position().x(), event.position().y())
        if index is not None:
            emit(self.song_clicked, self.keys[index])


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """N x D float embeddings -> N x 2 float32 coordinates on the two main axes (numpy SVD)."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or len(x) < 2:
        return np.zeros((len(x) if x.ndim == 2 else 0, 2), dtype=np.float32)
    x = x - x.mean(axis=0)
    if len(x) > x.shape[1]:
        # Many songs: the D x D covariance is smaller than the data; its top eigenvectors are the axes.
        _, vectors_ = np.linalg.eigh(x.T @ x)
        axes = vectors_[:, ::-1][:, :2]  # D x 2
    else:
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        axes = vt[:2].T  # D x (<=2)
    xy = x @ axes
    if xy.shape[1] < 2:
        xy = np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))
    return xy.astype(np.float32)
