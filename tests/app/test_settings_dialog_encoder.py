"""The settings dialog shows the encoder backends as `musicrec backends` does: every choice, what
auto stands for here and what each backend measured."""

from __future__ import annotations

from musicrec_desktop.app.settings_dialog import SettingsDialog
from musicrec_desktop.store.embeddings import EmbeddingStore


def test_the_encoder_choice_shows_the_measured_figures(qtbot, ctx):
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        store.register_model("dsp-test", 23)
        store.put("dsp-test", [("a", [0.0] * 23)])
        store.set_current("dsp-test", "dsp")
        store.put_measurements("dsp-test", {"same_folder": 0.4321, "songs_per_s": 12.5})
    dialog = SettingsDialog(ctx)
    qtbot.addWidget(dialog)
    combo = dialog.editors["encoder"].widget
    names = [combo.itemText(i) for i in range(combo.count())]
    assert names == ["auto", "moco", "musicnn", "dsp", "mfcc", "mert"]
    text = dialog.encoder_hint.text()
    assert text.startswith("Auto uses dsp, the best measured on your library.")
    assert "dsp: folder P@10 0.43, songs/s 12.50" in text
    assert "moco: not available" in text and "mfcc: not embedded yet" in text
