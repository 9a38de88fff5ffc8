"""What the person gets: the rating model, "Play recommended", radio, generated playlists, writers
and the evaluation of all of it. ``service.Recommender`` is the one entry the tray and companion use.
"""
