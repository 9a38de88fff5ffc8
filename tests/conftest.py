"""Fixtures every test folder may use. Keep this small: folder-specific ones live beside their tests."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_AUDIO = Path(__file__).resolve().parents[1] / ".." / "shared" / "audio"


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    """The real recordings beside the project (``../shared/audio``); the test skips without them."""
    if not SHARED_AUDIO.is_dir():
        pytest.skip("../shared/audio is not here (a fresh clone has no shared recordings)")
    return SHARED_AUDIO.resolve()
