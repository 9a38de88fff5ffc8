"""Which encoder backend the ``encoder`` setting chooses, and whose vectors the later stages read."""

from __future__ import annotations

import importlib

from musicrec_desktop.encoders.base import EncoderBackend
from musicrec_desktop.errors import SettingsError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.plugpoints import AUTO, ENCODER_BACKENDS, FIRST_RUN, chosen_encoder, encoder_choices
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore


def backend_class(name: str) -> type[EncoderBackend]:
    """The class of backend ``name``; SettingsError for an unknown name (``auto`` is not a class:
    ``chosen_name`` and ``open_backend`` resolve it)."""
    entry = ENCODER_BACKENDS.get(name)
    if entry is None:
        raise SettingsError("encoder", name, "one of " + ", ".join(encoder_choices()))
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        return getattr(importlib.import_module(module), attribute)
    return entry


def open_backend(settings: Settings, dirs: DataDirs) -> EncoderBackend:
    """The chosen backend (``serving_name``), constructed (no weights read yet). With ``auto`` and
    nothing measured yet, the first-run choice (a backend that needs no training) is made here and
    kept in the store, so that every later reader agrees on it until measurements decide."""
    name = serving_name(settings, dirs)
    if settings.encoder == AUTO:
        with EmbeddingStore(dirs.embeddings_db) as store:
            if store.auto_encoder() != name:
                store.set_auto_encoder(name)
    return backend_class(name)(settings, dirs)


def serving_name(settings: Settings, dirs: DataDirs) -> str:
    """The backend ``open_backend`` opens, asked without keeping anything: the setting; with
    ``auto`` the choice kept in the store while it is available, else the first-run choice."""
    if settings.encoder != AUTO:
        return chosen_encoder(settings.encoder)  # an unknown name is a SettingsError
    if dirs.embeddings_db.exists():
        with EmbeddingStore(dirs.embeddings_db) as store:
            decided = store.auto_encoder()
        if decided in ENCODER_BACKENDS and backend_class(decided)(settings, dirs).unavailable() is None:
            return decided
    return first_run_choice(settings, dirs)


def first_run_choice(settings: Settings, dirs: DataDirs) -> str:
    """Before anything is measured: the first available backend of ``FIRST_RUN`` (no training, so
    it serves at once), else the trained encoder."""
    for name in (*FIRST_RUN, "moco"):
        if name in ENCODER_BACKENDS and backend_class(name)(settings, dirs).unavailable() is None:
            return name
    return "moco"


def chosen_name(settings: Settings, store: EmbeddingStore | None = None) -> str:
    """The backend whose vectors the later stages read: the setting, or with ``auto`` the choice
    kept in ``store`` (made by ``open_backend`` and by ``measure.measure_backends``)."""
    return chosen_encoder(settings.encoder, store.auto_encoder() if store is not None else None)
