"""MusiCNN's tags: the names match the wheel's, and their genre words reach the person's genre
categories (the model report's map colours untagged songs by them)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.app.map_data import PREDICTED_GENRE, load_map
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.library.genres import GenreMapper
from musicrec_desktop.musicnn import package
from musicrec_desktop.musicnn.tags import MSD_TAGS, tag_genres
from musicrec_desktop.settings import Settings, genre_title
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.app import tiny


def test_tag_names_are_the_wheels_own() -> None:
    try:
        prefix = package.checkpoint_prefix()
    except NotReadyError as exc:
        pytest.skip(str(exc))
    source = (Path(prefix).parent / "configuration.py").read_text()  # read, never imported
    labels = next(ast.literal_eval(node.value) for node in ast.parse(source).body
                  if isinstance(node, ast.Assign) and node.targets[0].id == "MSD_LABELS")
    assert tuple(labels) == MSD_TAGS


def test_tag_genres_takes_the_strongest_tag_of_each_category() -> None:
    mapper = GenreMapper.from_settings(Settings())
    tags = np.zeros((2, len(MSD_TAGS)), np.float32)
    tags[0, MSD_TAGS.index("jazz")], tags[0, MSD_TAGS.index("instrumental")] = 0.3, 0.8
    tags[1, MSD_TAGS.index("indie pop")], tags[1, MSD_TAGS.index("Hip-Hop")] = 0.6, 0.2
    tags[:, MSD_TAGS.index("sexy")] = 0.9  # no genre in it
    scores = tag_genres(tags, mapper.categories, mapper.category_names)
    column = {c: i for i, c in enumerate(mapper.category_names)}
    assert scores.shape == (2, 7)
    assert scores[0, column["jazz_classical"]] == pytest.approx(0.8)
    assert scores[1, column["rock"]] == scores[1, column["pop"]] == pytest.approx(0.6)
    assert scores[1, column["hiphop"]] == pytest.approx(0.2)
    assert scores[0, column["latin_world"]] == 0.0  # no MSD tag maps there


def test_the_map_predicts_genres_from_musicnn_tags(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    ctx, _ = tiny.finished_run(tmp_path, encoder="musicnn")
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        model = store.chosen_model("musicnn")
        keys = sorted(store.keys(model))
        tags = np.zeros((len(keys), len(MSD_TAGS)), np.float32)
        tags[:, MSD_TAGS.index("country")] = 0.7  # every song sounds like country to the tagger
        tags[0, MSD_TAGS.index("electronic")] = 0.9
        store.put_extras(model, "tags", zip(keys, tags, strict=True))
    shown = load_map(ctx)
    predicted = next(c for c in shown.colourings if c.title == PREDICTED_GENRE)
    names = {key: predicted.legend[g] for key, g in zip(shown.keys, predicted.groups, strict=True)}
    assert names[keys[0]] == genre_title("electronic")
    assert {names[k] for k in keys[1:]} == {genre_title("country")}
