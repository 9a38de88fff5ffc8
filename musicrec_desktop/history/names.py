"""Artist, title and album names reduced to what two spellings of the same song share."""

from __future__ import annotations

import re
import unicodedata

# "Song (feat. X)", "Song [ft X]": the bracket and what it holds; "Artist feat. X": the rest.
_FEAT_IN_BRACKETS = re.compile(r"[(\[]\s*(?:feat|ft|featuring)\b\.?[^)\]]*[)\]]")
_FEAT_TO_END = re.compile(r"\s(?:feat|ft|featuring)\b\.?\s.*$")
_APOSTROPHES = re.compile(r"['‘’`´]")  # "Let's" and "Lets" are one word
_NOT_WORD = re.compile(r"[\W_]+")


def normalise_name(text: str) -> str:
    """``"Björk feat. X"`` -> ``"bjork"``, ``"Hyper-Ballad (feat. Y)!"`` -> ``"hyper ballad"``:
    casefolded, accents stripped, "feat." parts and punctuation dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _FEAT_TO_END.sub("", _FEAT_IN_BRACKETS.sub(" ", text))
    return " ".join(_NOT_WORD.sub(" ", _APOSTROPHES.sub("", text)).split())
