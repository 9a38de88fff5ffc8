"""Song locations: the players' encoded URLs <-> local file paths."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote_from_bytes, unquote_to_bytes

# What Qt's QUrl::toEncoded() leaves as it is in a path (checked against rows written by
# Strawberry 1.0.14 and Clementine 1.4): RFC 3986 sub-delimiters plus ':' and '@'.
_QURL_SAFE = "/!$&'()*+,;=:@~"


def file_url(path: Path) -> str:
    """The URL a player would store for ``path`` (absolute, percent-encoded UTF-8)."""
    return "file://" + quote_from_bytes(os.fsencode(Path(path).absolute()), safe=_QURL_SAFE)


def url_scheme(url: str) -> str:
    """The lower-case scheme of ``url``; ``""`` for a plain path."""
    head, sep, _ = url.partition(":")
    if not sep or not head or "/" in head or not head[0].isalpha():
        return ""
    return head.lower()


def local_path(url: str) -> Path | None:
    """The local file a ``file:`` URL (or plain absolute path) names; None for anything else.

    Everything after the host is the path: the players encode ``?`` and ``#`` in file names, and
    a stray raw one is more likely part of a name than a query. Percent-escapes are decoded to
    bytes and then to a path the way the file system does, so names that are not UTF-8 survive.
    """
    scheme = url_scheme(url)
    if scheme == "" and url.startswith("/"):
        return Path(url)
    if scheme != "file":
        return None
    rest = url[len("file:"):]
    if rest.startswith("//"):
        host, slash, rest = rest[2:].partition("/")
        if host not in ("", "localhost") or not slash:
            return None  # a file on another machine (file://server/share) is not local
        rest = "/" + rest
    if not rest.startswith("/"):
        return None
    return Path(os.fsdecode(unquote_to_bytes(rest)))
