"""Backend ``mert`` through transformers, on a tiny randomly initialised HuBERT-like model saved to
a folder: the real loading and embedding code runs, nothing is downloaded."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_desktop.encoders.embed import embed_songs
from musicrec_desktop.encoders.measure import best_backend
from musicrec_desktop.encoders.mert import MertBackend
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from tests.encoders.test_measure import row
from tests.model.styles_source import style_library

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            conv_dim=(16, 16), conv_kernel=(10, 3), conv_stride=(5, 2), num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A random 2-layer HuBERT (MERT-v0's architecture) expecting 24 kHz, as MERT-v1 does."""
    folder = tmp_path_factory.mktemp("tiny-mert")
    torch.manual_seed(0)
    transformers.HubertModel(transformers.HubertConfig(**TINY)).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=24_000, do_normalize=True).save_pretrained(folder)
    return folder


def test_mert_embeds_with_a_local_model(tiny_model, tmp_path):
    settings = Settings(encoder="mert", mert_model=str(tiny_model), num_workers=0, device="cpu")
    source, _ = style_library(2, 2, 3.0, ("rock", "electronic"))
    dirs = DataDirs.under(tmp_path)
    report = embed_songs(settings, dirs, open_source=lambda: source)
    assert (report.backend, report.dim, report.embedded) == ("mert", 32, 4)
    assert report.model_id.startswith("mert-tiny-mert")

    backend = MertBackend(settings, dirs)
    backend.load("cpu")
    assert backend._rate == 24_000  # read from the model's preprocessor_config.json
    wave = source.songs[next(iter(source.songs))][0].mean(axis=0)
    # by hand: resample to 24 kHz, normalise, every hidden state averaged over time and layers
    import soxr

    audio = soxr.resample(wave, 16_000, 24_000).astype(np.float32)
    audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    model = transformers.HubertModel.from_pretrained(tiny_model).eval()
    with torch.no_grad():
        states = model(torch.from_numpy(audio)[None], output_hidden_states=True).hidden_states
    expected = torch.stack(states).mean(dim=(0, 1, 2)).numpy()
    np.testing.assert_allclose(backend.embed([wave]).vectors[0], expected, rtol=1e-4, atol=1e-5)


def test_mert_is_off_until_asked_and_never_downloads_unasked(tmp_path):
    dirs = DataDirs.under(tmp_path)
    assert "off" in MertBackend(Settings(), dirs).unavailable()
    absent = Settings(mert_model="m-a-p/no-such-model-here")
    assert "mert_download true" in MertBackend(absent, dirs).unavailable()
    with pytest.raises(NotReadyError, match="no-such-model-here"):
        MertBackend(absent, dirs).load("cpu")  # local files only: no network is tried


def test_auto_never_chooses_mert():
    rows = [row("musicnn", same_album=0.2), row("mert", same_album=0.9)]
    assert best_backend(rows) == "musicnn"
