"""Printing recommendations for people (one line each, with the reason) or as JSON."""

from __future__ import annotations

from musicrec_desktop.commands._output import print_json


def as_dict(rec) -> dict:
    song = rec.song
    return {"key": song.key, "url": song.url, "path": str(song.path) if song.path else None,
            "title": song.title, "artist": song.artist, "album": song.album, "score": rec.score,
            "predicted_rating": rec.predicted_rating, "reason": rec.reason}


def show(recs: list, as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        print_json({**(extra or {}), "songs": [as_dict(r) for r in recs]})
        return
    for i, rec in enumerate(recs, 1):
        predicted = "" if rec.predicted_rating is None else f" ~{rec.predicted_rating * 5:.1f}★"
        print(f"{i:3d}. {rec.song.display_name}{predicted}  ({rec.reason})")
