"""``emit(signal, *args)``: emits a Qt signal from Python without PySide6 6.12's reference leak.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without a reference of its own, so every
call made from Python takes one reference away from ``True`` for good. A few thousand emits
(progress reports, log lines) later ``True`` is freed and the interpreter aborts with "Fatal
Python error: bool_dealloc" in the middle of a training run. Every ``emit`` in the app goes
through here, which gives the reference back. Where emit is correct (6.11.3 checked: 20,000
emits leave the count of ``True`` unchanged) this only leaves ``True`` one reference richer per
call, which costs nothing (it is never freed). pyproject.toml keeps installs off 6.12.0; this
guards against a later release or a distribution package with the same bug.
"""

from __future__ import annotations

import ctypes
from typing import Any


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)``; ``signal`` is a bound ``Signal`` (a ``SignalInstance``)."""
    result = signal.emit(*args)
    if isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))


def emitter(signal: Any) -> Any:
    """A callable that emits ``signal`` with its arguments: for callbacks run on other threads."""

    def call(*args: Any) -> None:
        emit(signal, *args)

    return call
