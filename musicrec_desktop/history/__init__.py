"""Listening histories people already have (ListenBrainz, Last.fm, a list of files), read and
matched to the library's songs, and what the history holds (listens, sessions, span).

The store itself is ``store/history.py``; the companion records into it as the player plays.
"""
