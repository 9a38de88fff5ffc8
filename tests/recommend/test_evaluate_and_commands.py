import json

from musicrec_desktop.cli import main
from musicrec_desktop.recommend.evaluate import evaluate
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.store.embeddings import EmbeddingStore

from .conftest import DAY, NOW, build_library, replace_songs


def test_time_split_evaluation_leaks_nothing_and_ranks_by_taste(tmp_path):
    lib = build_library(tmp_path)
    # later listening: unrated songs of the loved styles 0-2, played in the last days
    later = [s for s in lib.scan.songs if s.rating is None and int(s.artist.split()[-1]) < 3]
    replace_songs(lib, {s.key: {"lastplayed": int(NOW - 5 * DAY), "playcount": 3, "rating": 1.0}
                        for s in later})
    with EmbeddingStore(lib.ctx.dirs.embeddings_db) as store:
        table = SongTable.from_store(lib.scan.songs, store)
    result = evaluate(table, test_fraction=0.15)
    assert result["source"] == "library lastplayed" and result["n_test_events"] == len(later)
    # the later ratings never reach training: the 40 older ratings only
    assert result["n_training_rated"] == 40
    knn = result["methods"]["k-NN (mean of liked songs)"]["hit_rate@10"]
    model = result["methods"]["rating model"]["ndcg@10"]
    assert knn["low"] <= knn["mean"] <= knn["high"] and knn["mean"] > 0.6
    assert model["mean"] > 0.2
    names = {"popularity (artist plays)", "k-NN (mean of liked songs)", "rating model"}
    assert set(result["methods"]) == names


def test_commands_say_which_command_to_run_first(tmp_path, capsys):
    from musicrec_desktop.settings import Settings

    data = tmp_path / "data"
    (tmp_path / "music").mkdir()
    settings = Settings(player="folders", music_folders=[str(tmp_path / "music")])
    settings.save(data / "config" / "settings.toml")
    assert main(["--data-dir", str(data), "recommend", "--n", "5"]) == 3
    assert "musicrec embed" in capsys.readouterr().err


def test_generated_playlists_are_written_to_the_output_folder(tmp_path):
    from musicrec_desktop.recommend.service import Recommender, write_playlists

    lib = build_library(tmp_path)
    rec = Recommender.open(lib.ctx, lib.scan)
    files = write_playlists(lib.ctx.settings, rec.generated_playlists(5))
    assert "Discover.xspf" in {f.name for f in files} and all(f.parent == tmp_path / "out" for f in files)
    assert json.dumps([r.reason for r in rec.recommended(3, seed=1)], ensure_ascii=False).count("★") >= 3
