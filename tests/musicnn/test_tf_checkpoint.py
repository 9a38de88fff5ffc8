"""The TensorFlow checkpoint reader on musicnn's real checkpoint, and on damaged copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.musicnn import package
from musicrec_desktop.musicnn.tf_checkpoint import CheckpointError, TFCheckpoint, crc32c, masked_crc32c


@pytest.fixture(scope="module")
def prefix() -> str:
    try:
        return package.checkpoint_prefix()
    except NotReadyError as exc:
        pytest.skip(str(exc))


def _copy(prefix: str, tmp_path: Path) -> str:
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(prefix + suffix, tmp_path / suffix)
    return f"{tmp_path}/"


def test_crc32c_known_values() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert crc32c(b"") == 0
    assert masked_crc32c(b"") == 0xA282EAD8


def test_reads_every_variable_of_musicnn(prefix: str) -> None:
    ckpt = TFCheckpoint(prefix)
    names = ckpt.names()
    assert len(names) == 150  # 64 weights, 2 Adam slots for each of the 42 trainable, 2 Adam powers
    assert ckpt.shards == 1
    assert ckpt.shape("conv2d/kernel") == (7, 38, 1, 204)
    assert ckpt.shape("conv2d_5/kernel") == (7, 561, 1, 64)
    kernel = ckpt.read("dense/kernel")
    assert kernel.dtype == np.float32 and kernel.shape == (1506, 200)
    assert 1e-3 < float(np.abs(kernel).mean()) < 0.1  # trained weights (0.004), not zeros or garbage
    variance = ckpt.read("batch_normalization_9/moving_variance")
    assert variance.shape == (1506,) and float(variance.min()) > 0
    assert ckpt.read("beta1_power").shape == ()


def test_unknown_variable_names_the_file(prefix: str) -> None:
    with pytest.raises(CheckpointError, match=r"\.index: no variable named 'dense_9/kernel'"):
        TFCheckpoint(prefix).read("dense_9/kernel")


def test_damaged_tensor_fails_its_checksum(prefix: str, tmp_path: Path) -> None:
    copy = _copy(prefix, tmp_path)
    entry = TFCheckpoint(copy).entries["dense/kernel"]
    data = tmp_path / ".data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[entry.offset + 100] ^= 0x01
    data.write_bytes(bytes(raw))
    ckpt = TFCheckpoint(copy)
    with pytest.raises(CheckpointError, match="dense/kernel: checksum does not match"):
        ckpt.read("dense/kernel")
    assert ckpt.read("dense_1/kernel").shape == (200, 50)  # the other tensors still read


def test_damaged_index_block_is_refused(prefix: str, tmp_path: Path) -> None:
    copy = _copy(prefix, tmp_path)
    index = tmp_path / ".index"
    raw = bytearray(index.read_bytes())
    raw[40] ^= 0x20  # inside the first data block's keys
    index.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="block at 0: checksum does not match"):
        TFCheckpoint(copy)


def test_not_a_table_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.index").write_bytes(b"\0" * 64)
    with pytest.raises(CheckpointError, match="not an SSTable"):
        TFCheckpoint(tmp_path / "x")
    with pytest.raises(CheckpointError, match="cannot read the index"):
        TFCheckpoint(tmp_path / "missing")


def test_truncated_data_file_is_reported(prefix: str, tmp_path: Path) -> None:
    copy = _copy(prefix, tmp_path)
    entry = TFCheckpoint(copy).entries["dense/kernel"]
    data = tmp_path / ".data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:entry.offset + 10])
    with pytest.raises(CheckpointError, match="dense/kernel: file ends"):
        TFCheckpoint(copy).read("dense/kernel")


def test_missing_wheel_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # The wheel is installed here and cannot be uninstalled for one test: its absence is simulated
    # by making both look-ups find nothing.
    def no_distribution(name: str) -> None:
        raise package.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(package.importlib.metadata, "distribution", no_distribution)
    monkeypatch.setattr(package.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(NotReadyError, match=r"pip install --no-deps musicnn==0\.1\.0"):
        package.checkpoint_prefix()


def test_weights_found_without_importing_musicnn(prefix: str) -> None:
    import sys

    assert prefix.endswith("/musicnn/MSD_musicnn/")
    assert Path(prefix + ".index").is_file()
    assert "musicnn" not in sys.modules  # its __init__ would pull TensorFlow in other releases
