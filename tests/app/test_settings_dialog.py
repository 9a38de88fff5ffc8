"""The settings dialog: generated from the declarations, validated, saved through Settings.save."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from musicrec_desktop.app.settings_dialog import SettingsDialog
from musicrec_desktop.library import load_library
from musicrec_desktop.pipeline import LibraryStage, Pipeline
from musicrec_desktop.settings import DEFAULT_GENRE_MAPPING, Settings


@pytest.fixture
def dialog(qtbot, ctx):
    Pipeline([LibraryStage()]).run(ctx)  # the genres found in the library, for the mapping table
    widget = SettingsDialog(ctx)
    qtbot.addWidget(widget)
    return widget


def tab_titles(dialog):
    return [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]


def test_one_tab_per_group_and_advanced_last(dialog):
    assert tab_titles(dialog) == ["Library", "Cache", "Training", "Genres", "Recommendations",
                                  "Desktop", "Advanced"]
    assert dialog.tabs.tabText(dialog.tab_of["moco_weight"]) == "Advanced"
    assert dialog.tabs.tabText(dialog.tab_of["batch_size"]) == "Training"
    assert "batch" in dialog.batch_hint.text()
    assert dialog.settings() == dialog.ctx.settings  # what it shows is what is saved


def test_a_bad_value_is_refused_with_a_clear_message_and_nothing_is_saved(dialog, ctx):
    before = ctx.dirs.settings_file.read_bytes()
    dialog.editors["learning_rate"].widget.setText("fast")
    assert not dialog.apply()
    assert dialog.message.text() == ("Learning rate: 'fast' is not allowed. "
                                     "Allowed: a number from 1e-07 to 10.")
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Advanced"
    assert ctx.dirs.settings_file.read_bytes() == before

    dialog.editors["learning_rate"].widget.setText("0.01")
    dialog.editors["database_path"].set("/nowhere/strawberry.db")
    assert not dialog.apply()
    assert dialog.message.text().startswith("Player database: '/nowhere/strawberry.db' is not allowed")
    dialog.editors["database_path"].set("")
    dialog.editors["device"].widget.setCurrentText("gpu")
    assert not dialog.apply() and "cuda:N" in dialog.message.text()


def test_ok_saves_through_the_settings_module_and_cancel_does_not(qtbot, dialog, ctx, tmp_path):
    editors = dialog.editors
    editors["batch_size"].widget.setValue(48)
    editors["epochs"].widget.setValue(3)
    editors["playlist_format"].widget.setCurrentText("m3u8")
    editors["exclude_artists"].widget.setPlainText("Nickelback\n  \nCrazy Frog, Jr.\n")
    editors["output_dir"].set(str(tmp_path / "lists"))
    with qtbot.waitSignal(dialog.saved, timeout=1000) as saved:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    on_disk = Settings.load(ctx.dirs.settings_file)
    assert on_disk == saved.args[0] == ctx.settings
    assert (on_disk.batch_size, on_disk.epochs, on_disk.playlist_format) == (48, 3, "m3u8")
    assert on_disk.exclude_artists == ["Nickelback", "Crazy Frog, Jr."]
    assert on_disk.output_dir == str(tmp_path / "lists")

    dialog.load(ctx.settings)
    editors["epochs"].widget.setValue(7)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert Settings.load(ctx.dirs.settings_file).epochs == 3


def test_genre_categories_are_shown_in_the_persons_words_and_kept_as_ids(dialog, ctx):
    editor = dialog.editors["genre_categories"].widget
    assert editor.toPlainText().splitlines() == ["Rock", "Pop", "Electronic", "Hip-hop and RnB",
                                                 "Jazz and classical", "Country and folk", "Latin and world"]
    assert dialog.settings().genre_categories == ctx.settings.genre_categories  # ids, unchanged
    editor.setPlainText(editor.toPlainText() + "\nDream pop")
    assert dialog.apply(), dialog.message.text()
    assert ctx.settings.genre_categories == ["rock", "pop", "electronic", "hiphop", "jazz_classical",
                                             "country", "latin_world", "Dream pop"]
    dialog.load(ctx.settings)
    assert editor.toPlainText().splitlines()[-2:] == ["Latin and world", "Dream pop"]


def test_genre_mapping_edits_reach_the_training_labels(qtbot, dialog, ctx):
    from musicrec_desktop.model.sources import song_labels  # what train_encoder labels songs with

    table = dialog.editors["genre_mapping"].widget
    rows = {table.table.item(r, 0).text(): int(table.table.item(r, 1).text())
            for r in range(table.table.rowCount())}
    assert rows == {"Rock": 2, "Synthwave": 1, "Jazz": 1, "Hip-Hop": 1}
    headers = [table.table.horizontalHeaderItem(c).text() for c in range(table.table.columnCount())]
    assert headers == ["Genre", "Songs", "Rock", "Pop", "Electronic", "Hip-hop and RnB", "Jazz and classical",
                       "Country and folk", "Latin and world"]  # the person's words, not the ids
    assert table.categories_of("Synthwave") == []
    assert "1 songs have a genre with no category" in table.unmapped.text()

    table.set_checked("Synthwave", "electronic", True)
    table.set_checked("Synthwave", "pop", True)
    qtbot.waitUntil(lambda: table.categories_of("Synthwave") == ["pop", "electronic"], timeout=2000)
    table.set_checked("Jazz", "jazz_classical", False)
    qtbot.waitUntil(lambda: table.categories_of("Jazz") == [], timeout=2000)
    assert dialog.apply()

    songs = load_library(ctx.settings, ctx.dirs).songs
    labels = {s.genre: song_labels(ctx.settings, [s]).get(s.key) for s in songs}
    assert labels["Synthwave"] == ["pop", "electronic"]
    assert labels["Jazz"] is None  # unlabelled now, not "no category"
    assert labels["Rock"] == ["rock"] and labels["Hip-Hop"] == ["hiphop"]
    assert Settings.load(ctx.dirs.settings_file).genre_mapping["synthwave"] == ["pop", "electronic"]

    table.reset()
    assert dialog.apply()
    assert ctx.settings.genre_mapping == DEFAULT_GENRE_MAPPING


def test_genres_found_after_the_dialog_was_made_appear_when_it_is_shown_again(qtbot, ctx, music):
    """The tray keeps its dialog: a song of a new genre read later shows up at the next load()."""
    from musicrec_desktop.app.tray import TrayApp
    from tests.app.test_tray import RecordingPlayer
    from tests.app.tiny import write_song

    Pipeline([LibraryStage()]).run(ctx)
    tray = TrayApp(ctx, player=RecordingPlayer())
    try:
        tray.show_settings()
        table = tray.settings_dialog().editors["genre_mapping"].widget
        assert [g for g, _ in table.genres] == ["Rock", "Hip-Hop", "Jazz", "Synthwave"]
        tray.settings_dialog().close()

        write_song(music / "polka.flac", 700.0, "Polka")
        write_song(music / "polka2.flac", 750.0, "Polka")
        Pipeline([LibraryStage()]).run(ctx)
        tray.show_settings()
        assert tray.settings_dialog().editors["genre_mapping"].widget is table  # the same dialog
        assert table.genres[:2] == [("Polka", 2), ("Rock", 2)]
        assert table.table.rowCount() == 5 and table.table.item(0, 0).text() == "Polka"
    finally:
        tray.shutdown()
