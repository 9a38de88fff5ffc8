"""normalise_name: what two spellings of the same artist or title share."""

from __future__ import annotations

import pytest

from musicrec_desktop.history.names import normalise_name


@pytest.mark.parametrize(("given", "expected"), [
    ("Björk", "bjork"),
    ("Hyper-Ballad", "hyper ballad"),
    ("  Hyper   Ballad! ", "hyper ballad"),
    ("Straße", "strasse"),  # casefold, not lower
    ("Sigur Rós", "sigur ros"),
    ("Get Lucky (feat. Pharrell Williams)", "get lucky"),
    ("Get Lucky [ft Pharrell]  (Radio Edit)", "get lucky radio edit"),
    ("Daft Punk feat. Pharrell Williams", "daft punk"),
    ("Daft Punk Featuring Pharrell", "daft punk"),
    ("AC/DC", "ac dc"),
    ("Let's Go Fishin’", "lets go fishin"),
    ("Left Featherweight", "left featherweight"),  # "feat" inside a word stays
    ("", ""),
])
def test_normalise_name(given, expected):
    assert normalise_name(given) == expected
