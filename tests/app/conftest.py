from __future__ import annotations

import pytest

from tests.app.tiny import make_ctx, make_library


@pytest.fixture
def music(tmp_path):
    folder = tmp_path / "music"
    make_library(folder)
    return folder


@pytest.fixture
def ctx(tmp_path, music, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return make_ctx(tmp_path, music)
