"""Which encoder backend the ``encoder`` setting chooses, and whose vectors the later stages read."""

from __future__ import annotations

import importlib

from musicrec_desktop.encoders.base import EncoderBackend
from musicrec_desktop.encoders.registry import BACKENDS, encoder_choices, resolve
from musicrec_desktop.errors import NotReadyError, SettingsError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore


def backend_class(name: str) -> type[EncoderBackend]:
    """The class of backend ``name`` (``auto`` resolved); SettingsError for an unknown name."""
    entry = BACKENDS.get(resolve(name))
    if entry is None:
        raise SettingsError("encoder", name, "one of " + ", ".join(encoder_choices()))
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        return getattr(importlib.import_module(module), attribute)
    return entry


def open_backend(settings: Settings, dirs: DataDirs) -> EncoderBackend:
    """The chosen backend, constructed (no weights read yet)."""
    return backend_class(settings.encoder)(settings, dirs)


def chosen_name(settings: Settings) -> str:
    return backend_class(settings.encoder).name


def stored_model_id(settings: Settings, store: EmbeddingStore) -> str:
    """The model id of the chosen backend's latest complete set of vectors in ``store``.

    Raises NotReadyError (naming the command) when that backend has embedded nothing yet.
    """
    name = chosen_name(settings)
    model_id = store.current_model(name)
    if model_id is None:
        raise NotReadyError(f"{store.path}: no song embeddings of the {name} encoder yet; "
                            "run `musicrec embed` first")
    return model_id
