"""The model report at its default size, and the library map's colourings, on real runs: real
FLAC files read by the real library stage, embeddings in a real store, the real rating and
recommendation stages (``tests.app.tiny.finished_run``)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QToolTip

from musicrec_desktop.app import map_data
from musicrec_desktop.app.report_window import ReportWindow
from musicrec_desktop.encoders.choice import chosen_name
from musicrec_desktop.encoders.measure import figures_table, measure_backends
from musicrec_desktop.library import load_library
from musicrec_desktop.pipeline import PipelineState, state_path
from musicrec_desktop.pipeline.figures import json_safe
from musicrec_desktop.recommend.predictions import predictions_path
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.app.tiny import finished_run, make_ctx, write_song


@pytest.fixture
def rated_run(tmp_path, monkeypatch):
    """60 songs in three genres, 30 rated: the rating model and its baselines are measured. One
    artist sings them all: a cap of 10 songs per artist lets the top ten be ten. Titles as long
    as real ones make each recommendation and its reason take two lines."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    ctx, _report = finished_run(tmp_path, songs=60, name="{genre}-{i:02d} Midnight Harbour Lights",
                                artist_cap=10)
    # The encoders' table as the embed stage fills it: the backends measured on these songs.
    measure_backends(ctx.settings, ctx.dirs, load_library(ctx.settings, ctx.dirs).songs, rating=False)
    state = PipelineState.load(state_path(ctx))
    backends = [json_safe(r.as_dict()) for r in figures_table(ctx.settings, ctx.dirs)]
    state.figures["embed"] = {"backends": backends, "serving": chosen_name(ctx.settings)}
    state.save(state_path(ctx))
    return ctx


def open_report(qtbot, ctx) -> ReportWindow:
    window = ReportWindow(ctx)
    qtbot.addWidget(window)
    window.show()  # at its default size: nothing here resizes it
    window.reload()
    qtbot.waitUntil(lambda: len(window.map.keys) > 0, timeout=20_000)
    QApplication.processEvents()
    return window


def test_every_table_shows_every_header_and_value_whole_at_the_default_size(qtbot, rated_run):
    window = open_report(qtbot, rated_run)
    assert window.size().width() == 1100 and window.size().height() == 860  # the default size
    names = [window.evaluation.item(r, 0).text() for r in range(window.evaluation.rowCount())]
    assert names == ["rating model", "rating model, embeddings + implicit signals",
                     "rating model, embeddings only", "mean rating", "k-NN"]  # real figures
    assert window.evaluation.item(0, 1).text() not in ("", "–")
    assert window.encoders.rowCount() == 1 and window.encoders.item(0, 0).text().endswith("(in use)")
    assert window.encoders.item(0, 4).text() not in ("", "–")  # same-folder precision, measured
    padding = 6  # Qt draws a few pixels of margin around a cell's text
    for table in (window.evaluation, window.encoders):
        metrics, header = table.fontMetrics(), table.horizontalHeader()
        for column in range(table.columnCount()):
            texts = [table.item(r, column).text() for r in range(table.rowCount())]
            needed = max(metrics.horizontalAdvance(t) for t in texts)
            title = table.horizontalHeaderItem(column).text()
            needed = max(needed, header.fontMetrics().horizontalAdvance(title))
            assert table.columnWidth(column) >= needed + padding, (title, table.columnWidth(column), needed)
        # Every column and every row in view: no scrolling, nothing cut at the right or the bottom.
        assert table.isVisible() and header.length() <= table.viewport().width()
        assert table.verticalHeader().length() <= table.viewport().height()
        assert not table.horizontalScrollBar().isVisible() and not table.verticalScrollBar().isVisible()
    # The ten top recommendations with their reasons: whole lines, scrolled when taller than the room.
    top = window.top
    assert top.text().count("\n") == 9 and "because you rated" in top.text()
    assert top.height() >= top.heightForWidth(top.width())


def test_rated_songs_are_counted_when_the_study_chose_another_recommender(qtbot, tmp_path):
    window = ReportWindow(make_ctx(tmp_path))
    qtbot.addWidget(window)
    # what the stages leave when the study chose session KNN: no rating model, so no n_rated
    window.show_figures({"library": {"songs": 60, "rated_songs": 30},
                         "rating": {"recommender": "session_knn", "message": "112 songs of the history"}})
    assert window.rated.text() == "30"
    assert window.rating.text() == "–"  # no rating model was measured
    window.show_figures({"library": {"songs": 60, "rated_songs": 30}, "rating": {"n_rated": 24}})
    assert window.rated.text() == "24"  # the rating model's own count (those it learnt from)


def test_the_map_offers_each_colouring_in_the_persons_words(qtbot, rated_run):
    window = open_report(qtbot, rated_run)
    choices = [window.colour_by.itemText(i) for i in range(window.colour_by.count())]
    assert choices == ["Genre tag", "Predicted genre", "Your rating", "Predicted rating",
                       "Groups of similar songs"]
    assert window.colour_by.currentText() == "Genre tag"  # every song is tagged
    assert window.map.colouring.legend == ["Rock", "Jazz and classical", "Latin and world"]

    tag_colours = dict(zip(window.map.colouring.legend, window.map.legend_colours(), strict=True))
    window.colour_by.setCurrentIndex(1)
    predicted = window.map.colouring
    assert predicted.title == "Predicted genre"
    # A genre keeps its colour from one colouring to the other.
    assert dict(zip(predicted.legend, window.map.legend_colours(), strict=True)) == tag_colours
    # One centre per genre: the songs' nearest tagged neighbours give each its own genre back.
    tags = window.map.data.colourings[0]
    assert [tags.legend[g] for g in tags.groups] == [predicted.legend[g] for g in predicted.groups]

    window.colour_by.setCurrentIndex(2)
    rating = window.map.colouring
    stars = {rating.legend[g] for g, label in zip(rating.groups, window.map.data.labels, strict=True)
             if " – jazz" in label}
    assert stars == {"★★★★★", "Not rated"}  # Jazz songs are rated 1.0 or not at all
    assert {rating.legend[g] for g in rating.groups} == {"★★★★★", "★★", "Not rated"}

    # What the rating model predicts, saved by the recommend stage: the loved genre rated highest.
    window.colour_by.setCurrentIndex(3)
    predicted = window.map.colouring
    by_genre = {}
    for group, label in zip(predicted.groups, window.map.data.labels, strict=True):
        by_genre.setdefault(label.split(" – ")[1].split("-")[0], []).append(5 - int(group))  # stars
    assert min(by_genre["jazz"]) >= 4 and max(by_genre["rock"] + by_genre["reggae"]) <= 3, by_genre
    assert "No prediction" not in predicted.legend[:5]

    window.colour_by.setCurrentIndex(4)
    assert window.map.colouring.title == "Groups of similar songs" and len(window.map.colouring.legend) == 4


def test_a_recommender_without_ratings_leaves_no_predicted_ratings(tmp_path, monkeypatch):
    """9 ratings: the favourites fallback, which predicts no ratings; the map offers none."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    ctx, _report = finished_run(tmp_path, songs=18)
    assert not predictions_path(ctx.dirs).exists()
    assert "Predicted rating" not in [c.title for c in map_data.load_map(ctx).colourings]


def test_hovering_a_point_names_the_song(qtbot, rated_run):
    window = open_report(qtbot, rated_run)
    window.map.grab()  # paints, which places the points
    x, y = window.map._screen[3]
    # Straight to the map: a window left over by another test could be under the pointer.
    at = QPointF(x, y)
    QApplication.sendEvent(window.map, QMouseEvent(QEvent.Type.MouseMove, at, window.map.mapToGlobal(at),
                                                   Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                   Qt.KeyboardModifier.NoModifier))
    label = window.map.data.labels[3]
    assert label.startswith("Test Band – ")  # artist – title
    qtbot.waitUntil(lambda: QToolTip.text().startswith(label), timeout=2000)
    assert QToolTip.text().splitlines()[1] in window.map.colouring.legend


def test_the_encoders_genre_predictions_colour_the_map_when_it_stores_them(qtbot, rated_run):
    with EmbeddingStore(rated_run.dirs.embeddings_db) as store:
        model = store.current_model(chosen_name(rated_run.settings))
        keys, _ = store.load(model)
        pop = np.eye(7, dtype=np.float32)[1]  # the genre head says "pop" for every song
        store.put_extras(model, "genres", [(k, pop) for k in keys])
    data = map_data.load_map(rated_run)
    predicted = next(c for c in data.colourings if c.title == "Predicted genre")
    assert predicted.legend == ["Pop"] and set(predicted.groups) == {0}


def test_an_untagged_library_still_shows_its_groups(qtbot, tmp_path, monkeypatch):
    """No genre tags at all: the map opens on groups of similar songs, found in the embeddings."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    music = tmp_path / "music"
    bands = ["Harbour", "Lanterns", "Orchard"]
    for band in bands:
        (music / band).mkdir(parents=True)
        for i in range(8):
            write_song(music / band / f"{band.lower()}-{i}.flac", 200.0 + 30 * i, "", seconds=0.5)
    ctx = make_ctx(tmp_path, music)
    songs = load_library(ctx.settings, ctx.dirs).songs
    rng = np.random.default_rng(1)
    centres = {band: rng.normal(0, 4, 32) for band in bands}
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        store.register_model("encoder-test", 32)
        store.set_current("encoder-test", chosen_name(ctx.settings))
        store.put("encoder-test", [(s.key, centres[s.path.parent.name] + rng.normal(0, 1, 32))
                                   for s in songs])

    window = open_report(qtbot, ctx)
    assert window.colour_by.currentText() == "Groups of similar songs"
    assert "Predicted genre" not in [window.colour_by.itemText(i) for i in range(window.colour_by.count())]
    groups = window.map.colouring
    # Each folder's songs form one group, named after the folder.
    by_folder = {}
    for key, group in zip(window.map.keys, groups.groups, strict=True):
        by_folder.setdefault(next(s for s in songs if s.key == key).path.parent.name, set()).add(group)
    assert all(len(found) == 1 for found in by_folder.values())
    names = {folder: groups.legend[found.pop()] for folder, found in by_folder.items()}
    assert sorted(names.values()) == sorted(groups.legend) and len(groups.legend) == 3
    assert all(name.startswith("Group ") and name.endswith(f" (mostly {folder})")
               for folder, name in names.items())
    assert window.map.data.colourings[0].legend == ["No genre tag"]
