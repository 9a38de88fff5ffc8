"""The figures a stage reports, made JSON-safe for ``pipeline.json`` and the windows, and the
digest that fingerprints a stage's inputs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any


def digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def figures_of(report: Any) -> dict[str, Any]:
    """The JSON-safe parts of a stage function's report (numbers, texts, small lists and tables)."""
    if report is None:
        return {}
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        items = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    elif isinstance(report, dict):
        items = dict(report)
    else:
        return {}
    return {k: v for k, v in ((k, json_safe(v)) for k, v in items.items()) if v is not None}


def json_safe(value: Any, depth: int = 0) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value else None  # NaN is not JSON
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return json_safe(value.item(), depth)
    if isinstance(value, Path):
        return str(value)
    if depth > 3:
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple) and len(value) <= 200:
        return [json_safe(v, depth + 1) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return figures_of(value)
    return None  # large arrays, open files and the like stay out of the report
