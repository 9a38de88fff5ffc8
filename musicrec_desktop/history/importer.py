"""``import_history(file, songs, history_db)``: the listens of a history file, matched to the
library's songs, into the listening history. Matched listens are stored as plays heard to the end
("finish") at the time the file gives; unmatched ones are counted and listed, not stored, so that
importing the file again once the library holds them adds them then."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from musicrec_desktop.history.exports import Listen, read_history_file
from musicrec_desktop.history.matching import SongMatcher
from musicrec_desktop.library.song import Song
from musicrec_desktop.store.history import HistoryStore, ListeningEvent


@dataclass
class ImportReport:
    file: str
    form: str  # exports.LISTENBRAINZ | CSV_PATHS | CSV_NAMES
    listens: int
    matched: int
    added: int  # matched listens new to the history (the rest were there already)
    matched_by: dict[str, int] = field(default_factory=dict)  # how -> listens
    unmatched: list[dict] = field(default_factory=list)  # {"where", "at", "listen"}
    notes: list[str] = field(default_factory=list)

    @property
    def already_there(self) -> int:
        return self.matched - self.added

    def to_dict(self) -> dict:
        return {"file": self.file, "form": self.form, "listens": self.listens,
                "matched": self.matched, "added": self.added, "already_there": self.already_there,
                "matched_by": self.matched_by, "unmatched_count": len(self.unmatched),
                "unmatched": self.unmatched, "notes": self.notes}


def import_history(path: Path, songs: list[Song], history_db: Path) -> ImportReport:
    """Reads ``path`` whole first (``HistoryFileError`` on anything unreadable, nothing stored),
    then stores its matched listens."""
    form, listens = read_history_file(path)
    matcher = SongMatcher(songs)
    events, how_counts, unmatched = [], Counter(), []
    for listen in listens:
        found = matcher.match(listen)
        if found is None:
            unmatched.append(_unmatched(listen))
            continue
        song, how = found
        how_counts[how] += 1
        events.append(ListeningEvent(song.url, song.key, "finish", listen.at))
    notes = []
    if any(listen.mbid for listen in listens) and not matcher.knows_mbids:
        notes.append("the library has no MusicBrainz ids; listens were matched by artist and "
                     "title instead")
    with HistoryStore(history_db) as history:
        added = history.record_imported(events)
    return ImportReport(str(path), form, len(listens), len(events), added, dict(how_counts),
                        unmatched, notes)


def _unmatched(listen: Listen) -> dict:
    return {"where": listen.where, "at": listen.at, "listen": listen.describe()}
