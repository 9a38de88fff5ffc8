"""Settings: typed, validated with messages that name key, value and what is allowed, TOML on disk."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from musicrec_desktop.errors import SettingsError
from musicrec_desktop.settings import (
    DEFAULT_GENRE_MAPPING,
    GENRE_CATEGORIES,
    Settings,
    UnknownSettingError,
    choices_of,
    options,
)


def test_every_setting_is_declared_with_title_group_and_a_valid_default():
    settings = Settings()
    for f in options():
        assert f.metadata["title"] and f.metadata["group"], f.name
        if f.metadata["choices"]:
            assert getattr(settings, f.name) in choices_of(f.name)
    assert settings.genre_categories == list(GENRE_CATEGORIES)
    assert set(settings.genre_mapping) == set(DEFAULT_GENRE_MAPPING)


@pytest.mark.parametrize("key, value, allowed", [
    ("batch_size", 1, "a whole number from 2 to 4096"),
    ("batch_size", 3.5, "a whole number from 2 to 4096"),
    ("batch_size", True, "a whole number from 2 to 4096"),
    ("player", "winamp", "one of auto, strawberry, clementine, folders, demo"),
    ("cache_budget_gb", -1.0, "a number of at least 0"),
    ("moco_momentum", 1.5, "a number from 0 to 1"),
    ("notifications", "yes", "true or false"),
    ("music_folders", "~/Music", "a list of texts"),
    ("genre_mapping", {"rock": "rock"}, "a table of text -> list of texts"),
    ("device", "gpu", "auto, cpu, cuda or cuda:N"),
    ("output_dir", 5, "a text, not empty"),
    ("output_dir", "", "a text, not empty"),  # would write playlists wherever musicrec is started
    ("output_dir", "  ", "a text, not empty"),
    ("database_path", 5, "a text"),
])
def test_bad_values_name_key_value_and_what_is_allowed(key, value, allowed):
    with pytest.raises(SettingsError) as caught:
        Settings().replace(**{key: value})
    assert (caught.value.key, caught.value.value, caught.value.allowed) == (key, value, allowed)
    assert str(caught.value) == f"setting {key!r}: {value!r} is not allowed ({allowed})"


def test_values_are_converted_to_their_type():
    settings = Settings().replace(batch_size=64.0, learning_rate=1, music_folders=("a", "b"))
    assert settings.batch_size == 64 and type(settings.batch_size) is int
    assert settings.learning_rate == 1.0 and type(settings.learning_rate) is float
    assert settings.music_folders == ["a", "b"]
    assert Settings().replace(device="cuda:1").device == "cuda:1"


def test_genre_mapping_must_use_known_categories():
    with pytest.raises(SettingsError, match="categories must be among rock, pop"):
        Settings().replace(genre_mapping={"shoegaze": ["dreamy"]})
    own = Settings().replace(genre_categories=["rock", "dreamy"],
                             genre_mapping={"shoegaze": ["dreamy"], "rock": ["rock"]})
    assert own.genre_mapping == {"shoegaze": ["dreamy"], "rock": ["rock"]}


@pytest.mark.parametrize("key, text, value", [
    ("batch_size", "64", 64), ("learning_rate", "1e-3", 1e-3), ("notifications", "off", False),
    ("autostart", "YES", True), ("music_folders", "~/Music, /mnt/music ,", ["~/Music", "/mnt/music"]),
    ("music_folders", '["a,b", "c"]', ["a,b", "c"]), ("exclude_artists", "", []),
    ("genre_mapping", '{"shoegaze": ["rock"]}', {"shoegaze": ["rock"]}),
    ("player", "clementine", "clementine"),
])
def test_text_from_the_command_line(key, text, value):
    assert getattr(Settings().with_text(key, text), key) == value


@pytest.mark.parametrize("key, text", [("batch_size", "many"), ("notifications", "maybe"),
                                       ("genre_mapping", "{not json"), ("music_folders", "[1, 2]"),
                                       ("epochs", "0")])
def test_bad_text_is_refused_with_the_text(key, text):
    with pytest.raises(SettingsError) as caught:
        Settings().with_text(key, text)
    assert caught.value.key == key and text in str(caught.value)


def test_unknown_key_names_the_key_the_value_and_the_known_ones():
    with pytest.raises(UnknownSettingError) as caught:
        Settings().with_text("colour", "blue")
    assert (caught.value.key, caught.value.value) == ("colour", "blue")
    assert str(caught.value).startswith("unknown setting 'colour' (value 'blue'); known settings: "
                                        "player, database_path, music_folders,")
    assert str(caught.value).endswith(", autostart")


def test_unknown_key_suggests_close_ones():
    with pytest.raises(SettingsError) as caught:
        Settings().with_text("batchsize", "64")
    assert str(caught.value).startswith("unknown setting 'batchsize' (value '64'); "
                                        "did you mean batch_size? known settings: player,")


def test_toml_round_trip(tmp_path):
    path = tmp_path / "config" / "settings.toml"
    changed = Settings().replace(batch_size=32, music_folders=["~/Music", "/mnt/Müsik"], notifications=False,
                                 genre_mapping={**DEFAULT_GENRE_MAPPING, "Chanson Française": ["pop"]},
                                 learning_rate=0.5)
    changed.save(path)
    assert Settings.load(path) == changed
    on_disk = tomllib.loads(path.read_text(encoding="utf-8"))
    assert on_disk["batch_size"] == 32 and on_disk["genre_mapping"]["Chanson Française"] == ["pop"]
    assert set(on_disk) == {f.name for f in dataclasses.fields(Settings)}
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.toml"]  # no temp file left


def test_missing_file_gives_defaults(tmp_path):
    assert Settings.load(tmp_path / "nothing.toml") == Settings()


def test_unknown_keys_are_reported_and_ignored(tmp_path, caplog):
    path = tmp_path / "settings.toml"
    path.write_text('batch_size = 16\ncolour = "blue"\n', encoding="utf-8")
    settings = Settings.load(path)
    assert settings.batch_size == 16
    assert f"{path}: unknown setting 'colour' (value 'blue'); known settings: player," in caplog.text
    assert caplog.text.rstrip().endswith("autostart; ignored")


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("batch_size = = 3\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="valid TOML") as caught:
        Settings.load(path)
    assert caught.value.value == str(path)


def test_bad_values_in_the_file_get_their_default_and_a_warning(tmp_path, caplog):
    path = tmp_path / "settings.toml"
    path.write_text('player = "itunes"\nbatch_size = 1\nepochs = 7\n', encoding="utf-8")
    settings, problems = Settings.load_checked(path)
    assert (settings.player, settings.batch_size, settings.epochs) == ("auto", 128, 7)
    assert problems == [
        f"{path}: setting 'player': 'itunes' is not allowed (one of auto, strawberry, clementine, "
        "folders, demo); using the default 'auto'",
        f"{path}: setting 'batch_size': 1 is not allowed (a whole number from 2 to 4096); "
        "using the default 128",
    ]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == problems


def test_a_mapping_to_undeclared_categories_in_the_file_falls_back_to_the_defaults(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text('genre_categories = ["rock", "dreamy"]\n[genre_mapping]\nshoegaze = ["moody"]\n',
                    encoding="utf-8")
    settings, problems = Settings.load_checked(path)
    assert settings.genre_categories == list(GENRE_CATEGORIES)
    assert settings.genre_mapping == DEFAULT_GENRE_MAPPING
    assert len(problems) == 1 and "categories must be among rock, dreamy" in problems[0]
    assert problems[0].endswith("using the default genre categories and mapping")


@pytest.mark.parametrize("key", ["learning_rate", "moco_weight", "moco_temperature",
                                 "cache_budget_gb"])
@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf"])
def test_values_that_are_not_finite_numbers_are_refused(key, text):
    # NaN compares false with every bound, so a plain range check lets it through.
    with pytest.raises(SettingsError) as caught:
        Settings().with_text(key, text)
    assert caught.value.key == key and text.lower() in str(caught.value).lower()
    with pytest.raises(SettingsError):
        Settings().replace(**{key: float(text)})


def test_not_a_number_in_the_file_gets_the_default(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("learning_rate = nan\ncache_budget_gb = inf\nmoco_weight = 0.5\n",
                    encoding="utf-8")
    settings, problems = Settings.load_checked(path)
    assert (settings.learning_rate, settings.cache_budget_gb, settings.moco_weight) == (0.03, 0.0, 0.5)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "setting 'learning_rate': nan is not allowed (a number from 1e-07 to 10); "
        "using the default 0.03",
        "setting 'cache_budget_gb': inf is not allowed (a number of at least 0); "
        "using the default 0.0",
    ]


def test_every_genre_category_has_a_title_in_the_persons_words():
    from musicrec_desktop.settings import GENRE_CATEGORY_TITLES, genre_title

    assert set(GENRE_CATEGORY_TITLES) == set(GENRE_CATEGORIES)
    assert genre_title("jazz_classical") == "Jazz and classical"
    assert genre_title("latin_world") == "Latin and world" and genre_title("hiphop") == "Hip-hop and RnB"
    assert not any("_" in genre_title(c) for c in GENRE_CATEGORIES)
    assert genre_title("dream_pop") == "Dream pop"  # a category of the person's own
