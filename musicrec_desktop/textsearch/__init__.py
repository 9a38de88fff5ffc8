"""Text-to-music search: songs found by words, through a projection of the song embeddings into
a frozen sentence encoder's space, learnt on the person's own library (issue 16).

The entry points are in ``textsearch.service``. Free of Qt.
"""
