"""Finds MusiCNN's trained weights inside the installed ``musicnn`` wheel, which is never imported.

musicnn 0.1.0 requires TensorFlow and numpy<1.17, which cannot live beside this app's numpy, so it
is installed with ``pip install --no-deps musicnn==0.1.0`` and only its checkpoint files are used.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from musicrec_desktop.errors import NotReadyError

DISTRIBUTION = "musicnn"
VERSION = "0.1.0"  # the port is checked against this release's MSD_musicnn weights
MODEL = "MSD_musicnn"
INSTALL_HINT = f"pip install --no-deps {DISTRIBUTION}=={VERSION}"


def checkpoint_prefix() -> str:
    """The MSD_musicnn checkpoint prefix ``.../MSD_musicnn/``: its files have empty names, so they
    are PREFIX + ``.index`` and PREFIX + ``.data-00000-of-00001``.

    Raises NotReadyError, saying how to install it, when the wheel is missing or another version.
    """
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        folder = _package_folder()  # a copy on the path without metadata still serves
        if folder is None:
            raise NotReadyError(f"MusiCNN's weights are not installed (run: {INSTALL_HINT})") from None
    else:
        if dist.version != VERSION:
            raise NotReadyError(f"musicnn {dist.version} is installed; the port reads {VERSION} "
                                f"(run: {INSTALL_HINT})")
        folder = Path(str(dist.locate_file(DISTRIBUTION)))
    prefix = f"{folder / MODEL}/"
    if not Path(f"{prefix}.index").is_file():
        raise NotReadyError(f"{folder / MODEL}: no .index checkpoint file (reinstall: {INSTALL_HINT})")
    return prefix


def _package_folder() -> Path | None:
    spec = importlib.util.find_spec(DISTRIBUTION)  # finds without running the package
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
